"""Statements built once per module and run by many threads (persistence.db.shared).

SQLAlchemy completes parts of a statement lazily, on its first compile. When a new gunicorn worker's first
requests compiled the tasks' UNION ALL in several threads at once, one of them could see the aliased
subquery's columns half built: the statement came out as SELECT ... FROM tasks, anon_1 (every task, with
the wrong status), stayed so for the life of the process, and every completion on that worker was answered
409 "任务状态为 completed". Measured before the fix: in 1 of 3 fresh processes, and in a bench run."""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from services import tasks


@pytest.fixture
def switch_often() -> Iterator[None]:
    """Hand the interpreter lock between threads as often as it can: the race shows in a few trials."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _first_compiles(build: Callable[[], Any], dialect: Any, trials: int = 30, threads: int = 8) -> list[str]:
    """For each trial, a new statement from build(), compiled by `threads` threads at once: every SQL text."""
    texts: list[str] = []
    for _ in range(trials):
        statement, start = build(), threading.Barrier(threads)

        def compile_once(statement: Any = statement, start: threading.Barrier = start) -> None:
            start.wait()
            texts.append(str(statement.compile(dialect=dialect)))

        workers = [threading.Thread(target=compile_once) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    return texts


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()], ids=["postgresql", "sqlite"])
def test_the_task_union_compiles_the_same_in_every_thread(switch_often, dialect):
    expected = str(tasks._TASK_AND_READY.compile(dialect=dialect))
    outer = expected.split("\nFROM (")[0]
    assert "tasks." not in outer and "anon_1.status" in outer  # the columns are the subquery's, not the table's
    texts = _first_compiles(tasks._task_and_ready, dialect)
    assert len(texts) == 30 * 8
    wrong = [t for t in texts if t != expected]
    assert not wrong, f"{len(wrong)} of {len(texts)} compiles differ, e.g. {wrong[0][:300]}"
