"""Due timers of several instances fire in one transaction; a failure falls back to one step per instance."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from domain.access import SYSTEM, Actor
from persistence.models import Event, ProcessInstance, Timer
from services import definitions, instances, timers
from services.platform import Platform
from tests.api.conftest import chain, user_task

STAFF = Actor("staff1", frozenset({"staff"}))
NOW = datetime.fromisoformat("2026-06-03T09:00:00+08:00")

BPMN = chain("batch_timer", [
    ("wait", '<bpmn:intermediateCatchEvent id="wait" name="等待"><bpmn:timerEventDefinition>'
             "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"),
    ("after", '<bpmn:scriptTask id="after" name="计算" scriptFormat="python">'
              "<bpmn:script>result = 10 // divisor</bpmn:script></bpmn:scriptTask>"),
    ("review", user_task("review", "复核")),
])


def _start(platform: Platform, divisors: list[int]) -> list[str]:
    platform.clock.set(NOW)
    definitions.deploy_bytes(platform, BPMN.encode(), SYSTEM)
    return [instances.start(platform, STAFF, "batch_timer", f"B-{n}", {"divisor": d})[0]["id"]
            for n, d in enumerate(divisors)]


def _statements(platform: Platform) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(platform.db.engine, "before_cursor_execute", record)
    return seen


def _state(platform: Platform, instance_id: str) -> tuple[str, list[str], int]:
    with platform.db.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        fired = session.scalar(select(func.count()).select_from(Event).where(
            Event.instance_id == instance_id, Event.type == "timer.fired"))
        timer_states = list(session.scalars(select(Timer.status).where(Timer.instance_id == instance_id)))
        return instance.status, timer_states, int(fired or 0)


def test_due_timers_of_several_instances_fire_in_one_transaction(platform: Platform) -> None:
    ids = _start(platform, [1, 2, 5, 10])
    platform.clock.set(NOW + timedelta(hours=1, seconds=1))
    statements = _statements(platform)
    assert timers.fire_due(platform) == {"instances": 4, "timers": 4}
    # The locking read (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE holds the lock) joins the definitions.
    locks = [s for s in statements if s.startswith("SELECT process_instances.id") and "process_definitions" in s]
    assert len(locks) == 1, locks  # one lock statement for the four instances, not four
    # and one UPDATE for their rows (an executemany): no version check splits it into one per instance
    updates = [s for s in statements if s.startswith("UPDATE process_instances")]
    assert len(updates) == 1, updates
    for n, instance_id in enumerate(ids):
        assert _state(platform, instance_id) == ("running", ["fired"], 1)
        view = instances.get(platform, STAFF, instance_id)
        assert view["variables"]["result"] == 10 // [1, 2, 5, 10][n]
        assert [t["element_id"] for t in view["tasks"]] == ["review"]
    assert timers.fire_due(platform) == {"instances": 0, "timers": 0}  # nothing fires twice


def test_a_failing_instance_does_not_hold_up_the_others_of_its_batch(platform: Platform) -> None:
    ids = _start(platform, [1, 0, 2])  # the second divides by zero after its timer
    platform.clock.set(NOW + timedelta(hours=1, seconds=1))
    assert timers.fire_due(platform)["timers"] == 2
    assert _state(platform, ids[0]) == ("running", ["fired"], 1)
    assert _state(platform, ids[2]) == ("running", ["fired"], 1)
    status, timer_states, fired = _state(platform, ids[1])
    assert (status, timer_states, fired) == ("failed", ["pending"], 0)  # as before the step, and marked failed
    with platform.db.sessions() as session:
        failed = session.get(ProcessInstance, ids[1])
        assert failed is not None and "脚本" in (failed.error or "")
    assert timers.fire_due(platform)["timers"] == 0  # a failed instance is not retried on every scan


def test_a_database_error_in_the_single_steps_is_raised_after_the_others_fired(
        platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _start(platform, [1, 2])
    platform.clock.set(NOW + timedelta(hours=1, seconds=1))
    from sqlalchemy.exc import OperationalError

    real_many = timers._fire_many

    def batch_fails(session: Any, p: Platform, instance_ids: list[str]) -> Any:
        if len(instance_ids) > 1:  # the batch's transaction fails; a single step goes through
            raise OperationalError("SELECT", {}, Exception("lock timeout"))
        return real_many(session, p, instance_ids)

    real = timers.fire_instance

    def single(p: Platform, instance_id: str) -> int:
        if instance_id == ids[0]:
            raise OperationalError("SELECT", {}, Exception("connection lost"))
        return real(p, instance_id)

    monkeypatch.setattr(timers, "_fire_many", batch_fails)
    monkeypatch.setattr(timers, "fire_instance", single)
    assert timers.fire_instances(platform, ids, strict=False) == {ids[1]: 1}
    with pytest.raises(OperationalError):
        timers.fire_instances(platform, ids)  # strict: the scan's caller hears of it
    assert _state(platform, ids[0])[1] == ["pending"]  # left for the next scan
