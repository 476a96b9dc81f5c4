"""`ggzy up`'s supervisor: starts every child, stops them all on SIGINT/SIGTERM or when one of them ends."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ggzy.cli import main
from ggzy.config import ROOT
from ggzy.server import up_children

SUPERVISOR = """
import sys
from ggzy.server import Child, supervise
sleeper = [sys.executable, "-c", "import time, pathlib, os, sys; "
           "pathlib.Path(sys.argv[1], str(os.getpid())).touch(); time.sleep(60)"]
children = [Child(f"c{n}", [*sleeper, sys.argv[1]]) for n in range(3)]
if len(sys.argv) > 2:  # one child that ends by itself
    children.append(Child("short", [sys.executable, "-c", "import time; time.sleep(1)"]))
sys.exit(supervise(children, stop_seconds=5))
"""


def _start(folder: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", SUPERVISOR, str(folder), *extra], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)


def _children(folder: Path, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = [int(p.name) for p in folder.iterdir()]
        if len(pids) == count:
            return pids
        time.sleep(0.05)
    pytest.fail(f"{count} children did not start")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie no longer runs: its parent (the supervisor) has gone, init reaps it soon.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_every_child(tmp_path: Path, signum: int) -> None:
    supervisor = _start(tmp_path)
    pids = _children(tmp_path, 3)
    assert all(_alive(p) for p in pids)
    supervisor.send_signal(signum)
    assert supervisor.wait(timeout=15) == 0
    time.sleep(0.2)
    assert not any(_alive(p) for p in pids)


def test_a_child_that_ends_stops_the_others(tmp_path: Path) -> None:
    supervisor = _start(tmp_path, "with-short-child")
    pids = _children(tmp_path, 3)
    assert supervisor.wait(timeout=15) == 1
    time.sleep(0.2)
    assert not any(_alive(p) for p in pids)


def test_up_runs_gunicorn_celery_workers_and_one_beat() -> None:
    children = up_children(api_workers=3, celery_workers=2, concurrency=1, loglevel="info")
    commands = [c.argv[3:] for c in children]
    assert commands[0] == ["serve", "--workers", "3"]
    workers = [c for c in commands if c[0] == "worker"]
    assert len(workers) == 2 and all("--no-beat" in c for c in workers)
    assert len({c[-1] for c in workers}) == 2  # distinct Celery node names
    assert [c[0] for c in commands].count("beat") == 1


def test_up_refuses_without_postgres_and_redis_urls() -> None:
    result = CliRunner().invoke(main, ["up"], env={"GGZY_DATABASE_URL": "", "GGZY_REDIS_URL": ""})
    assert result.exit_code == 2
    assert "GGZY_REDIS_URL" in result.output
