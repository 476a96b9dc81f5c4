"""The embedded timer worker of `ggzy serve`: fake-clock jumps, missed timers, wake-up, resilience."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from services import timers
from services.platform import Platform
from tests.workers.timer_support import start_timer_instance, timer_fired, wait_until
from workers.embedded import EmbeddedTimerWorker


@pytest.fixture
def worker(platform: Platform) -> Iterator[EmbeddedTimerWorker]:
    w = EmbeddedTimerWorker(platform)
    yield w
    w.stop(timeout=5)
    assert not w.is_alive()


def test_fake_clock_jump_fires_the_timer_promptly(platform: Platform, worker: EmbeddedTimerWorker) -> None:
    instance_id = start_timer_instance(platform)
    worker.start()
    wait_until(lambda: worker.health() == "ok", timeout=2)
    assert not timer_fired(platform, instance_id)

    platform.clock.set(platform.clock.now() + timedelta(hours=2))
    took = wait_until(lambda: timer_fired(platform, instance_id), timeout=5)

    assert took < 2.0  # CONTRACT.md: timers due by the new clock fire within 2 s
    assert worker.health() == "ok"


def test_timer_due_while_no_worker_ran_fires_on_the_first_scan(platform: Platform, worker: EmbeddedTimerWorker) -> None:
    instance_id = start_timer_instance(platform)
    platform.clock.set(platform.clock.now() + timedelta(hours=2))
    assert timers.due_instances(platform) == [instance_id]

    worker.start()

    wait_until(lambda: timer_fired(platform, instance_id), timeout=2)


def test_wake_rescans_at_once(db_url: str, platform: Platform) -> None:
    # A poll interval far longer than the test: only wake() can make the worker rescan in time.
    slow = Platform(config=replace(platform.config, timer_poll_seconds=60), db=platform.db, clock=platform.clock)
    instance_id = start_timer_instance(slow)
    worker = EmbeddedTimerWorker(slow)
    worker.start()
    try:
        wait_until(lambda: worker.health() == "ok", timeout=2)
        slow.clock.set(slow.clock.now() + timedelta(hours=2))
        worker.wake()
        took = wait_until(lambda: timer_fired(slow, instance_id), timeout=5)
        assert took < 2.0  # CONTRACT.md: timers due by the new clock fire within 2 s
    finally:
        worker.stop(timeout=5)


def test_a_failing_scan_is_logged_and_the_thread_lives_on(
    platform: Platform, worker: EmbeddedTimerWorker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    instance_id = start_timer_instance(platform)
    platform.clock.set(platform.clock.now() + timedelta(hours=2))
    real = timers.due_instances
    failures = {"left": 2}

    def flaky(p: Platform, limit: int = 500) -> list[str]:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database went away")
        return real(p, limit)

    monkeypatch.setattr(timers, "due_instances", flaky)
    worker.start()

    wait_until(lambda: timer_fired(platform, instance_id), timeout=3)
    assert worker.is_alive()
    assert worker.health() == "ok"
    assert any("timer scan failed" in r.getMessage() for r in caplog.records)


def test_one_broken_instance_does_not_hold_up_the_others(
    platform: Platform, worker: EmbeddedTimerWorker, monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = start_timer_instance(platform, "T-broken")
    healthy = start_timer_instance(platform, "T-healthy")
    platform.clock.set(platform.clock.now() + timedelta(hours=2))
    real = timers.fire_instance

    def fire(p: Platform, instance_id: str) -> int:
        if instance_id == broken:
            raise RuntimeError("engine bug")
        return real(p, instance_id)

    monkeypatch.setattr(timers, "fire_instance", fire)
    worker.start()

    wait_until(lambda: timer_fired(platform, healthy), timeout=2)
    assert not timer_fired(platform, broken)
    assert worker.health() == "ok"


def test_health_reports_why_it_is_not_ok(platform: Platform) -> None:
    worker = EmbeddedTimerWorker(platform)
    assert worker.health() == "not started"
    worker.start()
    wait_until(lambda: worker.health() == "ok", timeout=2)
    worker._last_scan -= 12  # type: ignore[operator]  # as if the scans had stalled 12 s ago
    assert worker.health().startswith("stale: last scan 1")
    worker.stop(timeout=5)
    assert worker.health() == "stopped"
