"""Instance variables are built from what each step changed, not from one branch's copy of the data."""
from __future__ import annotations

from pathlib import Path

from domain.access import SYSTEM, Actor
from services import definitions, instances, tasks

STAFF = Actor("s", frozenset({"staff"}), "330100")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"


def _ready(view: dict, element: str) -> str:
    return next(t["id"] for t in view["tasks"] if t["element_id"] == element)


def test_a_branch_finishing_later_does_not_roll_back_another_branchs_update(platform):
    definitions.deploy_bytes(platform, (FIXTURES / "parallel2.bpmn").read_bytes(), SYSTEM)
    view, _ = instances.start(platform, STAFF, "parallel2", "V-1", {"verdict": "pending", "note": "x"})
    view = tasks.complete(platform, STAFF, _ready(view, "tech"), {"verdict": "approved"})
    # Branch biz still carries verdict=pending from the fork; completing it must not undo tech's update.
    assert view["variables"]["verdict"] == "approved"
    view = tasks.complete(platform, STAFF, _ready(view, "biz"), {"biz_ok": True})
    assert view["variables"]["verdict"] == "approved"
    assert view["variables"]["biz_ok"] is True and view["variables"]["note"] == "x"
    assert "__forks__" not in view["variables"]
    view = tasks.complete(platform, STAFF, _ready(view, "after"), {})
    assert view["status"] == "completed"
    assert view["variables"]["verdict"] == "approved"
