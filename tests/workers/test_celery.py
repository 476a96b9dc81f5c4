"""Timers through a real Celery worker with embedded beat on Redis (`ggzy worker`)."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery

from ggzy.config import ROOT, Config
from services import instances
from services.platform import Platform
from tests.workers.timer_support import STAFF, start_timer_instance, timer_fired, wait_until
from workers.celery_app import make_celery
from workers.health import CeleryHealth

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("GGZY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Test runs on other backends share this Redis database: one worker at a time, or they steal each other's tasks.
RUN_LOCK = "ggzy:test:celery-worker"


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    deadline = time.monotonic() + 180
    while not client.set(RUN_LOCK, os.getpid(), nx=True, ex=120):
        if time.monotonic() > deadline:
            pytest.fail("another test run holds the Celery test lock")
        time.sleep(0.5)
    stale = [k for k in client.scan_iter() if k != RUN_LOCK.encode()]
    if stale:
        client.delete(*stale)
    try:
        yield client
    finally:
        client.delete(RUN_LOCK)
        client.close()


@pytest.fixture
def celery_client(db_url: str, redis_db: redis.Redis) -> Iterator[Celery]:
    app = make_celery(Config(database_url=db_url, redis_url=REDIS_URL, fake_clock=True))
    yield app
    app.close()


@pytest.fixture
def worker(db_url: str, celery_client: Celery, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`ggzy worker --pool solo` in its own process group, on the same database as the test."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GGZY_DATABASE_URL": db_url, "GGZY_REDIS_URL": REDIS_URL,
           "GGZY_FAKE_CLOCK": "1"}
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ggzy.cli", "worker", "--pool", "solo", "--loglevel", "info"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        try:
            assert celery_client.send_task("ggzy.ping").get(timeout=30) == "pong"
        except Exception:  # noqa: BLE001 - any failure to answer means the worker did not come up
            pytest.fail(f"the worker did not answer a ping:\n{log.read_text(errors='replace')[-4000:]}")
        yield proc
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):  # the embedded beat is a child process; never leave it behind
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def fired_events(p: Platform, instance_id: str) -> list[dict[str, object]]:
    return [e for e in instances.events(p, STAFF, instance_id) if e["type"] == "timer.fired"]


def test_worker_fires_a_timer_once_after_a_clock_jump(
    platform: Platform, worker: subprocess.Popen[bytes], celery_client: Celery,
) -> None:
    instance_id = start_timer_instance(platform)
    time.sleep(1.0)  # a couple of scans with nothing due
    assert not timer_fired(platform, instance_id)

    platform.clock.set(platform.clock.now() + timedelta(hours=2))
    took = wait_until(lambda: timer_fired(platform, instance_id), timeout=6)
    assert took < 3.0

    time.sleep(1.5)  # three more scans: none may fire it again
    assert len(fired_events(platform, instance_id)) == 1
    assert CeleryHealth(REDIS_URL).health() == "ok"

    # A redelivered or duplicated firing task is a no-op.
    for _ in range(2):
        result = celery_client.send_task("ggzy.fire_instance_timers", [instance_id], ignore_result=False)
        assert result.get(timeout=10) == 0
    assert len(fired_events(platform, instance_id)) == 1
    assert worker.poll() is None


def test_worker_fires_a_timer_that_fell_due_before_it_started(
    db_url: str, platform: Platform, celery_client: Celery, request: pytest.FixtureRequest,
) -> None:
    instance_id = start_timer_instance(platform)
    platform.clock.set(platform.clock.now() + timedelta(hours=2))

    request.getfixturevalue("worker")

    wait_until(lambda: timer_fired(platform, instance_id), timeout=6)
    time.sleep(1.0)
    assert len(fired_events(platform, instance_id)) == 1
