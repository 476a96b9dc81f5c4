"""An instance changes only under its row lock; lock_version counts the transactions that changed it."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from domain.access import SYSTEM, Actor
from persistence.models import ProcessInstance
from services import definitions, instances, steps, tasks
from services.platform import Platform
from tests.api.conftest import chain, user_task

STAFF = Actor("staff1", frozenset({"staff"}))
ADMIN = Actor("admin1", frozenset({"admin"}))
BPMN = chain("locked_writes", [("first", user_task("first", "初审")), ("second", user_task("second", "复审"))])


def _start(platform: Platform) -> tuple[str, str]:
    definitions.deploy_bytes(platform, BPMN.encode(), SYSTEM)
    view, _ = instances.start(platform, STAFF, "locked_writes", "LW-1", {})
    return view["id"], view["tasks"][0]["id"]


def _row(platform: Platform, instance_id: str) -> ProcessInstance:
    with platform.db.sessions() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return row


def test_a_change_without_the_row_lock_is_refused_and_writes_nothing(platform: Platform) -> None:
    instance_id, _ = _start(platform)
    before = _row(platform, instance_id)

    def unlocked(session: Session) -> None:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        row.variables = {**row.variables, "sneaked": True}

    with pytest.raises(steps.UnlockedWrite):
        platform.db.run(unlocked)
    after = _row(platform, instance_id)
    assert "sneaked" not in after.variables
    assert after.lock_version == before.lock_version


def test_the_lock_holds_for_its_transaction_only(platform: Platform) -> None:
    instance_id, _ = _start(platform)
    with platform.db.unit_of_work() as session:
        steps.lock_instance(session, instance_id)
    with pytest.raises(steps.UnlockedWrite), platform.db.unit_of_work() as session:
        # A new transaction in a fresh session: the lock taken above ended with its commit.
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        row.error = "x"


def test_lock_version_counts_each_changing_transaction_once(platform: Platform) -> None:
    instance_id, task_id = _start(platform)
    started = _row(platform, instance_id).lock_version
    assert started == 1  # the start's insert and its first step are one transaction
    tasks.complete(platform, STAFF, task_id, {})  # flushes more than once, counts once
    assert _row(platform, instance_id).lock_version == started + 1
    with platform.db.unit_of_work() as session:
        steps.lock_instance(session, instance_id)  # a lock alone changes nothing
    assert _row(platform, instance_id).lock_version == started + 1
    instances.change_status(platform, ADMIN, instance_id, "suspend", "核查")
    assert _row(platform, instance_id).lock_version == started + 2
