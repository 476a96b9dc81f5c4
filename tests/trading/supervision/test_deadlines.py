"""Statutory deadlines overdue: a task of a MAX rule still open after its due instant raises one scored alert."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from domain.access import SYSTEM, Actor
from services import definitions, instances, obligations, tasks, timers
from services.platform import Platform
from services.trading import alerts, supervision

from .support import REGION, TZ, alerts_of

START = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)  # a Monday

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:ggzy="urn:ggzy:bpmn"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:deadlines">
  <bpmn:process id="deadline_trade" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:userTask id="reply" name="答复异议" camunda:candidateGroups="staff" ggzy:rule="cons.objection_reply"/>
    <bpmn:userTask id="notice" name="发布公告" camunda:candidateGroups="staff" ggzy:rule="gp.tender_notice"/>
    <bpmn:userTask id="contract" name="签订合同" camunda:candidateGroups="purchaser" ggzy:rule="cons.contract"/>
    <bpmn:boundaryEvent id="late" attachedToRef="contract" cancelActivity="false" ggzy:rule="cons.contract">
      <bpmn:timerEventDefinition>
        <bpmn:timeDate>statute_due('cons.contract', award_notice_on)</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end1"/>
    <bpmn:endEvent id="end2"/>
    <bpmn:endEvent id="end3"/>
    <bpmn:endEvent id="end4"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
    <bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="reply"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="notice"/>
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="contract"/>
    <bpmn:sequenceFlow id="f4" sourceRef="reply" targetRef="end1"/>
    <bpmn:sequenceFlow id="f5" sourceRef="notice" targetRef="end2"/>
    <bpmn:sequenceFlow id="f6" sourceRef="contract" targetRef="end3"/>
    <bpmn:sequenceFlow id="f7" sourceRef="late" targetRef="end4"/>
  </bpmn:process>
</bpmn:definitions>"""

STAFF = Actor("deadline-staff", frozenset({"staff"}), REGION)
SUPERVISOR = Actor("deadline-supervisor", frozenset({"supervisor"}), REGION)


def start(platform: Platform, award_notice_on: str = "2026-03-01", key: str = "D-1") -> dict[str, Any]:
    definitions.deploy_bytes(platform, BPMN.encode(), SYSTEM)
    platform.clock.set(START)
    view, _ = instances.start(platform, Actor("s", frozenset({"staff"})), "deadline_trade", key,
                              {"award_notice_on": award_notice_on}, region=REGION)
    return view


def at(platform: Platform, when: datetime) -> int:
    platform.clock.set(when)
    timers.fire_due(platform)
    return supervision.check_overdue_deadlines(platform)


def task_id(view: dict[str, Any], name: str) -> str:
    return next(t["id"] for t in view["tasks"] if t["name"] == name)


def overdue(platform: Platform) -> list[dict[str, Any]]:
    return alerts_of(platform, supervision.DEADLINE)


def test_nothing_is_overdue_before_the_due_instant(platform: Platform) -> None:
    start(platform)
    # cons.objection_reply: 3 日 from Mon 03-02, last day Thu 03-05, due at 24:00
    assert at(platform, datetime(2026, 3, 5, 23, 59, tzinfo=TZ)) == 0
    assert overdue(platform) == []


def test_an_open_max_task_past_its_due_instant_raises_one_alert(platform: Platform) -> None:
    view = start(platform)
    assert at(platform, datetime(2026, 3, 6, 0, 1, tzinfo=TZ)) == 1
    [alert] = overdue(platform)
    assert alert["subject"] == f"task:{task_id(view, '答复异议')}" and alert["rule"] == "cons.objection_reply"
    assert alert["instance_id"] == view["id"] and alert["region"] == REGION
    assert alert["evidence"]["due_at"] == "2026-03-06T00:00:00+08:00" and alert["evidence"]["overdue_days"] == 1
    assert alert["evidence"]["due_from"] == "task" and alert["score"] == 50 and alert["severity"] == "warning"
    assert "答复异议" in alert["message"] and "招标投标法实施条例》第二十二条" in alert["message"]
    assert alert["evidence"]["citation"] == "TBR 22"
    # scanning again raises nothing new; later the same alert stays the only one
    assert at(platform, datetime(2026, 3, 9, 9, 0, tzinfo=TZ)) == 0
    assert [a["id"] for a in overdue(platform)] == [alert["id"]]


def test_a_min_rule_task_is_never_overdue(platform: Platform) -> None:
    start(platform)
    at(platform, datetime(2026, 6, 1, tzinfo=TZ))
    assert "gp.tender_notice" not in {a["rule"] for a in overdue(platform)}


def test_a_fired_timer_of_the_task_rule_makes_it_overdue_before_its_own_due(platform: Platform) -> None:
    # the award notice went out on 02-25: the contract is due by Fri 03-27 (cons.contract, 30 日), while the task,
    # created on 03-02, would count its own 30 days to 04-01
    view = start(platform, award_notice_on="2026-02-25")
    assert [t["due_at"] for t in view["timers"]] == ["2026-03-27T16:00:00+00:00"]
    at(platform, datetime(2026, 3, 30, 9, 0, tzinfo=TZ))
    contract = [a for a in overdue(platform) if a["rule"] == "cons.contract"]
    assert len(contract) == 1 and contract[0]["subject"] == f"task:{task_id(view, '签订合同')}"
    assert contract[0]["evidence"]["due_from"] == "timer"
    assert contract[0]["evidence"]["due_at"] == "2026-03-28T00:00:00+08:00"
    assert contract[0]["evidence"]["overdue_days"] == 3 and contract[0]["score"] == 70


def test_a_pending_timer_alone_is_not_overdue(platform: Platform) -> None:
    start(platform, award_notice_on="2026-02-25")
    assert at(platform, datetime(2026, 3, 27, 23, 0, tzinfo=TZ)) == 1  # the objection reply only
    assert {a["rule"] for a in overdue(platform)} == {"cons.objection_reply"}


def test_a_completed_task_is_not_overdue(platform: Platform) -> None:
    view = start(platform)
    platform.clock.set(datetime(2026, 3, 4, 9, 0, tzinfo=TZ))
    tasks.complete(platform, STAFF, task_id(view, "答复异议"), {})
    at(platform, datetime(2026, 3, 10, tzinfo=TZ))
    assert "cons.objection_reply" not in {a["rule"] for a in overdue(platform)}


def test_a_dismissed_alert_is_not_raised_again(platform: Platform) -> None:
    start(platform)
    at(platform, datetime(2026, 3, 6, 1, 0, tzinfo=TZ))
    [alert] = overdue(platform)
    alerts.dismiss(platform, SUPERVISOR, alert["id"], "已督办")
    assert at(platform, datetime(2026, 3, 7, 1, 0, tzinfo=TZ)) == 0
    assert [a["status"] for a in overdue(platform)] == ["dismissed"]


def test_a_suspended_trade_is_not_scanned(platform: Platform) -> None:
    view = start(platform)
    instances.change_status(platform, Actor("a", frozenset({"admin"})), view["id"], "suspend", "投诉处理期间暂停")
    assert at(platform, datetime(2026, 3, 10, tzinfo=TZ)) == 0


@pytest.mark.parametrize("when, raised", [(datetime(2026, 3, 5, 12, tzinfo=TZ), 0),
                                          (datetime(2026, 3, 6, 12, tzinfo=TZ), 1)])
def test_the_periodic_obligation_check_runs_the_scan(platform: Platform, when: datetime, raised: int) -> None:
    start(platform)
    platform.clock.set(when)
    assert obligations.check_all(platform)["overdue_deadline_alerts"] == raised
