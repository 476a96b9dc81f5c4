"""End to end through HTTP only: the sample objection-handling process (processes/bpmn/sample_review.bpmn)
on the fake clock, with timers fired by the embedded worker the app starts.

Dates (2026 State Council schedule, as seeded from chinese-calendar):
  Fri 09-25 中秋 off, Sat 09-26 / Sun 09-27 off, Mon 09-28 .. Wed 09-30 working,
  Thu 10-01 .. Wed 10-07 国庆 off, Thu 10-08 / Fri 10-09 working, Sat 10-10 调休 working, Sun 10-11 off.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from services import audit
from services.platform import Platform

REGION = "330100"
PROCESS = "sample_review"

# The clock starts on Monday 2026-09-28 at 09:00 in Shanghai, the day the objection is received.
START = "2026-09-28T09:00:00+08:00"

START_FORM = {
    "project_name": "杭州市某中学新建教学楼工程施工",
    "docs_issued_on": "2026-09-10",
    "estimated_price": 12_800_000,
    "received_on": "2026-09-28",
    "objector": "浙江某建设集团有限公司",
    "objection_summary": "招标文件资格条件设置不合理",
}

# cons.objection_reply, 3 日, MAX, counted from received_on 2026-09-28 (the day itself not counted):
#   09-29 (1), 09-30 (2), 10-01 (3) -> 10-01 is 国庆 holiday, a MAX period runs to the next working day:
#   10-02 .. 10-07 off, 10-08 (Thu) working -> last day 2026-10-08, ends at 24:00 Shanghai.
REPLY_LAST_DAY = "2026-10-08"
REPLY_DUE = datetime.fromisoformat("2026-10-09T00:00:00+08:00")

# cons.bid_period, 20 日, MIN, from docs_issued_on 2026-09-10: earliest bid deadline 2026-09-30.
TOO_EARLY_DEADLINE = "2026-09-29T09:30:00+08:00"
BID_DEADLINE = "2026-09-30T09:30:00+08:00"

# add_working_days(bid_deadline, 2), keeping the time of day:
#   from Wed 09-30: 10-01 .. 10-07 off (skipped, 7 days), 10-08 Thu = working day 1, 10-09 Fri = working day 2.
ARCHIVE_WAIT_DUE = datetime.fromisoformat("2026-10-09T09:30:00+08:00")

FIRE_WITHIN = 10.0  # generous for a loaded CI machine; the 2 s promise of CONTRACT.md is checked in tests/workers


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def users(make_user: Callable[..., dict[str, str]]) -> dict[str, dict[str, str]]:
    return {
        "admin": make_user("admin", name="e2e_admin"),
        "staff": make_user("staff", region=REGION, name="e2e_staff"),
        "agency": make_user("agency", region=REGION, name="e2e_agency"),
        "purchaser": make_user("purchaser", region=REGION, name="e2e_purchaser"),
        "supervisor": make_user("supervisor", region=REGION, name="e2e_supervisor"),
    }


# ------------------------------------------------------------------------------------------------ helpers


def call(http: Any, method: str, path: str, who: dict[str, str], body: Any = None, expect: int = 200) -> Any:
    response = http.open(path, method=method, headers=who, json=body)
    assert response.status_code == expect, (method, path, response.status_code, response.get_json())
    return response.get_json()


def set_clock(http: Any, users: dict[str, dict[str, str]], when: str) -> None:
    out = call(http, "PUT", "/api/v1/admin/clock", users["admin"], {"now": when})
    assert abs(datetime.fromisoformat(out["now"]) - datetime.fromisoformat(when)) < timedelta(seconds=5)


def instance(http: Any, who: dict[str, str], instance_id: str) -> dict[str, Any]:
    return call(http, "GET", f"/api/v1/process-instances/{instance_id}", who)


def wait_for(http: Any, who: dict[str, str], instance_id: str, check: Callable[[dict[str, Any]], bool],
             timeout: float = FIRE_WITHIN) -> dict[str, Any]:
    """Poll the instance over HTTP until check(view) holds; fail after timeout seconds."""
    started = time.monotonic()
    while True:
        view = instance(http, who, instance_id)
        if check(view):
            return view
        if time.monotonic() - started > timeout:
            pytest.fail(f"not reached within {timeout} s; instance is {view}")
        time.sleep(0.05)


def names(view: dict[str, Any]) -> list[str]:
    return sorted(t["name"] for t in view["tasks"])


def only_task(view: dict[str, Any], name: str) -> dict[str, Any]:
    matching = [t for t in view["tasks"] if t["name"] == name]
    assert len(matching) == 1, view["tasks"]
    return matching[0]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def start_instance(http: Any, users: dict[str, dict[str, str]], business_key: str) -> dict[str, Any]:
    set_clock(http, users, START)
    # A start form that breaks its schema is refused before anything starts.
    bad = call(http, "POST", "/api/v1/process-instances", users["staff"], {
        "process_key": PROCESS, "business_key": business_key, "region": REGION,
        "variables": {**START_FORM, "project_name": "", "estimated_price": -1},
    }, expect=422)
    assert {e["field"] for e in bad["errors"]} == {"/project_name", "/estimated_price"}

    view = call(http, "POST", "/api/v1/process-instances", users["staff"], {
        "process_key": PROCESS, "business_key": business_key, "region": REGION, "variables": START_FORM,
    }, expect=201)
    assert view["status"] == "running"
    assert view["region"] == REGION
    assert view["variables"]["received_on"] == "2026-09-28"

    # The agency must answer; the task and its interrupting boundary timer both run on cons.objection_reply.
    reply = only_task(view, "提交异议答复")
    assert reply["role"] == "agency" and reply["form_key"] == "sample_reply"
    assert reply["rule"] == "cons.objection_reply"
    assert at(reply["due_at"]) == REPLY_DUE
    [timer] = view["timers"]
    assert timer["element_id"] == "Boundary_ReplyOverdue"
    assert timer["rule"] == "cons.objection_reply"
    assert timer["boundary"] is True
    assert at(timer["due_at"]) == REPLY_DUE

    # The statute endpoint agrees with the engine's arithmetic.
    due = call(http, "GET", "/api/v1/statutes/cons.objection_reply/due?from=2026-09-28", users["staff"])
    assert due["due"] == REPLY_LAST_DAY and due["citation"] == "TBR 22"
    return view


def events(http: Any, who: dict[str, str], instance_id: str) -> list[dict[str, Any]]:
    out = call(http, "GET", f"/api/v1/process-instances/{instance_id}/events", who)
    assert [e["seq"] for e in out] == list(range(1, len(out) + 1))
    for prev, event in zip(out, out[1:], strict=False):
        assert event["prev_hash"] == prev["hash"]
    return out


def assert_audit_chain_intact(platform: Platform, instance_id: str) -> None:
    with platform.db.sessions() as session:
        checked, broken = audit.verify(session, instance_id)
    assert broken is None, broken
    assert checked > 0


# ------------------------------------------------------------------------------------------------ tests


def test_objection_answered_deadline_confirmed_archived_with_reminder(
    http: Any, users: dict[str, dict[str, str]], platform: Platform,
) -> None:
    view = start_instance(http, users, "E2E-SR-1")
    instance_id = view["id"]

    # --- the agency answers the objection in time
    queue = call(http, "GET", f"/api/v1/tasks?process_key={PROCESS}", users["agency"])
    assert [t["name"] for t in queue] == ["提交异议答复"]
    reply_id = queue[0]["id"]
    detail = call(http, "GET", f"/api/v1/tasks/{reply_id}", users["agency"])
    assert detail["form"]["title"] == "异议答复"
    assert detail["variables"]["project_name"] == START_FORM["project_name"]
    # Other roles may not take it.
    call(http, "POST", f"/api/v1/tasks/{reply_id}/complete", users["purchaser"], {"data": {}}, expect=403)

    view = call(http, "POST", f"/api/v1/tasks/{reply_id}/complete", users["agency"], {"data": {
        "reply_content": "资格条件符合招标投标法及实施条例规定，维持招标文件。", "replied_on": "2026-09-28",
    }})
    assert names(view) == ["确认投标截止时间"]
    assert view["timers"] == []  # the boundary timer ended with its task
    deadline_task = only_task(view, "确认投标截止时间")
    assert deadline_task["role"] == "purchaser"

    # --- the purchaser confirms the bid deadline: cons.bid_period (20 日 MIN from 2026-09-10) refuses 09-29
    refused = call(http, "POST", f"/api/v1/tasks/{deadline_task['id']}/complete", users["purchaser"],
                   {"data": {"bid_deadline": TOO_EARLY_DEADLINE, "opening_place": "杭州市公共资源交易中心"}},
                   expect=422)
    assert refused["rule"] == "cons.bid_period"
    assert refused["citation"] == "TBL 24"
    assert refused["errors"][0]["field"] == "/bid_deadline"
    assert "2026-09-30" in refused["errors"][0]["message"]
    view = instance(http, users["purchaser"], instance_id)
    assert [t["id"] for t in view["tasks"]] == [deadline_task["id"]]
    assert view["tasks"][0]["status"] == "ready"

    view = call(http, "POST", f"/api/v1/tasks/{deadline_task['id']}/complete", users["purchaser"],
                {"data": {"bid_deadline": BID_DEADLINE, "opening_place": "杭州市公共资源交易中心"}})
    assert view["tasks"] == []
    [wait] = view["timers"]
    assert wait["element_id"] == "Timer_AfterBidDeadline"
    assert wait["boundary"] is False
    assert at(wait["due_at"]) == ARCHIVE_WAIT_DUE
    days = call(http, "GET", "/api/v1/calendar/working-days?start=2026-09-30&add=2", users["staff"])
    assert days["result"] == "2026-10-09"
    assert days["skipped"] == [f"2026-10-0{d}" for d in range(1, 8)]

    # --- the clock passes the working-day timer: the embedded worker fires it, 归档 appears
    set_clock(http, users, "2026-10-09T09:29:00+08:00")
    time.sleep(0.6)  # a scan or two of the worker: nothing is due yet
    view = instance(http, users["staff"], instance_id)
    assert view["tasks"] == [] and [t["element_id"] for t in view["timers"]] == ["Timer_AfterBidDeadline"]

    moved = "2026-10-09T09:31:00+08:00"
    set_clock(http, users, moved)
    view = wait_for(http, users["staff"], instance_id, lambda v: names(v) == ["归档"])
    archive = only_task(view, "归档")
    assert archive["role"] == "staff" and archive["form_key"] == "sample_archive"
    [reminder_timer] = view["timers"]
    assert reminder_timer["element_id"] == "Boundary_ArchiveReminder"
    assert reminder_timer["boundary"] is True and reminder_timer["kind"] == "duration"
    # P1D from when the task became ready (the fake clock keeps running after the move).
    delay = at(reminder_timer["due_at"]) - at(moved)
    assert timedelta(days=1) <= delay < timedelta(days=1, seconds=30)

    # --- a day later the non-interrupting timer reminds the supervisor; 归档 stays open
    set_clock(http, users, "2026-10-10T12:00:00+08:00")
    view = wait_for(http, users["supervisor"], instance_id, lambda v: "提醒：归档待办" in names(v))
    assert names(view) == ["归档", "提醒：归档待办"]
    assert only_task(view, "归档")["id"] == archive["id"]
    reminder = only_task(view, "提醒：归档待办")
    assert reminder["role"] == "supervisor"
    assert view["timers"] == []
    assert [t["id"] for t in call(http, "GET", "/api/v1/tasks", users["supervisor"])] == [reminder["id"]]

    # --- both are done; the instance completes
    view = call(http, "POST", f"/api/v1/tasks/{archive['id']}/complete", users["staff"], {"data": {
        "archive_no": "GGZY-330100-2026-0001", "archived_on": "2026-10-10"}})
    assert names(view) == ["提醒：归档待办"]
    assert view["status"] == "running"
    view = call(http, "POST", f"/api/v1/tasks/{reminder['id']}/complete", users["supervisor"], {"data": {
        "opinion": "已督促归档", "handled_on": "2026-10-10"}})
    assert view["status"] == "completed"
    assert view["tasks"] == [] and view["timers"] == []
    assert instance(http, users["staff"], instance_id)["status"] == "completed"

    # --- the audit trail
    log = events(http, users["supervisor"], instance_id)
    types = [e["type"] for e in log]
    assert types[0] == "instance.started" and types[-1] == "instance.completed"
    timer_events = [(e["type"], e["data"]["element_id"], e["data"]["rule"]) for e in log if e["type"].startswith("timer.")]
    assert timer_events == [
        ("timer.scheduled", "Boundary_ReplyOverdue", "cons.objection_reply"),
        ("timer.cancelled", "Boundary_ReplyOverdue", "cons.objection_reply"),
        ("timer.scheduled", "Timer_AfterBidDeadline", None),
        ("timer.fired", "Timer_AfterBidDeadline", None),
        ("timer.scheduled", "Boundary_ArchiveReminder", None),
        ("timer.fired", "Boundary_ArchiveReminder", None),
    ]
    scheduled = next(e for e in log if e["type"] == "timer.scheduled")
    assert at(scheduled["data"]["due_at"]) == REPLY_DUE
    fired = [e for e in log if e["type"] == "timer.fired"]
    assert all(e["actor"] == "system" for e in fired)
    assert at(fired[0]["data"]["due_at"]) == ARCHIVE_WAIT_DUE
    refusals = [e for e in log if e["type"] == "task.completed" and e["data"]["element_id"] == "Task_ConfirmDeadline"]
    assert [e["data"]["data"]["bid_deadline"] for e in refusals] == [BID_DEADLINE]  # the refused try left no trace
    assert_audit_chain_intact(platform, instance_id)


def test_objection_not_answered_in_time_goes_to_supervision(
    http: Any, users: dict[str, dict[str, str]], platform: Platform,
) -> None:
    view = start_instance(http, users, "E2E-SR-2")
    instance_id = view["id"]
    reply_id = only_task(view, "提交异议答复")["id"]

    # 3 日 counted naively would end at 24:00 on 10-01; the holiday extends it to 10-08, so nothing fires yet.
    set_clock(http, users, "2026-10-02T00:00:01+08:00")
    time.sleep(0.6)
    view = instance(http, users["agency"], instance_id)
    assert [t["id"] for t in view["tasks"]] == [reply_id]
    assert [t["element_id"] for t in view["timers"]] == ["Boundary_ReplyOverdue"]

    # Past 24:00 of 2026-10-08: the interrupting timer cancels the agency's task and calls in the staff.
    set_clock(http, users, "2026-10-09T00:00:01+08:00")
    view = wait_for(http, users["staff"], instance_id, lambda v: names(v) == ["超期督办"])
    supervise = only_task(view, "超期督办")
    assert supervise["role"] == "staff" and supervise["form_key"] == "sample_supervise"
    assert view["timers"] == []

    assert call(http, "GET", f"/api/v1/tasks?process_key={PROCESS}", users["agency"]) == []
    cancelled = call(http, "GET", f"/api/v1/tasks?process_key={PROCESS}&status=cancelled", users["agency"])
    assert [t["id"] for t in cancelled] == [reply_id]
    late = call(http, "POST", f"/api/v1/tasks/{reply_id}/complete", users["agency"], {"data": {
        "reply_content": "迟到的答复", "replied_on": "2026-10-09"}}, expect=409)
    assert late["error"]

    view = call(http, "POST", f"/api/v1/tasks/{supervise['id']}/complete", users["staff"], {"data": {
        "opinion": "代理机构未在法定期限内答复异议，已约谈并记入不良行为记录"}})
    assert view["status"] == "completed"

    log = events(http, users["staff"], instance_id)
    fired = [e for e in log if e["type"] == "timer.fired"]
    assert [(e["data"]["element_id"], e["data"]["rule"]) for e in fired] == [
        ("Boundary_ReplyOverdue", "cons.objection_reply")]
    assert at(fired[0]["data"]["due_at"]) == REPLY_DUE
    assert fired[0]["actor"] == "system"
    assert any(e["type"] == "task.cancelled" and e["data"]["task_id"] == reply_id for e in log)
    assert [e["type"] for e in log][-1] == "instance.completed"
    assert_audit_chain_intact(platform, instance_id)
