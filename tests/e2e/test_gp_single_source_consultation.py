"""gp_single_source (单一来源) and gp_competitive_consultation (竞争性磋商) end to end over HTTP with the fake clock.

Dates are 2026 in Asia/Shanghai; March 2026 has no public holiday, so working days are Monday to Friday.
The plumbing (clock, tasks, experts, committee) is the construction_open_tender driver of cot_support.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.cot_support import (
    PRICE,
    REGION,
    SPECIALTY,
    START,
    TECHNICAL,
    Run,
    at,
    due,
    names,
    timers,
    uscc,
)

PURCHASER = uscc(1)
AGENCY = uscc(2)
PARTIES = {
    "purchaser_name": "杭州市某区教育局", "purchaser_uscc": PURCHASER,
    "agency_name": "浙江某采购代理有限公司", "agency_uscc": AGENCY,
}
SUPPLIER = uscc(90)
SINGLE_SOURCE = {
    **PARTIES,
    "project_name": "某区智慧教育平台原有系统扩容",
    "budget": 1_000_000,
    "single_source_reason": "consistency",
    "reason_detail": "须保证原有采购项目一致性和服务配套，只能向原供应商添购",
    "supplier_name": "浙江某信息技术有限公司",
    "supplier_uscc": SUPPLIER,
}
CONSULTATION = {
    **PARTIES,
    "project_name": "某区中小学物业管理服务",
    "budget": 12_000_000,  # gp.committee: a budget of 10,000,000 yuan or more needs 7 members
    "consultation_reason": "service",
}


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> Run:
    return Run.started(http, make_user)


def start(run: Run, process: str, business_key: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The purchaser registers the procurement; it gets a 政府采购 (Z) trade code."""
    view = run.call("POST", "/api/v1/process-instances", "purchaser", {
        "process_key": process, "business_key": business_key, "region": REGION, "variables": variables},
        expect=201)
    run.id = view["id"]
    assert view["status"] == "running"
    assert view["variables"]["trade_code"].startswith(f"{REGION}-Z-2026-")
    return view  # type: ignore[no-any-return]


def scheduled_rules(run: Run) -> set[tuple[str, str | None]]:
    return {(e["data"]["element_id"], e["data"]["rule"]) for e in run.events("timer.scheduled")}


# ------------------------------------------------------------------------------------------------ 单一来源


def publicity_over(run: Run, business_key: str) -> dict[str, Any]:
    """Register, publish the publicity from Mon 03-02 and let it end; the staff record objections next."""
    view = start(run, "gp_single_source", business_key, SINGLE_SOURCE)
    assert names(view) == ["发布单一来源采购公示"]
    publicity = {"publicity_started_on": "2026-03-02", "publicity_media": "中国政府采购网",
                 "expert_opinion": "经专业人员论证，只能从原供应商处添购"}
    # gp.single_source_publicity 5 工作日 MIN from Mon 03-02: the publicity may end Mon 03-09 at the earliest
    refused = run.complete("发布单一来源采购公示", "agency", {**publicity, "publicity_end": "2026-03-06"}, expect=422)
    assert refused["rule"] == "gp.single_source_publicity" and refused["citation"] == "GPR 38; 74号令 38"
    assert "2026-03-09" in refused["errors"][0]["message"]
    view = run.complete("发布单一来源采购公示", "agency", {**publicity, "publicity_end": "2026-03-09"})
    assert names(view) == []
    assert timers(view) == [("Timer_PublicityEnd", "gp.single_source_publicity", due("2026-03-10T00:00:00"))]
    # a second before the end nothing moves
    run.set_clock("2026-03-09T23:59:59+08:00")
    assert names(run.view()) == []
    view = run.advance("2026-03-10T00:00:01+08:00", "公示期满登记异议")
    assert run.task("公示期满登记异议", view)["role"] == "staff"
    return view


def test_single_source_publicity_approval_negotiation_and_contract(run: Run) -> None:
    publicity_over(run, "GPS-1")
    view = run.complete("公示期满登记异议", "staff", {"objections_raised": False})
    approval = run.task("审批", view)
    assert names(view) == ["审批"] and approval["role"] == "supervisor"  # 财政部门 approves (GPR 38)

    view = run.complete("审批", "supervisor", {"approved": True, "approved_on": "2026-03-11",
                                             "approval_no": "杭财采〔2026〕12号"})
    assert names(view) == ["与供应商协商"] and run.task("与供应商协商", view)["role"] == "agency"

    # a price above the budget (a variable, not a form maximum) is no error: it goes back to negotiation
    run.set_clock("2026-03-12T10:00:00+08:00")
    view = run.complete("与供应商协商", "agency", {"negotiated_on": "2026-03-12", "agreed_price": 1_050_000,
                                              "negotiation_record": "供应商首次报价"})
    assert view["variables"]["price_within_budget"] is False and view["variables"]["negotiation_rounds"] == 1
    assert names(view) == ["与供应商协商"] and view["timers"] == []
    view = run.complete("与供应商协商", "agency", {"negotiated_on": "2026-03-12", "agreed_price": 980_000,
                                              "negotiation_record": "协商后报价"})
    assert view["variables"]["price_within_budget"] is True and view["variables"]["negotiation_rounds"] == 2
    assert names(view) == ["公告成交结果并发出成交通知书"]
    # gp.result_notice 2 工作日 MAX from Thu 03-12: last day Mon 03-16
    assert timers(view) == [("Boundary_ResultNoticeOverdue", "gp.result_notice", due("2026-03-17T00:00:00"))]
    assert run.task("公告成交结果并发出成交通知书", view)["rule"] == "gp.result_notice"

    run.set_clock("2026-03-16T10:00:00+08:00")
    view = run.complete("公告成交结果并发出成交通知书", "agency", {
        "result_published_on": "2026-03-16", "award_notice_on": "2026-03-16", "award_notice_no": "CJ-001"})
    assert names(view) == ["签订合同"] and run.task("签订合同", view)["role"] == "purchaser"
    # gp.contract 30 日 MAX from Mon 03-16: last day Wed 04-15
    assert timers(view) == [("Boundary_ContractOverdue", "gp.contract", due("2026-04-16T00:00:00"))]

    # late: the non-interrupting timer reminds the finance department; the contract task stays
    view = run.advance("2026-04-16T00:00:01+08:00", "合同签订逾期提醒")
    assert names(view) == ["合同签订逾期提醒", "签订合同"] and view["timers"] == []
    run.complete("签订合同", "purchaser", {"contract_signed_at": "2026-04-16", "contract_no": "HT-GPS-001",
                                       "contract_price": 980_000})
    view = run.complete("合同签订逾期提醒", "supervisor", {"opinion": "已督促采购人签订合同"})
    assert view["status"] == "completed" and view["tasks"] == []

    assert scheduled_rules(run) == {("Timer_PublicityEnd", "gp.single_source_publicity"),
                                    ("Boundary_ResultNoticeOverdue", "gp.result_notice"),
                                    ("Boundary_ContractOverdue", "gp.contract")}
    assert "tender.registered" in [e["type"] for e in run.events()]


def test_single_source_objections_and_refused_approval(run: Run) -> None:
    # an objection found valid: the purchaser must use another method (74号令 40)
    publicity_over(run, "GPS-OBJ-1")
    refused = run.complete("公示期满登记异议", "staff", {"objections_raised": True}, expect=422)
    assert {e["field"] for e in refused["errors"]} == {"/objection_count", "/objection_summary"}
    view = run.complete("公示期满登记异议", "staff", {"objections_raised": True, "objection_count": 1,
                                                 "objection_summary": "另有供应商可提供同类产品"})
    assert names(view) == ["审查公示异议"] and run.task("审查公示异议", view)["role"] == "staff"
    view = run.complete("审查公示异议", "staff", {"objection_upheld": True, "review_opinion": "异议成立，改用竞争性谈判"})
    assert view["status"] == "completed" and view["tasks"] == []

    # an objection not upheld goes on to approval; a refusal ends the single-source procurement
    run.set_clock(START)
    publicity_over(run, "GPS-OBJ-2")
    run.complete("公示期满登记异议", "staff", {"objections_raised": True, "objection_count": 1,
                                          "objection_summary": "质疑拟定供应商的唯一性"})
    view = run.complete("审查公示异议", "staff", {"objection_upheld": False, "review_opinion": "经补充论证异议不成立"})
    assert names(view) == ["审批"]
    view = run.complete("审批", "supervisor", {"approved": False, "approved_on": "2026-03-12",
                                             "approval_opinion": "不符合单一来源采购情形"})
    assert view["status"] == "completed" and view["tasks"] == []


# ------------------------------------------------------------------------------------------------ 竞争性磋商


def test_competitive_consultation_rounds_scoring_and_contract(run: Run) -> None:
    view = start(run, "gp_competitive_consultation", "GPCC-1", CONSULTATION)
    assert names(view) == ["发出磋商文件"] and view["variables"]["committee_rule"] == "gp.committee"

    # gp.consultation_response 10 日 MIN from 03-02: first responses due 03-12 at the earliest
    issue = {"docs_issued_on": "2026-03-02", "invited_count": 3, "invitation_method": "announcement"}
    refused = run.complete("发出磋商文件", "agency", {**issue, "response_deadline": "2026-03-11T09:30:00+08:00"},
                           expect=422)
    assert refused["rule"] == "gp.consultation_response" and refused["citation"] == "财库〔2014〕214号 10"
    assert "2026-03-12" in refused["errors"][0]["message"]
    view = run.complete("发出磋商文件", "agency", {**issue, "response_deadline": "2026-03-12T09:30:00+08:00"})
    assert names(view) == []
    assert timers(view) == [("Timer_ResponseDeadline", "gp.consultation_response", due("2026-03-12T09:30:00"))]
    run.set_clock("2026-03-12T09:29:59+08:00")
    assert names(run.view()) == []
    view = run.advance("2026-03-12T09:30:00+08:00", "抽取磋商小组")

    # the 磋商小组 is drawn by the shared expert service with gp.committee: 7 members for 12,000,000 yuan
    suppliers = [uscc(n) for n in (91, 92, 93)]
    clean = run.add_experts(9)
    run.add_experts(1, employer=suppliers[0])  # a conflict: never drawn
    view = run.complete("抽取磋商小组", "staff", {"expert_specialties": [SPECIALTY], "evaluation_date": "2026-03-12",
                                              "bidder_usccs": suppliers})
    assert view["variables"]["experts_needed"] == 7 and names(view) == ["磋商"]
    assert {m["expert_id"] for m in run.committee()["members"]} == set(clean)  # 7 members and 2 reserves

    # two rounds of 磋商, then the final quotes
    view = run.complete("磋商", "agency", {"round_held_on": "2026-03-12", "responders_count": 3,
                                         "changes_summary": "调整服务响应时间要求", "final_round": False})
    assert names(view) == ["磋商"] and view["variables"]["consultation_rounds"] == 1
    view = run.complete("磋商", "agency", {"round_held_on": "2026-03-12", "responders_count": 3, "final_round": True})
    assert names(view) == ["提交最后报价"] and view["variables"]["consultation_rounds"] == 2
    view = run.complete("提交最后报价", "agency", {"final_quotes_received_on": "2026-03-12", "quotes_count": 3})
    assert names(view) == ["综合评分结束"]

    # comprehensive scoring (综合评分法, price score with the lowest price as base): not the lowest price wins
    members = run.confirm_committee()
    assert len(members) == 7
    offers = {suppliers[0]: (11_000_000, 60), suppliers[1]: (11_500_000, 65), suppliers[2]: (11_800_000, 50)}
    bidders = [{"uscc": org, "price": price} for org, (price, _) in offers.items()]
    refused = run.call("POST", f"/api/v1/trades/{run.id}/evaluation", "staff",
                       {"method": "lowest_evaluated_price", "criteria": [], "bidders": bidders}, expect=422)
    assert "评标办法须与招标文件一致" in refused["message"]
    technical = {**TECHNICAL, "max": 70}
    price = {**PRICE, "max": 30}
    run.call("POST", f"/api/v1/trades/{run.id}/evaluation", "staff",
             {"method": "composite", "base": "lowest", "criteria": [technical, price], "bidders": bidders}, expect=201)
    for expert_id in members:
        run.call("PUT", f"/api/v1/trades/{run.id}/evaluation/scores", run.experts[expert_id], {
            "scores": [{"bidder": org, "criterion": "technical", "score": score} for org, (_, score) in offers.items()]})
    view = run.complete("综合评分结束", "staff", {"report_received_on": "2026-03-12"})
    # totals: 65 + 30*11.0/11.5 = 93.70; 60 + 30 = 90; 50 + 30*11.0/11.8 = 77.97
    assert view["variables"]["candidates"] == [suppliers[1], suppliers[0], suppliers[2]]
    assert names(view) == ["确定成交供应商"] and run.task("确定成交供应商", view)["role"] == "purchaser"
    # gp.decide 5 工作日 MAX from Thu 03-12: last day Thu 03-19
    assert timers(view) == [("Boundary_DecideOverdue", "gp.decide", due("2026-03-20T00:00:00"))]

    # the purchaser decides on Fri 03-13: the first candidate
    run.set_clock("2026-03-13T10:00:00+08:00")
    refused = run.complete("确定成交供应商", "purchaser", {"winner_uscc": suppliers[0], "decided_on": "2026-03-13"},
                           expect=422)
    assert refused["errors"][0]["field"] == "/award_reason"
    view = run.complete("确定成交供应商", "purchaser", {"winner_uscc": suppliers[1], "decided_on": "2026-03-13",
                                                  "award_price": 11_500_000})
    assert names(view) == ["公告成交结果并发出成交通知书"] and view["variables"]["winner_rank"] == 1
    # gp.result_notice 2 工作日 MAX from Fri 03-13: last day Tue 03-17
    assert timers(view) == [("Boundary_ResultNoticeOverdue", "gp.result_notice", due("2026-03-18T00:00:00"))]

    run.set_clock("2026-03-16T10:00:00+08:00")
    view = run.complete("公告成交结果并发出成交通知书", "agency", {
        "result_published_on": "2026-03-16", "award_notice_on": "2026-03-16", "award_notice_no": "CJ-CC-001"})
    assert names(view) == ["签订合同"]
    assert timers(view) == [("Boundary_ContractOverdue", "gp.contract", due("2026-04-16T00:00:00"))]
    run.set_clock("2026-03-20T10:00:00+08:00")
    view = run.complete("签订合同", "purchaser", {"contract_signed_at": "2026-03-20", "contract_no": "HT-CC-001",
                                              "contract_price": 11_500_000})
    assert view["status"] == "completed" and view["tasks"] == [] and view["timers"] == []

    assert scheduled_rules(run) == {("Timer_ResponseDeadline", "gp.consultation_response"),
                                    ("Boundary_DecideOverdue", "gp.decide"),
                                    ("Boundary_ResultNoticeOverdue", "gp.result_notice"),
                                    ("Boundary_ContractOverdue", "gp.contract")}
    types = [e["type"] for e in run.events()]
    for expected in ("tender.registered", "experts.drawn", "evaluation.closed", "tender.winner_decided"):
        assert expected in types
    assert at(run.view()["variables"]["response_deadline"]) == due("2026-03-12T09:30:00")
