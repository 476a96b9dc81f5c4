"""The scans have their own queue, read by every `ggzy worker` before the firing queue."""
from __future__ import annotations

from typing import Any

import pytest

from ggzy.config import Config
from workers.celery_app import SCAN_QUEUE, make_celery


def test_scans_and_firings_go_to_separate_queues() -> None:
    app = make_celery(Config(database_url="sqlite://", redis_url="redis://127.0.0.1:6379/15"))
    route = app.amqp.router.route
    assert route({}, "ggzy.scan_timers")["queue"].name == SCAN_QUEUE
    assert route({}, "ggzy.check_obligations")["queue"].name == SCAN_QUEUE
    assert route({}, "ggzy.fire_timers")["queue"].name == app.conf.task_default_queue != SCAN_QUEUE


def test_ggzy_worker_reads_both_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from ggzy import cli

    seen: list[list[str]] = []

    def worker_main(self: Any, argv: list[str]) -> None:
        seen.append(argv)

    monkeypatch.setenv("GGZY_REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setattr("celery.Celery.worker_main", worker_main)
    result = CliRunner().invoke(cli.main, ["worker", "--no-beat", "--pool", "solo"])
    assert result.exit_code == 0, result.output
    [argv] = seen
    assert f"--queues={SCAN_QUEUE},celery" in argv


class FakeRedis:
    """The few Redis calls of a scan, in memory."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}

    def set(self, key: str, value: str, nx: bool = False, **_ttl: Any) -> bool:
        if nx and key in self.keys:
            return False
        self.keys[key] = value
        return True

    def llen(self, _queue: str) -> int:
        return 0


@pytest.mark.parametrize(("wait", "scheduled"), [(0.12, True), (0.0, False), (0.3, False), (None, False)])
def test_a_scan_that_finds_nothing_due_scans_again_at_the_next_due_instant(
        monkeypatch: pytest.MonkeyPatch, wait: float | None, scheduled: bool) -> None:
    from services import timers
    from workers import celery_app

    app = make_celery(Config(database_url="sqlite://", redis_url="redis://127.0.0.1:6379/15"))
    fake = FakeRedis()
    monkeypatch.setattr(app.ggzy_state, "platform", lambda: object())  # type: ignore[attr-defined]
    monkeypatch.setattr(app.ggzy_state, "redis", lambda: fake)  # type: ignore[attr-defined]
    monkeypatch.setattr(timers, "due_instances", lambda _p, limit: [])
    monkeypatch.setattr(timers, "next_due_in", lambda _p: wait)
    task = app.tasks["ggzy.scan_timers"]
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(task, "apply_async", lambda **kwargs: calls.append(kwargs))
    assert task.run() == 0
    assert task.run() == 0  # a second scan before the instant does not schedule it again
    if scheduled:
        assert calls == [{"countdown": wait, "expires": wait + 5}]
        assert [k for k in fake.keys if k.startswith(celery_app.PRECISE_KEY.split("{")[0])]
    else:
        assert calls == []
