"""Challenges and complaints through the Flask client, without the timer worker: admission rules and access."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from services.platform import Platform
from tests.e2e.cot_support import uscc

REGION = "330100"
SUPPLIER = uscc(601)
TARGET_FORM = {
    "project_name": "某区办公设备采购", "docs_issued_on": "2026-02-20", "estimated_price": 500_000,
    "received_on": "2026-03-02", "objection_summary": "采购需求设置不合理",
}


class Api:
    def __init__(self, client: Any, platform: Platform, make_user: Callable[..., dict[str, str]]) -> None:
        self.client, self.platform = client, platform
        self.users = {
            "staff": make_user("staff", region=REGION, name="cha_staff"),
            "agency": make_user("agency", region=REGION, name="cha_agency"),
            "bidder": make_user("bidder", region=REGION, org=SUPPLIER, name="cha_bidder"),
            "supervisor": make_user("supervisor", region=REGION, name="cha_supervisor"),
            "no_org": make_user("bidder", region=REGION, name="cha_no_org"),
            "elsewhere": make_user("bidder", region="110100", org=uscc(602), name="cha_elsewhere"),
        }

    def at(self, when: str) -> None:
        self.platform.clock.set(datetime.fromisoformat(when))

    def call(self, method: str, path: str, who: str, body: Any = None, expect: int = 200) -> Any:
        response = self.client.open(path, method=method, headers=self.users[who], json=body)
        assert response.status_code == expect, (path, response.status_code, response.get_json())
        return response.get_json()

    def target(self, key: str) -> dict[str, Any]:
        return self.call("POST", "/api/v1/process-instances", "staff", {  # type: ignore[no-any-return]
            "process_key": "sample_review", "business_key": key, "region": REGION, "variables": TARGET_FORM},
            expect=201)

    def challenge(self, target_id: str, knew_on: str, who: str = "bidder", expect: int = 201) -> Any:
        return self.call("POST", f"/api/v1/trades/{target_id}/challenges", who,
                         {"knew_on": knew_on, "grounds": "评分标准倾向特定供应商"}, expect=expect)

    def complaint(self, target_id: str, challenge_id: str, expect: int = 201) -> Any:
        return self.call("POST", f"/api/v1/trades/{target_id}/complaints", "bidder",
                         {"challenge_id": challenge_id, "grounds": "对答复不满意"}, expect=expect)

    def reply(self, challenge: dict[str, Any], replied_on: str) -> None:
        task = next(t for t in challenge["tasks"] if t["name"] == "答复质疑")
        self.call("POST", f"/api/v1/tasks/{task['id']}/complete", "agency",
                  {"data": {"reply_content": "不成立", "replied_on": replied_on}})


@pytest.fixture
def api(client: Any, platform: Platform, make_user: Callable[..., dict[str, str]]) -> Api:
    api = Api(client, platform, make_user)
    api.at("2026-03-02T09:00:00+08:00")
    return api


def test_a_challenge_on_the_last_day_is_admitted_and_one_a_day_later_is_not(api: Api) -> None:
    target = api.target("CHA-1")
    # knew_on 02-20 (Fri): 02-23 is still 春节 off; 02-24 .. 02-27 (4), 02-28 调休 (5), 03-02 (6), 03-03 (7)
    api.at("2026-03-03T23:00:00+08:00")
    on_time = api.challenge(target["id"], "2026-02-20")
    assert on_time["variables"]["admitted"] is True and on_time["variables"]["challenge_due"] == "2026-03-03"
    api.at("2026-03-04T00:30:00+08:00")
    late = api.challenge(target["id"], "2026-02-20")
    assert late["variables"]["admitted"] is False and late["status"] == "completed"
    assert "2026-03-03" in late["variables"]["refusal_notice"]


def test_who_may_challenge_what(api: Api) -> None:
    target = api.target("CHA-2")
    api.challenge(target["id"], "2026-03-02", who="no_org", expect=403)
    api.challenge(target["id"], "2026-03-02", who="elsewhere", expect=403)
    own = api.challenge(target["id"], "2026-03-02")
    assert api.call("GET", f"/api/v1/process-instances/{own['id']}", "bidder")["id"] == own["id"]
    api.call("GET", f"/api/v1/process-instances/{own['id']}", "elsewhere", expect=403)
    api.call("GET", f"/api/v1/process-instances/{own['id']}", "no_org", expect=403)
    api.challenge("no-such-trade", "2026-03-02", expect=404)
    api.challenge(target["id"], "2026-03-05", expect=422)  # knew of the harm in the future
    api.call("POST", f"/api/v1/trades/{target['id']}/challenges", "bidder", {"grounds": "x"}, expect=400)
    api.call("POST", f"/api/v1/process-instances/{target['id']}/cancel", "staff", {})
    api.challenge(target["id"], "2026-03-02", expect=409)


def test_complaint_needs_a_reply_or_the_end_of_the_reply_period_and_comes_in_time(api: Api) -> None:
    target = api.target("CHA-3")
    challenge = api.challenge(target["id"], "2026-03-02")
    assert challenge["variables"]["reply_due"] == "2026-03-11"
    assert challenge["variables"]["complaint_due"] == "2026-04-01"
    early = api.complaint(target["id"], challenge["id"])
    assert early["variables"]["admitted"] is False and "答复期" in early["variables"]["refusal_notice"]

    api.reply(challenge, "2026-03-02")
    api.at("2026-03-03T09:00:00+08:00")
    complaint = api.complaint(target["id"], challenge["id"])
    assert complaint["id"] != early["id"] and complaint["status"] == "running"
    assert complaint["variables"]["admitted"] is True and complaint["variables"]["decide_due"] == "2026-04-15"
    assert [t["name"] for t in complaint["tasks"]] == ["决定是否暂停采购活动"]


def test_a_complaint_after_the_complaint_period_is_refused(api: Api) -> None:
    target = api.target("CHA-4")
    challenge = api.challenge(target["id"], "2026-03-02")
    api.reply(challenge, "2026-03-02")
    api.at("2026-04-02T09:00:00+08:00")
    late = api.complaint(target["id"], challenge["id"])
    assert late["status"] == "completed" and late["variables"]["admitted"] is False
    assert "2026-04-01" in late["variables"]["refusal_notice"]
    events = api.call("GET", f"/api/v1/process-instances/{late['id']}/events", "staff")
    refused = [e for e in events if e["type"] == "complaint.refused"]
    assert refused and refused[0]["data"]["rule"] == "gp.complaint"
    api.complaint(target["id"], "no-such-challenge", expect=404)


def test_a_complaint_without_suspension_leaves_the_procurement_running(api: Api) -> None:
    target = api.target("CHA-5")
    challenge = api.challenge(target["id"], "2026-03-02")
    api.reply(challenge, "2026-03-02")
    api.at("2026-03-03T09:00:00+08:00")
    complaint = api.complaint(target["id"], challenge["id"])
    task = complaint["tasks"][0]
    assert task["role"] == "supervisor"
    view = api.call("POST", f"/api/v1/tasks/{task['id']}/complete", "supervisor", {"data": {"suspend": False}})
    assert api.call("GET", f"/api/v1/process-instances/{target['id']}", "staff")["status"] == "running"
    # gp.complaint_decide: 30 工作日 from 03-03 (04-06 清明 off) -> 04-15, the timer at 24:00 that day
    assert [(t["element_id"], t["rule"], datetime.fromisoformat(t["due_at"])) for t in view["timers"]] == [
        ("Boundary_DecideOverdue", "gp.complaint_decide", datetime.fromisoformat("2026-04-16T00:00:00+08:00"))]
    decide = view["tasks"][0]
    view = api.call("POST", f"/api/v1/tasks/{decide['id']}/complete", "supervisor", {"data": {
        "result": "upheld", "redo": False, "decision_summary": "投诉成立，但不影响采购结果", "decided_on": "2026-03-04"}})
    assert view["status"] == "completed" and view["variables"]["target_status"] == "running"
    assert api.call("GET", f"/api/v1/process-instances/{target['id']}", "staff")["status"] == "running"
