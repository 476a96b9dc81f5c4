"""gp_competitive_negotiation and gp_inquiry end to end over HTTP: fake clock, embedded timer worker, the offers API.

Dates (2026, Asia/Shanghai): the clock starts on Monday 2026-03-02; no holiday falls in March 2026.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.cot_support import PURCHASER, REGION, Run, at, due, names, timers, uscc

# 74号令 29/45: 3 工作日 MIN from Mon 03-02: the earliest response deadline day is Thu 03-05.
TOO_EARLY = "2026-03-04T09:30:00+08:00"
RESPONSES_DUE = "2026-03-05T09:30:00+08:00"


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> Run:
    return Run.started(http, make_user)


def register(run: Run, process: str, business_key: str) -> dict[str, Any]:
    view = run.call("POST", "/api/v1/process-instances", "staff", {
        "process_key": process, "business_key": business_key, "region": REGION, "variables": {
            "project_name": "杭州市某中学实验室设备采购", "purchaser_name": "杭州市某中学", "purchaser_uscc": PURCHASER,
            "budget": 1_000_000}}, expect=201)
    run.id = view["id"]
    assert view["variables"]["trade_code"].startswith(f"{REGION}-D-2026-")
    return view  # type: ignore[no-any-return]


def suppliers(run: Run, count: int) -> list[dict[str, str]]:
    made = []
    for _ in range(count):
        run._serial += 1
        made.append(run.make_user("bidder", org=uscc(run._serial), name=f"gp_supplier_{run._serial}"))
    return made


def org(run: Run, who: dict[str, str]) -> str:
    return run.call("GET", f"/api/v1/trades/{run.id}/offers", who)["offers"][0]["supplier_uscc"]  # type: ignore[no-any-return]


def offer(run: Run, who: dict[str, str], amount: str, round_no: int | None = None, expect: int = 200) -> Any:
    query = f"?round={round_no}" if round_no else ""
    return run.call("PUT", f"/api/v1/trades/{run.id}/offers{query}", who, {"amount": amount}, expect=expect)


def visible(run: Run, who: str | dict[str, str]) -> list[tuple[int, str, str]]:
    out = run.call("GET", f"/api/v1/trades/{run.id}/offers", who)
    return [(o["round"], o["supplier_uscc"], o["amount"]) for o in out["offers"]]


def assess(run: Run, findings: dict[str, bool]) -> None:
    run.call("PUT", f"/api/v1/trades/{run.id}/offers/assessments", "agency", {"assessments": [
        {"supplier_uscc": k, "meets_requirements": v} for k, v in findings.items()]})


def close_out(run: Run, winner: str, decided_on: str, notice_on: str) -> dict[str, Any]:
    """Purchaser decides, agency announces: the contract task waits with its gp.contract timer."""
    view = run.complete("确定成交供应商", "purchaser", {"winner_uscc": winner, "decided_on": decided_on})
    assert view["variables"]["winner_rank"] == 1 and names(view) == ["发布成交结果公告"]
    assert [t[:2] for t in timers(view)] == [("Boundary_NoticeOverdue", "gp.result_notice")]
    view = run.complete("发布成交结果公告", "agency", {"result_notice_on": notice_on})
    assert names(view) == ["签订政府采购合同"]
    return view


def test_negotiation_two_rounds_the_supplier_that_lowers_its_offer_wins(run: Run) -> None:
    register(run, "gp_competitive_negotiation", "GPN-1")
    refused = run.complete("发出谈判文件", "agency", {"docs_issued_on": "2026-03-02", "response_deadline": TOO_EARLY},
                           expect=422)
    assert refused["rule"] == "gp.negotiation_response" and "74号令" in refused["citation"]
    assert "2026-03-05" in refused["errors"][0]["message"]
    a, b, c = suppliers(run, 3)
    offer(run, a, "1000000.00", expect=409)  # documents not issued yet
    view = run.complete("发出谈判文件", "agency", {"docs_issued_on": "2026-03-02", "response_deadline": RESPONSES_DUE})
    assert names(view) == []
    assert timers(view) == [("Timer_FirstResponses", "gp.negotiation_response", at(RESPONSES_DUE))]

    # --- first responses (round 1); each supplier sees its own offer only, the agency none before the deadline
    run.set_clock("2026-03-03T10:00:00+08:00")
    offer(run, a, "1000000.00")
    offer(run, b, "950000")
    offer(run, c, "800000.00")
    a_org, b_org, c_org = org(run, a), org(run, b), org(run, c)
    assert visible(run, b) == [(1, b_org, "950000.00")]
    assert visible(run, "agency") == []
    offer(run, a, "990000.00", round_no=2, expect=409)
    offer(run, a, "-5", expect=422)
    offer(run, b, "not-a-price", expect=422)
    run.call("PUT", f"/api/v1/trades/{run.id}/offers", "staff", {"amount": "1.00"}, expect=403)
    # the audit chain says an offer came, never whose or how much
    received = [e for e in run.events("gp.offer_received")]
    assert len(received) == 3 and all("amount" not in e["data"] and e["actor"] == "sealed-supplier" for e in received)

    # --- the deadline passes: the worker closes round 1 and the team negotiates
    view = run.advance(RESPONSES_DUE, "谈判")
    assert view["variables"]["round_offer_count"] == 3
    offer(run, c, "700000.00", expect=409)
    assert sorted(visible(run, "agency")) == sorted([(1, a_org, "1000000.00"), (1, b_org, "950000.00"),
                                                     (1, c_org, "800000.00")])

    # --- round 2: a lowers its offer; revised offers stay secret until the round closes
    view = run.complete("谈判", "agency", {"negotiation_decision": "another_round"})
    assert names(view) == ["收取报价"] and view["variables"]["offer_round"] == 2
    offer(run, a, "920000.00", round_no=2)
    offer(run, a, "900000.00", round_no=2)  # revised again within the open round
    offer(run, b, "950000.00", round_no=1, expect=409)
    offer(run, suppliers(run, 1)[0], "600000.00", round_no=2, expect=403)  # gave no first response
    assert visible(run, a) == [(1, a_org, "1000000.00"), (2, a_org, "900000.00")]
    assert visible(run, b) == [(1, b_org, "950000.00")]
    assert all(r == 1 for r, _, _ in visible(run, "agency"))
    view = run.complete("收取报价", "agency", {})
    assert names(view) == ["谈判"] and (2, a_org, "900000.00") in visible(run, "purchaser")

    # --- final quotes (round 3): c is cheapest but does not meet the requirements
    view = run.complete("谈判", "agency", {"negotiation_decision": "final_quotes"})
    assert view["variables"]["final_round"] is True and view["variables"]["offer_round"] == 3
    offer(run, a, "880000.00")
    offer(run, b, "940000.00")
    offer(run, c, "790000.00")
    view = run.complete("收取报价", "agency", {})
    assert names(view) == ["谈判小组评审"]
    assess(run, {a_org: True, b_org: True})
    missing = run.complete("谈判小组评审", "agency", {"report_received_on": "2026-03-06"}, expect=422)
    assert c_org in missing["message"]
    assess(run, {c_org: False})
    view = run.complete("谈判小组评审", "agency", {"report_received_on": "2026-03-06"})
    assert view["variables"]["candidates"] == [a_org, b_org]
    assert view["variables"]["lowest_price"] == "880000.00"
    # gp.decide 5 工作日 MAX from Fri 03-06: last day Fri 03-13
    assert timers(view) == [("Boundary_DecideOverdue", "gp.decide", due("2026-03-14T00:00:00"))]
    assert run.task("确定成交供应商", view)["rule"] == "gp.decide"

    # --- the purchaser may not pass over the lowest qualified offer without a reason
    run.complete("确定成交供应商", "purchaser", {"winner_uscc": b_org, "decided_on": "2026-03-09"}, expect=422)
    run.complete("确定成交供应商", "purchaser", {"winner_uscc": c_org, "decided_on": "2026-03-09"}, expect=422)
    view = close_out(run, a_org, "2026-03-09", "2026-03-10")
    assert view["variables"]["award_price"] == "880000.00"
    # gp.contract 30 日 MAX from 03-10: last day Thu 04-09
    assert timers(view) == [("Boundary_ContractOverdue", "gp.contract", due("2026-04-10T00:00:00"))]

    # --- the contract deadline passes: the supervisor is reminded, the trade goes on
    view = run.advance("2026-04-10T00:00:01+08:00", "逾期提醒")
    run.complete("逾期提醒", "supervisor", {"reminder_note": "请尽快签订合同"})
    view = run.complete("签订政府采购合同", "purchaser", {"contract_signed_at": "2026-04-13", "contract_price": "880000.00"})
    assert view["status"] == "completed"


def test_negotiation_terminated_fails_the_procurement(run: Run) -> None:
    register(run, "gp_competitive_negotiation", "GPN-2")
    run.complete("发出谈判文件", "agency", {"docs_issued_on": "2026-03-02", "response_deadline": RESPONSES_DUE})
    run.advance(RESPONSES_DUE, "谈判")
    view = run.complete("谈判", "agency", {"negotiation_decision": "terminate"})
    assert names(view) == ["采购失败"]
    view = run.complete("采购失败", "staff", {"failure_reason": "供应商均未实质性响应"})
    assert view["status"] == "completed"


def test_inquiry_one_quote_each_and_the_lowest_qualified_wins(run: Run) -> None:
    register(run, "gp_inquiry", "GPI-1")
    refused = run.complete("发出询价通知书", "agency", {"notice_issued_on": "2026-03-02", "response_deadline": TOO_EARLY},
                           expect=422)
    assert refused["rule"] == "gp.inquiry_response" and "74号令" in refused["citation"]
    view = run.complete("发出询价通知书", "agency", {"notice_issued_on": "2026-03-02", "response_deadline": RESPONSES_DUE})
    assert timers(view) == [("Timer_Responses", "gp.inquiry_response", at(RESPONSES_DUE))]

    run.set_clock("2026-03-03T10:00:00+08:00")
    a, b, c = suppliers(run, 3)
    offer(run, a, "500000.00")
    offer(run, b, "480000.00")
    offer(run, c, "450000.00")
    second = offer(run, a, "470000.00", expect=409)
    assert "不得更改" in second["message"]
    offer(run, b, "470000.00", round_no=2, expect=409)
    a_org, b_org, c_org = org(run, a), org(run, b), org(run, c)
    assert visible(run, a) == [(1, a_org, "500000.00")]
    assert visible(run, "purchaser") == []

    view = run.advance(RESPONSES_DUE, "询价小组评审")
    assert view["variables"]["round_offer_count"] == 3
    late = suppliers(run, 1)[0]
    assert "截止" in offer(run, late, "400000.00", expect=409)["message"]
    assess(run, {a_org: True, b_org: True, c_org: False})
    view = run.complete("询价小组评审", "agency", {"report_received_on": "2026-03-05"})
    assert view["variables"]["candidates"] == [b_org, a_org] and view["variables"]["winner_candidate"] == b_org
    # gp.decide 5 工作日 MAX from Thu 03-05: last day Thu 03-12
    assert timers(view) == [("Boundary_DecideOverdue", "gp.decide", due("2026-03-13T00:00:00"))]
    view = close_out(run, b_org, "2026-03-06", "2026-03-06")
    assert view["variables"]["award_price"] == "480000.00"
    # gp.contract 30 日 MAX from 03-06 ends on Sun 04-05, in the 清明 holiday (04-04..04-06): extended to Tue 04-07
    assert timers(view) == [("Boundary_ContractOverdue", "gp.contract", due("2026-04-08T00:00:00"))]
    view = run.complete("签订政府采购合同", "purchaser", {"contract_signed_at": "2026-03-10"})
    assert view["status"] == "completed"


def test_inquiry_without_a_qualified_quote_fails(run: Run) -> None:
    register(run, "gp_inquiry", "GPI-2")
    run.complete("发出询价通知书", "agency", {"notice_issued_on": "2026-03-02", "response_deadline": RESPONSES_DUE})
    run.set_clock("2026-03-03T10:00:00+08:00")
    (a,) = suppliers(run, 1)
    offer(run, a, "500000.00")
    a_org = org(run, a)
    run.advance(RESPONSES_DUE, "询价小组评审")
    assess(run, {a_org: False})
    view = run.complete("询价小组评审", "agency", {"report_received_on": "2026-03-05"})
    assert view["variables"]["winner_candidate"] is None and names(view) == ["采购失败"]
