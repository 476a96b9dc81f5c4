"""End to end through HTTP: a supplier's challenge (质疑, gp_challenge) and complaint (投诉, complaint) against a
running procurement, on the fake clock with the embedded timer worker.

The procurement is the sample_review process (processes/bpmn/sample_review.bpmn), standing in for any trade.
Dates (March-April 2026: no holiday in March; 04-04 .. 04-06 清明 off):
  knew_on 02-27 (Fri): gp.challenge 7 工作日 (02-28 Sat is a 调休 working day) -> 03-09; filed 03-02 -> admitted.
  filed 03-02: gp.challenge_reply 7 工作日 -> 03-11 (the reply timer fires at 03-12 00:00 Shanghai).
  reply deadline 03-11: gp.complaint 15 工作日 -> 04-01.
  complaint received 03-03: gp.complaint_decide 30 工作日 -> 04-15 (timer at 04-16 00:00).
  suspended 03-03 10:00: at most 30 days (GPL 57) -> resumed automatically at 04-02 10:00.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from services import audit
from services.platform import Platform
from tests.e2e.cot_support import uscc

REGION = "330100"
FIRE_WITHIN = 10.0  # generous for a loaded CI machine; the 2 s promise of CONTRACT.md is checked in tests/workers
SUPPLIER = uscc(501)
OTHER_SUPPLIER = uscc(502)
TARGET_FORM = {
    "project_name": "杭州市某中学教学设备采购",
    "docs_issued_on": "2026-02-20",
    "estimated_price": 2_000_000,
    "received_on": "2026-03-02",
    "objector": "浙江某设备有限公司",
    "objection_summary": "采购需求设置不合理",
}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


class Parties:
    """The people of the procurement and one supplier, calling the HTTP API."""

    def __init__(self, http: Any, make_user: Callable[..., dict[str, str]]) -> None:
        self.http = http
        self.users = {
            "admin": make_user("admin", name="gpc_admin"),
            "staff": make_user("staff", region=REGION, name="gpc_staff"),
            "agency": make_user("agency", region=REGION, name="gpc_agency"),
            "purchaser": make_user("purchaser", region=REGION, name="gpc_purchaser"),
            "supervisor": make_user("supervisor", region=REGION, name="gpc_supervisor"),
            "bidder": make_user("bidder", region=REGION, org=SUPPLIER, name="gpc_supplier"),
            "other": make_user("bidder", region=REGION, org=OTHER_SUPPLIER, name="gpc_other"),
        }

    def call(self, method: str, path: str, who: str, body: Any = None, expect: int = 200) -> Any:
        response = self.http.open(path, method=method, headers=self.users[who], json=body)
        assert response.status_code == expect, (method, path, response.status_code, response.get_json())
        return response.get_json()

    def clock(self, when: str) -> None:
        self.call("PUT", "/api/v1/admin/clock", "admin", {"now": when})

    def view(self, instance_id: str) -> dict[str, Any]:
        return self.call("GET", f"/api/v1/process-instances/{instance_id}", "staff")  # type: ignore[no-any-return]

    def wait_for(self, instance_id: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        started = time.monotonic()
        while True:
            view = self.view(instance_id)
            if check(view):
                return view
            if time.monotonic() - started > FIRE_WITHIN:
                pytest.fail(f"not reached within {FIRE_WITHIN} s; instance is {view}")
            time.sleep(0.05)

    def complete(self, view: dict[str, Any], name: str, who: str, data: dict[str, Any], expect: int = 200) -> Any:
        task = task_named(view, name)
        assert task["role"] == who
        return self.call("POST", f"/api/v1/tasks/{task['id']}/complete", who, {"data": data}, expect=expect)

    def procurement(self, key: str) -> dict[str, Any]:
        return self.call("POST", "/api/v1/process-instances", "staff", {  # type: ignore[no-any-return]
            "process_key": "sample_review", "business_key": key, "region": REGION, "variables": TARGET_FORM},
            expect=201)

    def challenge(self, target_id: str, knew_on: str, who: str = "bidder", expect: int = 201) -> Any:
        return self.call("POST", f"/api/v1/trades/{target_id}/challenges", who, {
            "knew_on": knew_on, "grounds": "评审因素与采购需求无关", "challenger_name": "浙江某科技有限公司"},
            expect=expect)

    def replied_challenge(self, target_id: str) -> dict[str, Any]:
        """A challenge filed on 03-02 and answered the same day."""
        view = self.challenge(target_id, "2026-02-27")
        assert view["variables"]["admitted"] is True
        self.complete(view, "答复质疑", "agency", {"reply_content": "质疑事项不成立", "replied_on": "2026-03-02"})
        return self.view(view["id"])

    def complaint(self, target_id: str, challenge_id: str, who: str = "bidder", expect: int = 201) -> Any:
        return self.call("POST", f"/api/v1/trades/{target_id}/complaints", who, {
            "challenge_id": challenge_id, "grounds": "对质疑答复不满意"}, expect=expect)

    def suspended_by_complaint(self, target_id: str) -> dict[str, Any]:
        """Challenge on 03-02, complaint on 03-03, the finance department suspends the procurement at 10:00."""
        challenge = self.replied_challenge(target_id)
        assert challenge["status"] == "completed"
        self.clock("2026-03-03T09:00:00+08:00")
        complaint = self.complaint(target_id, challenge["id"])
        assert complaint["variables"]["admitted"] is True and complaint["variables"]["decide_due"] == "2026-04-15"
        self.clock("2026-03-03T10:00:00+08:00")
        view = self.complete(complaint, "决定是否暂停采购活动", "supervisor",
                             {"suspend": True, "suspend_reason": "投诉事项可能影响中标结果"})
        assert self.view(target_id)["status"] == "suspended"
        assert timers(view) == [
            ("Boundary_DecideOverdueSuspended", "gp.complaint_decide", at("2026-04-16T00:00:00+08:00")),
            ("Boundary_SuspensionCap", "gp.complaint_suspend", at("2026-04-02T10:00:00+08:00"))]
        return view  # type: ignore[no-any-return]


def task_named(view: dict[str, Any], name: str) -> dict[str, Any]:
    matching = [t for t in view["tasks"] if t["name"] == name]
    assert len(matching) == 1, view["tasks"]
    return matching[0]


def timers(view: dict[str, Any]) -> list[tuple[str, str | None, datetime]]:
    return sorted((t["element_id"], t["rule"], at(t["due_at"])) for t in view["timers"])


def audit_intact(platform: Platform, instance_id: str) -> None:
    with platform.db.sessions() as session:
        checked, broken = audit.verify(session, instance_id)
    assert broken is None and checked > 0, broken


@pytest.fixture
def parties(http: Any, make_user: Callable[..., dict[str, str]]) -> Parties:
    parties = Parties(http, make_user)
    parties.clock("2026-03-02T09:00:00+08:00")
    return parties


# ------------------------------------------------------------------------------------------------ tests


def test_challenge_reply_timer_calls_in_the_supervisor(parties: Parties, platform: Platform) -> None:
    target = parties.procurement("GPC-1")
    parties.challenge(target["id"], "2026-02-27", who="staff", expect=403)  # only the supplier files
    view = parties.challenge(target["id"], "2026-02-27")
    assert view["process_key"] == "gp_challenge" and view["region"] == REGION
    assert {
        k: view["variables"][k] for k in ("target_instance_id", "challenger_uscc", "admitted", "filed_on",
                                          "challenge_due", "reply_due", "complaint_due")} == {
        "target_instance_id": target["id"], "challenger_uscc": SUPPLIER, "admitted": True, "filed_on": "2026-03-02",
        "challenge_due": "2026-03-09", "reply_due": "2026-03-11", "complaint_due": "2026-04-01"}
    assert task_named(view, "答复质疑")["role"] == "agency"
    assert timers(view) == [("Boundary_ReplyOverdue", "gp.challenge_reply", at("2026-03-12T00:00:00+08:00"))]

    # the last day of the reply period passes: the supervisor is called in, the agency still has to answer
    parties.clock("2026-03-11T23:59:00+08:00")
    time.sleep(0.5)
    assert [t["name"] for t in parties.view(view["id"])["tasks"]] == ["答复质疑"]
    parties.clock("2026-03-12T00:00:01+08:00")
    view = parties.wait_for(view["id"], lambda v: len(v["tasks"]) == 2)
    assert task_named(view, "督促答复质疑")["role"] == "supervisor"
    # a late reply is still recorded (the supplier may complain from the end of the reply period anyway)
    parties.complete(view, "答复质疑", "agency", {"reply_content": "不成立", "replied_on": "2026-03-12"})
    view = parties.complete(parties.view(view["id"]), "督促答复质疑", "supervisor", {"note": "已督促答复"})
    assert view["status"] == "completed"
    audit_intact(platform, view["id"])


def test_late_challenge_is_not_admitted(parties: Parties, platform: Platform) -> None:
    target = parties.procurement("GPC-2")
    parties.clock("2026-03-20T10:00:00+08:00")
    view = parties.challenge(target["id"], "2026-03-02")  # 7 工作日 from 03-02 ended on 03-11
    assert view["status"] == "completed" and view["tasks"] == [] and view["timers"] == []
    assert view["variables"]["admitted"] is False and view["variables"]["challenge_due"] == "2026-03-11"
    assert "不予受理" in view["variables"]["refusal_notice"]
    events = parties.call("GET", f"/api/v1/process-instances/{view['id']}/events", "supervisor")
    refused = [e for e in events if e["type"] == "challenge.refused"]
    assert len(refused) == 1 and refused[0]["data"]["rule"] == "gp.challenge"
    # no complaint may rest on a refused challenge
    complaint = parties.complaint(target["id"], view["id"])
    assert complaint["status"] == "completed" and complaint["variables"]["admitted"] is False
    assert "先依法进行质疑" in complaint["variables"]["refusal_notice"]
    assert parties.view(target["id"])["status"] == "running"


def test_complaint_suspends_the_procurement_and_the_decision_resumes_it(parties: Parties, platform: Platform) -> None:
    target = parties.procurement("GPC-3")
    challenge = parties.replied_challenge(target["id"])
    parties.complaint(target["id"], challenge["id"], who="other", expect=403)  # not its challenge
    complaint = parties.suspended_by_complaint(target["id"])

    # while suspended, the procurement does not move: its task cannot be completed
    suspended = parties.view(target["id"])
    parties.complete(suspended, "提交异议答复", "agency", {"reply_content": "答复", "replied_on": "2026-03-03"},
                     expect=409)

    parties.clock("2026-03-05T10:00:00+08:00")
    view = parties.complete(complaint, "作出投诉处理决定", "supervisor", {
        "result": "dismissed", "decision_summary": "投诉缺乏事实依据，驳回投诉", "decided_on": "2026-03-05"})
    assert view["status"] == "completed" and view["timers"] == []
    assert view["variables"]["target_status"] == "running" and view["variables"]["procurement_redo"] is False
    resumed = parties.view(target["id"])
    assert resumed["status"] == "running"
    parties.complete(resumed, "提交异议答复", "agency", {"reply_content": "答复", "replied_on": "2026-03-05"})
    log = [e["type"] for e in parties.call("GET", f"/api/v1/process-instances/{target['id']}/events", "supervisor")]
    assert log.index("instance.suspended") < log.index("instance.resumed")
    for instance_id in (target["id"], challenge["id"], view["id"]):
        audit_intact(platform, instance_id)


def test_suspension_ends_after_30_days_and_an_upheld_complaint_cancels(parties: Parties, platform: Platform) -> None:
    target = parties.procurement("GPC-4")
    parties.complete(target, "提交异议答复", "agency", {"reply_content": "答复", "replied_on": "2026-03-02"})
    complaint = parties.suspended_by_complaint(target["id"])

    parties.clock("2026-04-02T09:59:00+08:00")
    time.sleep(0.5)
    assert parties.view(target["id"])["status"] == "suspended"
    parties.clock("2026-04-02T10:00:01+08:00")
    parties.wait_for(target["id"], lambda v: v["status"] == "running")
    view = parties.wait_for(complaint["id"], lambda v: [t["element_id"] for t in v["timers"]]
                            == ["Boundary_DecideOverdueSuspended"])
    assert [t["name"] for t in view["tasks"]] == ["作出投诉处理决定"]

    # upheld and the procurement must be redone: the running procurement is cancelled
    view = parties.complete(view, "作出投诉处理决定", "supervisor", {
        "result": "upheld", "redo": True, "decision_summary": "投诉成立，责令重新开展采购活动",
        "decided_on": "2026-04-03"})
    assert view["status"] == "completed" and view["variables"]["procurement_redo"] is True
    assert parties.view(target["id"])["status"] == "cancelled"
    parties.challenge(target["id"], "2026-04-01", expect=409)  # nothing left to challenge
    audit_intact(platform, target["id"])
