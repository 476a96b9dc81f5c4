"""gp_open_tender (政府采购公开招标) end to end over HTTP: fake clock, embedded timer worker, shared trading services.

The clock starts on Monday 2026-03-02; the rule behind each expected deadline is spelled out where it is used.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services import audit
from services.platform import Platform
from tests.e2e.cot_support import REGION, SPECIALTY, at, due, names, timers
from tests.e2e.gpo_support import BID_DEADLINE, GpRun, registered


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> GpRun:
    return GpRun.started(http, make_user)


def test_the_normal_path_with_a_seven_member_committee_and_a_lapsed_decision(run: GpRun, platform: Platform) -> None:
    # --- 登记: a bond over 2% of the budget is refused (gp.bond_cap)
    refused = run.register("GPO-1", expect=422, bond_amount=250_000)
    assert refused["rule"] == "gp.bond_cap"
    view = registered(run, "GPO-1")
    assert view["variables"]["trade_code"] == f"{REGION}-Z-2026-000001" and view["timers"] == []

    # --- 发布采购公告: 19 days from the documents to the deadline breaks gp.bid_period (20 日)
    refused = run.publish(bid_deadline="2026-03-21T09:30:00+08:00", expect=422)
    assert refused["rule"] == "gp.bid_period"
    # documents provided for 4 working days only (03-02 … 03-06) break gp.doc_provision (5 工作日)
    refused = run.publish(doc_sale_end="2026-03-06", expect=422)
    assert refused["rule"] == "gp.doc_provision"
    # an announcement of 4 working days breaks gp.tender_notice (5 工作日)
    refused = run.publish(notice_end="2026-03-06", expect=422)
    assert refused["rule"] == "gp.tender_notice"
    view = run.publish()
    assert names(view) == ["招标文件澄清或修改"]
    assert timers(view) == [("Boundary_BidDeadline", "gp.bid_period", at(BID_DEADLINE))]

    # --- a clarification on 03-10 is 13 days before the deadline: gp.clarify (15 日) postpones it to 03-25
    run.set_clock("2026-03-10T09:00:00+08:00")
    view = run.complete("招标文件澄清或修改", "agency", {
        "action": "clarify", "clarification_issued_on": "2026-03-10", "clarification_summary": "修改技术参数"})
    assert view["variables"]["deadline_postponed"] is True
    deadline = "2026-03-25T09:30:00+08:00"
    assert timers(view) == [("Boundary_BidDeadline", "gp.bid_period", at(deadline))]
    [clarified] = run.events("tender.clarified")
    assert clarified["data"]["rule"] == "gp.clarify"

    # --- four suppliers pay their bonds and bid; the deadline opens the bids, all decrypt
    bidders = run.bidders_bid(4, when="2026-03-11T10:00:00+08:00")
    view = run.open_and_decrypt_at(deadline, bidders)
    assert view["variables"]["bid_count"] == 4 and view["variables"]["min_bidders"] == 3
    assert view["variables"]["decrypted_count"] == 4 and view["variables"]["deposit_ok_count"] == 4

    # --- budget ≥ 10,000,000: gp.committee asks for 7 members (plus 2 reserves)
    clean = run.add_experts(9)
    view = run.complete("抽取评审专家", "staff", {"expert_specialties": [SPECIALTY], "evaluation_date": "2026-03-25"})
    assert view["variables"]["experts_needed"] == 7 and names(view) == ["评审结束"]
    committee = run.committee()
    assert {m["expert_id"] for m in committee["members"]} == set(clean)
    assert sum(1 for m in committee["members"] if m["status"] == "pending") == 7
    [drawn] = run.events("experts.drawn")
    assert drawn["data"]["needed"] == 7

    # --- 综合评分法 through the API; 评审结束 ranks the suppliers
    offers = {b.org: (price, technical) for b, price, technical in zip(
        bidders, (9_800_000, 10_000_000, 10_200_000, 11_000_000), (60, 55, 50, 40), strict=True)}
    members = run.evaluate_composite(offers)
    assert len(members) == 7
    view = run.complete("评审结束", "staff", {"evaluation_ended_on": "2026-03-25"})
    candidates = view["variables"]["candidates"]
    assert candidates == [b.org for b in bidders[:3]]
    # gp.report 2 工作日 MAX from Wed 03-25: last day Fri 03-27
    report = run.task("提交评审报告", view)
    assert report["role"] == "agency" and report["rule"] == "gp.report"
    assert timers(view) == [("Boundary_ReportOverdue", "gp.report", due("2026-03-28T00:00:00"))]

    # --- the purchaser receives the report on 03-26 and lets gp.decide (5 工作日) lapse: 03-27 … 04-02
    run.set_clock("2026-03-26T09:00:00+08:00")
    view = run.complete("提交评审报告", "agency", {"report_received_on": "2026-03-26", "report_no": "PSBG-001"})
    decide = run.task("确定中标人", view)
    assert decide["role"] == "purchaser" and decide["rule"] == "gp.decide"
    assert timers(view) == [("Boundary_DecideLapsed", "gp.decide", due("2026-04-03T00:00:00"))]
    run.set_clock("2026-04-03T00:00:01+08:00")
    view = run.wait_for(lambda v: "发布中标公告并发出中标通知书" in names(v) and "award_deemed" in v["variables"])
    assert view["variables"]["winner_uscc"] == candidates[0] and view["variables"]["award_deemed"] is True
    assert view["variables"]["decided_on"] == "2026-04-03"
    [decided] = run.events("tender.winner_decided")
    assert decided["data"]["deemed"] is True and decided["data"]["rule"] == "gp.decide"
    # gp.result_notice 2 工作日 MAX from Fri 04-03; 04-04 … 04-06 are the 清明 holiday: last day Wed 04-08
    assert run.task("发布中标公告并发出中标通知书", view)["rule"] == "gp.result_notice"
    assert timers(view) == [("Boundary_ResultNoticeOverdue", "gp.result_notice", due("2026-04-09T00:00:00"))]

    # --- result announced and notice sent on 04-03: the losers' bonds are due back (gp.bond_refund 5 工作日)
    run.set_clock("2026-04-03T09:00:00+08:00")
    view = run.complete("发布中标公告并发出中标通知书", "agency", {
        "result_published_on": "2026-04-03", "award_notice_at": "2026-04-03", "award_notice_no": "ZB-001"})
    deposits = {d["bidder_uscc"]: d for d in run.call("GET", f"/api/v1/trades/{run.id}/deposits", "staff")}
    assert deposits[candidates[0]]["status"] == "held"
    assert {d["status"] for org, d in deposits.items() if org != candidates[0]} == {"refund_due"}
    # 5 工作日 from Fri 04-03 (清明 04-04 … 04-06): 04-07 … 04-13
    assert {d["refund_due_at"] for org, d in deposits.items() if org != candidates[0]} == {"2026-04-14T00:00:00+08:00"}
    [losers] = run.events("deposits.refunds_scheduled")
    assert (losers["data"]["rule"], losers["data"]["event"]) == ("gp.bond_refund", "award_notice")
    # gp.result_notice_len 1 工作日 MIN from 04-03: the announcement runs through Tue 04-07
    assert names(view) == []
    assert timers(view) == [("Timer_ResultNoticeEnd", "gp.result_notice_len", due("2026-04-08T00:00:00"))]
    view = run.advance("2026-04-08T00:00:01+08:00", "签订政府采购合同")
    # gp.contract 30 日 MAX from 04-03
    contract = run.task("签订政府采购合同", view)
    assert contract["role"] == "purchaser" and contract["rule"] == "gp.contract"
    [(element, rule, contract_due)] = timers(view)
    assert (element, rule) == ("Boundary_ContractOverdue", "gp.contract") and contract_due >= due("2026-05-04T00:00:00")

    # --- the contract on 04-10 releases the winner's bond; notice (2 工作日) and filing (7 工作日) follow
    run.set_clock("2026-04-10T10:00:00+08:00")
    view = run.complete("签订政府采购合同", "purchaser", {"contract_signed_at": "2026-04-10", "contract_no": "HT-001",
                                                      "contract_price": 9_800_000})
    deposits = {d["bidder_uscc"]: d for d in run.call("GET", f"/api/v1/trades/{run.id}/deposits", "staff")}
    assert deposits[candidates[0]]["status"] == "refund_due"
    assert deposits[candidates[0]]["refund_due_at"] == "2026-04-18T00:00:00+08:00"  # 5 工作日: 04-13 … 04-17
    assert run.events("deposits.refunds_scheduled")[-1]["data"]["event"] == "contract_signed"
    assert names(view) == ["合同公告", "合同备案"]
    assert run.task("合同公告", view)["role"] == "purchaser" and run.task("合同备案", view)["role"] == "purchaser"
    # Fri 04-10: notice by Tue 04-14, filing by Tue 04-21
    assert sorted(timers(view)) == [
        ("Boundary_ContractFilingOverdue", "gp.contract_filing", due("2026-04-22T00:00:00")),
        ("Boundary_ContractNoticeOverdue", "gp.contract_notice", due("2026-04-15T00:00:00"))]
    run.complete("合同公告", "purchaser", {"contract_published_on": "2026-04-13", "media": "中国政府采购网"})
    view = run.complete("合同备案", "purchaser", {"filed_on": "2026-04-14", "finance_department": "杭州市财政局"})
    assert names(view) == ["归档"] and view["timers"] == []
    view = run.complete("归档", "staff", {"archive_no": "GD-2026-0001", "archived_on": "2026-04-15"})
    assert view["status"] == "completed" and view["tasks"] == [] and view["timers"] == []

    # --- every deadline of the run was a timer with its gp.* rule (the decryption window is set by the documents)
    scheduled = {(e["data"]["element_id"], e["data"]["rule"]) for e in run.events("timer.scheduled")}
    assert scheduled == {
        ("Boundary_BidDeadline", "gp.bid_period"), ("Timer_DecryptUntil", None),
        ("Boundary_ReportOverdue", "gp.report"), ("Boundary_DecideLapsed", "gp.decide"),
        ("Boundary_ResultNoticeOverdue", "gp.result_notice"), ("Timer_ResultNoticeEnd", "gp.result_notice_len"),
        ("Boundary_ContractOverdue", "gp.contract"), ("Boundary_ContractNoticeOverdue", "gp.contract_notice"),
        ("Boundary_ContractFilingOverdue", "gp.contract_filing")}
    types = [e["type"] for e in run.events()]
    for expected in ("tender.registered", "tender.clarified", "bids.opened", "bids.decryption_closed",
                     "experts.drawn", "evaluation.closed", "tender.winner_decided", "deposits.refunds_scheduled"):
        assert expected in types
    with platform.db.sessions() as session:
        checked, broken = audit.verify(session, run.id)
    assert broken is None and checked == len(types)


def test_too_few_bidders_fails_the_procurement(run: GpRun) -> None:
    registered(run, "GPO-FEW")
    run.publish()
    run.complete("招标文件澄清或修改", "agency", {"action": "none"})
    run.bidders_bid(2)
    # gp.min_bidders: two bids at the deadline, the bids are not opened
    view = run.set_clock_and_wait(BID_DEADLINE, lambda v: "采购失败，重新组织采购" in names(v)
                                                         and "bid_count" in v["variables"])
    assert view["variables"]["bid_count"] == 2 and view["variables"]["opening_valid"] is False
    assert view["variables"]["decrypt_until"] is None and view["timers"] == []
    [opened] = run.events("bids.opened")
    assert opened["data"]["rule"] == "gp.min_bidders" and opened["data"]["opening_valid"] is False
    view = run.complete("采购失败，重新组织采购", "staff", {"failure_reason": "提交投标文件的供应商不足3家，采购失败"})
    assert view["status"] == "completed" and view["tasks"] == []
    assert "experts.drawn" not in [e["type"] for e in run.events()]
