"""The instance row keeps its audit chain's head: cutting events off the end is detected."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, func, select

from domain.access import SYSTEM, Actor
from persistence.models import Event, ProcessInstance
from services import audit, definitions, instances, tasks

STAFF = Actor("s", frozenset({"staff"}), "330100")
LOOP = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "loop_user.bpmn"


def test_the_head_follows_the_chain_and_a_cut_tail_is_detected(platform):
    definitions.deploy_bytes(platform, LOOP.read_bytes(), SYSTEM)
    view, _ = instances.start(platform, STAFF, "loop_user", "H-1", {"done": 0, "finish": False})
    for finish in (False, True):
        view = tasks.complete(platform, STAFF, view["tasks"][0]["id"], {"finish": finish})
    with platform.db.unit_of_work() as session:
        row = session.get(ProcessInstance, view["id"])
        last = session.scalar(select(func.max(Event.seq)).where(Event.instance_id == view["id"]))
        assert row is not None and row.event_seq == last
        assert audit.verify(session, view["id"])[1] is None
        session.execute(delete(Event).where(Event.instance_id == view["id"], Event.seq == last))
    with platform.db.sessions() as session:
        checked, broken = audit.verify(session, view["id"])
    assert broken is not None and broken["seq"] == last and "末尾" in broken["problem"]
