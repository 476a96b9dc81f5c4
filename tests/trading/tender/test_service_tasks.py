"""The tender service tasks, run by a small process (registration) and directly on a running trade."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain.access import SYSTEM, Actor
from domain.errors import Invalid, StatuteViolation
from persistence.models import Event, ProcessInstance
from persistence.models_tender import TradeCodeSequence, TradeRegistration
from services import definitions, instances
from services.platform import Platform
from services.service_tasks import ServiceCall
from services.trading import tender
from trading.uscc import check_character

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 12, 10, 0, tzinfo=TZ)

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:ggzy="urn:ggzy:bpmn"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:tender">
  <bpmn:process id="tender_trade" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="register" name="登记" ggzy:service="tender.register"/>
    <bpmn:userTask id="wait" name="办理" camunda:candidateGroups="staff"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="register"/>
    <bpmn:sequenceFlow id="f2" sourceRef="register" targetRef="wait"/>
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def uscc(n: int) -> str:
    body = f"91330100{n:09d}"
    return body + check_character(body)


def staff(region: str | None = "330100") -> Actor:
    return Actor("tender-staff", frozenset({"staff"}), region)


@pytest.fixture
def start(platform: Platform) -> Callable[..., dict[str, Any]]:
    """start(key, region=..., **variables) -> the view of a new trade that ran tender.register."""
    definitions.deploy_bytes(platform, BPMN.encode(), SYSTEM)
    platform.clock.set(NOW)

    def run(key: str, region: str = "330100", **variables: Any) -> dict[str, Any]:
        view, _ = instances.start(platform, staff(None), "tender_trade", key, variables, region=region)
        return view

    return run


@pytest.fixture
def step(platform: Platform, start: Callable[..., dict[str, Any]]) -> Iterator[Callable[..., dict[str, Any]]]:
    """step(handler, **data) runs a handler on one running trade in its own transaction."""
    instance_id = start("T-STEP")["id"]

    def call(handler: Callable[[ServiceCall], Any], **data: Any) -> dict[str, Any]:
        with platform.db.unit_of_work() as session:
            instance = session.get(ProcessInstance, instance_id)
            assert instance is not None
            return handler(ServiceCall(platform, session, instance, "el", data, staff(), platform.clock.now()))

    yield call


def events(platform: Platform, type_: str) -> list[dict[str, Any]]:
    with platform.db.sessions() as session:
        return [e.data for e in session.scalars(select(Event).where(Event.type == type_).order_by(Event.id))]


# --- tender.register ---------------------------------------------------------------------------------


def test_codes_count_per_region_and_year(platform: Platform, start: Callable[..., dict[str, Any]]) -> None:
    codes = [start(f"T-{i}", region=r)["variables"]["trade_code"]
             for i, r in enumerate(["330100", "330100", "330200", "330100"])]
    assert codes == ["330100-G-2026-000001", "330100-G-2026-000002", "330200-G-2026-000001",
                     "330100-G-2026-000003"]
    platform.clock.set(datetime(2027, 1, 1, 0, 0, 1, tzinfo=TZ))
    assert start("T-2027")["variables"]["trade_code"] == "330100-G-2027-000001"
    with platform.db.sessions() as session:
        rows = {(r.region, r.year): r.last_value for r in session.scalars(select(TradeCodeSequence))}
        assert rows == {("330100", 2026): 3, ("330200", 2026): 1, ("330100", 2027): 1}
        assert session.scalar(select(TradeRegistration.trade_code).where(
            TradeRegistration.trade_code == "330200-G-2026-000001")) is not None


def test_concurrent_registrations_get_distinct_codes(start: Callable[..., dict[str, Any]]) -> None:
    # On PostgreSQL the first registrations of a year race to insert the sequence row; the loser is retried.
    codes: list[str] = []
    errors: list[Exception] = []

    def register(i: int) -> None:
        try:
            codes.append(start(f"T-C{i}")["variables"]["trade_code"])
        except Exception as exc:  # noqa: BLE001 - reported below; a thread's exception would vanish
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(codes) == [f"330100-G-2026-{n:06d}" for n in range(1, 9)]


def test_registration_checks_the_parties_codes_and_is_audited(platform: Platform,
                                                             start: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(Invalid):
        start("T-BAD", purchaser_uscc="913301000000000001")  # wrong check character
    view = start("T-OK", purchaser_uscc=uscc(1).lower(), project_name="某工程")
    assert view["variables"]["purchaser_uscc"] == uscc(1)
    [registered] = events(platform, "tender.registered")
    assert registered == {"trade_code": "330100-G-2026-000001", "project_name": "某工程", "purchaser_uscc": uscc(1)}


def test_registration_needs_a_region(platform: Platform, start: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(Invalid, match="行政区划"):
        instances.start(platform, SYSTEM, "tender_trade", "T-NOREGION", {})


def test_registering_again_returns_the_same_code(step: Callable[..., dict[str, Any]]) -> None:
    assert step(tender.register_task) == {"trade_code": "330100-G-2026-000001"}


# --- tender.clarify ------------------------------------------------------------------------------------

DEADLINE = "2026-03-23T09:30:00+08:00"


def test_an_early_clarification_keeps_the_deadline(platform: Platform, step: Callable[..., dict[str, Any]]) -> None:
    out = step(tender.clarify_task, bid_deadline=DEADLINE, clarification_issued_on="2026-03-05")
    assert out == {"deadline_postponed": False, "clarification_count": 1, "new_bid_deadline": None}
    [notice] = events(platform, "tender.clarified")
    assert notice["rule"] == "cons.clarify_bid" and notice["bid_deadline"] == DEADLINE


def test_a_late_clarification_postpones_the_deadline(step: Callable[..., dict[str, Any]]) -> None:
    out = step(tender.clarify_task, bid_deadline=DEADLINE, clarification_issued_on="2026-03-12", clarification_count=1)
    assert out["deadline_postponed"] is True and out["clarification_count"] == 2
    assert out["bid_deadline"] == "2026-03-27T09:30:00+08:00" and out["previous_bid_deadline"] == DEADLINE


def test_a_later_deadline_may_be_asked_but_never_an_unlawful_or_earlier_one(step: Callable[..., dict[str, Any]]) -> None:
    out = step(tender.clarify_task, bid_deadline=DEADLINE, clarification_issued_on="2026-03-12",
               new_bid_deadline="2026-03-30T14:00:00+08:00")
    assert out["bid_deadline"] == "2026-03-30T14:00:00+08:00"
    with pytest.raises(StatuteViolation) as caught:
        step(tender.clarify_task, bid_deadline=DEADLINE, clarification_issued_on="2026-03-12",
             new_bid_deadline="2026-03-26T09:30:00+08:00")
    assert caught.value.rule == "cons.clarify_bid" and "2026-03-27" in caught.value.message
    with pytest.raises(Invalid, match="不得提前"):
        step(tender.clarify_task, bid_deadline=DEADLINE, clarification_issued_on="2026-03-05",
             new_bid_deadline="2026-03-22T09:30:00+08:00")


def test_a_clarification_dated_after_today_is_refused(step: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(Invalid, match="不能晚于今天"):
        step(tender.clarify_task, bid_deadline=DEADLINE, clarification_issued_on="2026-03-13")


def test_the_clarify_rule_is_a_parameter(step: Callable[..., dict[str, Any]]) -> None:
    # gp.clarify is 15 日 as well; a COUNT rule cannot be used for a period
    out = step(tender.clarify_task, bid_deadline=DEADLINE, clarification_issued_on="2026-03-12", clarify_rule="gp.clarify")
    assert out["bid_deadline"] == "2026-03-27T09:30:00+08:00"
    with pytest.raises(Invalid, match="不是最短期限规则"):
        step(tender.clarify_task, bid_deadline=DEADLINE, clarification_issued_on="2026-03-12",
             clarify_rule="cons.min_bidders")


# --- tender.objection, tender.prequal_result, tender.check_award ------------------------------------------


def test_an_objection_10_days_before_the_deadline_is_admissible(step: Callable[..., dict[str, Any]]) -> None:
    out = step(tender.objection_task, bid_deadline=DEADLINE, objection_received_on="2026-03-12")
    # cons.objection_reply: 3 日 from Thursday 03-12 ends on Sunday 03-15, extended to Monday 03-16
    assert out == {"objection_admissible": True, "objection_count": 1, "objection_reply_due": "2026-03-16"}
    with pytest.raises(Invalid):
        step(tender.objection_task, bid_deadline=DEADLINE, objection_received_on="2026-03-13")  # a future date


def test_a_late_objection_is_not_admitted(platform: Platform, step: Callable[..., dict[str, Any]]) -> None:
    out = step(tender.objection_task, bid_deadline="2026-03-21T09:30:00+08:00", objection_received_on="2026-03-12")
    assert out["objection_admissible"] is False and out["objection_reply_due"] is None
    assert events(platform, "tender.objection_received")[0]["rule"] == "cons.objection_doc"


@pytest.mark.parametrize(("count", "passed"), [(2, False), (3, True), (7, True)])
def test_prequalification_needs_three_qualified(step: Callable[..., dict[str, Any]], count: int, passed: bool) -> None:
    assert step(tender.prequal_result_task, qualified_count=count) == {"prequal_passed": passed}


def test_prequalification_count_must_be_a_count(step: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(Invalid):
        step(tender.prequal_result_task, qualified_count="3")


def test_the_winner_is_the_first_candidate_or_a_later_one_with_a_reason(step: Callable[..., dict[str, Any]]) -> None:
    candidates = [uscc(11), uscc(12), uscc(13)]
    assert step(tender.check_award_task, winner_uscc=uscc(11), candidates=candidates) == {
        "winner_uscc": uscc(11), "winner_rank": 1}
    with pytest.raises(Invalid) as caught:
        step(tender.check_award_task, winner_uscc=uscc(12), candidates=candidates)
    assert caught.value.errors[0]["field"] == "/award_reason"
    out = step(tender.check_award_task, winner_uscc=uscc(12), candidates=candidates, award_reason="第一名放弃中标")
    assert out["winner_rank"] == 2
    with pytest.raises(Invalid, match="中标候选人中确定"):
        step(tender.check_award_task, winner_uscc=uscc(14), candidates=candidates, award_reason="x")
