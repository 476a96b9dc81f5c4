"""construction_open_tender end to end over HTTP: fake clock, embedded timer worker, the shared trading services.

Dates (2026, Asia/Shanghai) and the rules behind each expected deadline are spelled out where they are used;
the clock starts on Monday 2026-03-02 so that every deadline falls inside the published 2026 calendar.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services import audit
from services.platform import Platform
from tests.e2e.cot_support import (
    BID_DEADLINE,
    PURCHASER,
    REGION,
    SPECIALTY,
    START,
    Run,
    at,
    due,
    names,
    published,
    registered,
    timers,
)


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> Run:
    return Run.started(http, make_user)


# ------------------------------------------------------------------------------------------------ normal path


def test_the_normal_path_from_registration_to_archive(run: Run, platform: Platform) -> None:
    # --- 受理登记: a bond over 2% of the estimate is refused before anything starts (cons.bond_cap)
    refused = run.register("COT-1", expect=422, bond_amount=300_000)
    assert refused["rule"] == "cons.bond_cap"
    view = registered(run, "COT-1")
    assert view["variables"]["trade_code"] == f"{REGION}-G-2026-000001"
    assert names(view) == ["发布招标公告"] and view["timers"] == []

    # --- 发布招标公告: a deadline 19 days after the documents are issued breaks cons.bid_period
    refused = run.publish(bid_deadline="2026-03-21T09:30:00+08:00", expect=422)
    assert refused["rule"] == "cons.bid_period" and "2026-03-22" in refused["errors"][0]["message"]
    published(run)

    # --- 投标: four bidders pay bonds and upload sealed bids; nobody sees the list before the deadline
    bidders = run.bidders_bid(4)
    run.call("GET", f"/api/v1/trades/{run.id}/bids", "staff", expect=409)

    # --- the deadline passes: the worker opens the bids; a bid a second late is refused
    view = run.set_clock_and_wait("2026-03-23T09:30:00+08:00", lambda v: "decrypt_until" in v["variables"])
    assert view["variables"]["bid_count"] == 4 and view["variables"]["opening_valid"] is True
    assert names(view) == []
    # the decryption window is set by the documents (decrypt_minutes), not by a statute: no rule
    assert timers(view) == [("Timer_DecryptUntil", None, at(view["variables"]["decrypt_until"]))]
    assert "已过" in run.bid(run.bidder(), expect=409)["message"]

    # --- decryption, then the committee is drawn: an expert employed by a bidder or the purchaser never sits
    view = run.open_and_decrypt(bidders, bidders)
    assert view["variables"]["decrypted_count"] == 4 and view["variables"]["deposit_ok_count"] == 4
    clean = run.add_experts(7)
    run.add_experts(1, employer=bidders[0].org)
    run.add_experts(1, employer=PURCHASER)
    view = run.complete("抽取评标专家", "staff", {"expert_specialties": [SPECIALTY], "evaluation_date": "2026-03-23"})
    assert names(view) == ["评标结束"]
    drawn = {m["expert_id"] for m in run.committee()["members"]}
    assert drawn == set(clean)  # five members and two reserves, all from the seven without a conflict

    # --- evaluation through the API, then 评标结束 ranks the bidders
    offers = {b.org: (price, technical) for b, price, technical in zip(
        bidders, (9_800_000, 10_000_000, 10_200_000, 11_000_000), (55, 50, 45, 40), strict=True)}
    run.evaluate(offers)
    view = run.complete("评标结束", "staff", {"report_received_on": "2026-03-23"})
    candidates = view["variables"]["candidates"]
    assert candidates == [b.org for b in bidders[:3]]
    # cons.publicity_start 3 日 MAX from 03-23: last day Thu 03-26, so due at 24:00 that day
    publicity = run.task("公示中标候选人", view)
    assert publicity["role"] == "agency" and publicity["rule"] == "cons.publicity_start"
    assert at(publicity["due_at"]) == due("2026-03-27T00:00:00")
    assert timers(view) == [("Boundary_PublicityOverdue", "cons.publicity_start", due("2026-03-27T00:00:00"))]

    # --- publicity from 03-24: cons.publicity_len 3 日 MIN, ends with 03-27
    run.set_clock("2026-03-24T09:00:00+08:00")
    view = run.complete("公示中标候选人", "agency", {"publicity_started_on": "2026-03-24",
                                                 "publicity_media": "浙江省公共资源交易服务平台"})
    assert names(view) == [] and timers(view) == [("Timer_PublicityEnd", "cons.publicity_len", due("2026-03-28T00:00:00"))]
    view = run.advance("2026-03-28T00:00:01+08:00", "确定中标人")

    # --- the purchaser decides on 03-30: the first candidate, or a later one only with a reason (TBR 55)
    run.set_clock("2026-03-30T09:00:00+08:00")
    refused = run.complete("确定中标人", "purchaser", {"winner_uscc": candidates[1], "decided_on": "2026-03-30"},
                           expect=422)
    assert refused["errors"][0]["field"] == "/award_reason"
    view = run.complete("确定中标人", "purchaser", {"winner_uscc": candidates[0], "decided_on": "2026-03-30",
                                                "award_price": 9_800_000})
    assert names(view) == ["发出中标通知书", "向监督部门提交书面报告"]
    # cons.report 15 日 MAX from 03-30: last day Tue 04-14
    assert timers(view) == [("Boundary_ReportOverdue", "cons.report", due("2026-04-15T00:00:00"))]
    assert at(run.task("向监督部门提交书面报告", view)["due_at"]) == due("2026-04-15T00:00:00")

    # --- award notice on 03-30; cons.contract 30 日 MAX: last day Wed 04-29
    view = run.complete("发出中标通知书", "agency", {"award_notice_on": "2026-03-30", "award_notice_no": "ZB-001"})
    assert names(view) == ["向监督部门提交书面报告", "签订合同"]
    assert ("Boundary_ContractOverdue", "cons.contract", due("2026-04-30T00:00:00")) in timers(view)

    # --- contract on 04-10: all bonds are due back with interest within 5 日 (cons.bond_refund): by 04-15
    run.set_clock("2026-04-10T10:00:00+08:00")
    view = run.complete("签订合同", "purchaser", {"contract_signed_at": "2026-04-10", "contract_no": "HT-001",
                                              "contract_price": 9_800_000})
    assert view["variables"]["refunds_due_at"] == "2026-04-16T00:00:00+08:00"
    assert names(view) == ["向监督部门提交书面报告", "退还投标保证金"]
    assert run.task("退还投标保证金", view)["rule"] == "cons.bond_refund"
    assert sorted(timers(view)) == [("Boundary_RefundOverdue", "cons.bond_refund", due("2026-04-16T00:00:00")),
                                    ("Boundary_ReportOverdue", "cons.report", due("2026-04-15T00:00:00"))]
    for deposit in run.call("GET", f"/api/v1/trades/{run.id}/deposits", "staff"):
        if deposit["status"] == "refund_due":
            run.call("POST", f"/api/v1/trades/{run.id}/deposits/{deposit['id']}/refund", "staff",
                     {"bank_reference": f"RF-{deposit['id']}"})
    view = run.complete("退还投标保证金", "staff", {"refunds_completed_on": "2026-04-10"})
    assert names(view) == ["向监督部门提交书面报告"]

    # --- the report is late: the non-interrupting timer reminds the supervisor, the report task stays
    view = run.advance("2026-04-15T00:00:01+08:00", "书面报告逾期提醒")
    assert names(view) == ["书面报告逾期提醒", "向监督部门提交书面报告"] and view["timers"] == []
    run.complete("向监督部门提交书面报告", "purchaser", {"report_submitted_on": "2026-04-15",
                                                   "supervisor_department": "杭州市住房和城乡建设局"})
    view = run.complete("书面报告逾期提醒", "supervisor", {"opinion": "已督促招标人提交书面报告"})
    assert names(view) == ["归档"]
    view = run.complete("归档", "staff", {"archive_no": "GD-2026-0001", "archived_on": "2026-04-15"})
    assert view["status"] == "completed" and view["tasks"] == [] and view["timers"] == []

    # --- every deadline of the run was a timer with its statutory rule
    scheduled = {(e["data"]["element_id"], e["data"]["rule"]) for e in run.events("timer.scheduled")}
    assert scheduled == {
        ("Boundary_BidDeadline", "cons.bid_period"), ("Timer_DecryptUntil", None),
        ("Boundary_PublicityOverdue", "cons.publicity_start"), ("Timer_PublicityEnd", "cons.publicity_len"),
        ("Boundary_ReportOverdue", "cons.report"), ("Boundary_ContractOverdue", "cons.contract"),
        ("Boundary_RefundOverdue", "cons.bond_refund")}
    types = [e["type"] for e in run.events()]
    for expected in ("tender.registered", "bids.opened", "bids.decryption_closed", "experts.drawn",
                     "evaluation.closed", "tender.winner_decided", "deposits.refunds_scheduled"):
        assert expected in types
    with platform.db.sessions() as session:
        checked, broken = audit.verify(session, run.id)
    assert broken is None and checked == len(types)


# ------------------------------------------------------------------------------------------------ branches


def test_prequalification_branch(run: Run) -> None:
    view = registered(run, "COT-PQ-1", prequalification=True)
    assert names(view) == ["发布资格预审公告"]
    notice = {"prequal_notice_published_on": "2026-03-02", "prequal_docs_issued_on": "2026-03-02",
              "prequal_docs_end": "2026-03-07"}
    # cons.prequal_submit 5 日 MIN from the day the documents stop (03-07): applications due 03-12 at the earliest
    refused = run.complete("发布资格预审公告", "agency", {**notice, "prequal_deadline": "2026-03-11T17:00:00+08:00"},
                           expect=422)
    assert refused["rule"] == "cons.prequal_submit" and refused["citation"] == "TBR 17"
    view = run.complete("发布资格预审公告", "agency", {**notice, "prequal_deadline": "2026-03-12T17:00:00+08:00"})
    assert names(view) == []
    assert timers(view) == [("Timer_PrequalDeadline", "cons.prequal_submit", due("2026-03-12T17:00:00"))]

    view = run.advance("2026-03-12T17:00:01+08:00", "资格预审评审")
    assert run.task("资格预审评审", view)["role"] == "agency"
    qualified, outsider = [run.bidder() for _ in range(4)], run.bidder()
    view = run.complete("资格预审评审", "agency", {"applicants_count": 6, "qualified_count": 4,
                                             "qualified_usccs": [b.org for b in qualified],
                                             "results_notified_on": "2026-03-13"})
    assert view["variables"]["prequal_passed"] is True and names(view) == ["发布招标公告"]
    # invitations from 03-13: cons.bid_period needs the deadline on 04-02 or later
    run.set_clock("2026-03-13T09:00:00+08:00")
    refused = run.publish(docs_issued_on="2026-03-13", doc_sale_end="2026-03-18",
                          bid_deadline="2026-04-01T09:30:00+08:00", expect=422)
    assert refused["rule"] == "cons.bid_period"
    view = run.publish(docs_issued_on="2026-03-13", doc_sale_end="2026-03-18", bid_deadline="2026-04-02T09:30:00+08:00")
    assert timers(view) == [("Boundary_BidDeadline", "cons.bid_period", due("2026-04-02T09:30:00"))]
    # only applicants that passed prequalification may bid (TBR 19)
    run.set_clock("2026-03-20T10:00:00+08:00")
    refused = run.bid(outsider, expect=403)
    assert "未通过资格预审" in refused["message"]
    run.bid(qualified[0])

    # fewer than three qualified applicants: the tender starts again (TBR 19)
    run.set_clock(START)
    registered(run, "COT-PQ-2", prequalification=True)
    run.complete("发布资格预审公告", "agency", {**notice, "prequal_deadline": "2026-03-12T17:00:00+08:00"})
    run.advance("2026-03-12T17:00:01+08:00", "资格预审评审")
    view = run.complete("资格预审评审", "agency", {"applicants_count": 3, "qualified_count": 2,
                                             "results_notified_on": "2026-03-13"})
    assert view["variables"]["prequal_passed"] is False and names(view) == ["招标失败，重新招标"]


def test_too_few_bidders_no_opening_and_retender(run: Run) -> None:
    registered(run, "COT-FEW")
    published(run)
    run.bidders_bid(2)
    # a third bidder bids, then withdraws a second before the deadline: only bids in force count
    third = run.bidder()
    run.bid(third)
    run.set_clock("2026-03-23T09:29:59+08:00")
    run.call("DELETE", f"/api/v1/trades/{run.id}/bids", {**third.headers, "X-Device-Fingerprint": "fp-cot"})
    # nothing more to clarify: the process just waits for the deadline
    view = run.complete("招标文件澄清与异议处理", "agency", {"action": "none"})
    assert names(view) == [] and timers(view) == [("Timer_WaitDeadline", "cons.bid_period", at(BID_DEADLINE))]

    view = run.set_clock_and_wait("2026-03-23T09:30:00+08:00", lambda v: "bid_count" in v["variables"])
    # cons.min_bidders: fewer than three bids at the deadline, no opening (TBL 28, TBR 44)
    assert view["variables"]["bid_count"] == 2 and view["variables"]["opening_valid"] is False
    assert view["variables"]["decrypt_until"] is None
    assert names(view) == ["招标失败，重新招标"] and view["timers"] == []
    [opened] = run.events("bids.opened")
    assert opened["data"]["rule"] == "cons.min_bidders" and opened["data"]["opening_valid"] is False
    view = run.complete("招标失败，重新招标", "staff", {"failure_reason": "投标人少于3个，依法重新招标"})
    assert view["status"] == "completed"


# ------------------------------------------------------------------------------------------------ the bid period


def test_a_late_clarification_postpones_the_bid_deadline(run: Run) -> None:
    registered(run, "COT-CL")
    published(run)

    # issued 03-05: cons.clarify_bid 15 日 MIN needs the deadline on 03-20 or later; 03-23 stands
    run.set_clock("2026-03-05T10:00:00+08:00")
    view = run.complete("招标文件澄清与异议处理", "agency", {
        "action": "clarify", "clarification_issued_on": "2026-03-05", "clarification_summary": "更正工程量清单第3项"})
    assert view["variables"]["deadline_postponed"] is False and view["variables"]["bid_deadline"] == BID_DEADLINE
    assert timers(view) == [("Boundary_BidDeadline", "cons.bid_period", at(BID_DEADLINE))]

    # issued 03-12: the deadline must move to 03-27 at the earliest; a deadline asked for earlier is refused
    run.set_clock("2026-03-12T10:00:00+08:00")
    clarify = {"action": "clarify", "clarification_issued_on": "2026-03-12", "clarification_summary": "修改技术标准"}
    refused = run.complete("招标文件澄清与异议处理", "agency",
                           {**clarify, "new_bid_deadline": "2026-03-26T09:30:00+08:00"}, expect=422)
    assert refused["rule"] == "cons.clarify_bid" and "2026-03-27" in refused["errors"][0]["message"]
    view = run.complete("招标文件澄清与异议处理", "agency", clarify)
    variables = view["variables"]
    assert variables["deadline_postponed"] is True and variables["clarification_count"] == 2
    assert variables["bid_deadline"] == "2026-03-27T09:30:00+08:00"  # the time of day is kept
    assert variables["previous_bid_deadline"] == BID_DEADLINE
    assert names(view) == ["招标文件澄清与异议处理"]
    assert timers(view) == [("Boundary_BidDeadline", "cons.bid_period", due("2026-03-27T09:30:00"))]
    notices = run.events("tender.clarified")
    assert [e["data"]["deadline_postponed"] for e in notices] == [False, True]

    # the old deadline has passed, the new one not: a bid is still accepted and nothing opens
    run.set_clock("2026-03-24T10:00:00+08:00")
    bidder = run.bidder()
    run.pay_bond(bidder)
    run.bid(bidder)
    mine = run.call("GET", f"/api/v1/trades/{run.id}/bids/mine", bidder.headers)
    assert at(mine["bid_deadline"]) == due("2026-03-27T09:30:00")
    assert names(run.view()) == ["招标文件澄清与异议处理"]

    # the bids open at the postponed deadline (one bid: no opening)
    view = run.set_clock_and_wait("2026-03-27T09:30:00+08:00", lambda v: "bid_count" in v["variables"])
    assert at(view["variables"]["bid_opened_at"]) >= due("2026-03-27T09:30:00")
    assert view["variables"]["bid_count"] == 1 and names(view) == ["招标失败，重新招标"]


def test_an_objection_pauses_the_bid_period_until_it_is_answered(run: Run) -> None:
    registered(run, "COT-OB")
    published(run)
    bid_period = [("Boundary_BidDeadline", "cons.bid_period", at(BID_DEADLINE))]

    # received 03-05 (more than 10 日 before the deadline): admissible; cons.objection_reply 3 日 MAX ends on
    # Sunday 03-08, so on the next working day, Monday 03-09
    run.set_clock("2026-03-05T10:00:00+08:00")
    objection = {"action": "objection", "objector": "浙江某建设集团有限公司", "objection_summary": "资格条件设置不合理"}
    view = run.complete("招标文件澄清与异议处理", "agency", {**objection, "objection_received_on": "2026-03-05"})
    assert view["variables"]["objection_admissible"] is True
    assert names(view) == ["答复异议"]  # the bid-period task and its deadline timer are gone meanwhile
    reply = run.task("答复异议", view)
    assert reply["rule"] == "cons.objection_reply" and at(reply["due_at"]) == due("2026-03-10T00:00:00")
    assert timers(view) == [("Boundary_ObjectionOverdue", "cons.objection_reply", due("2026-03-10T00:00:00"))]
    # the reply amends the documents on 03-06: 15 日 before the deadline is still kept (03-21 <= 03-23)
    run.set_clock("2026-03-06T10:00:00+08:00")
    view = run.complete("答复异议", "agency", {
        "reply_content": "调整资格条件", "replied_on": "2026-03-06", "amends_documents": True,
        "clarification_issued_on": "2026-03-06", "clarification_summary": "修改投标人资格要求第2条"})
    assert names(view) == ["招标文件澄清与异议处理"] and timers(view) == bid_period
    assert [e["data"]["deadline_postponed"] for e in run.events("tender.clarified")] == [False]

    # received 03-10, never answered: past 24:00 of Friday 03-13 the staff supervise, then the activity resumes
    run.set_clock("2026-03-10T10:00:00+08:00")
    view = run.complete("招标文件澄清与异议处理", "agency", {**objection, "objection_received_on": "2026-03-10"})
    assert timers(view) == [("Boundary_ObjectionOverdue", "cons.objection_reply", due("2026-03-14T00:00:00"))]
    view = run.advance("2026-03-14T00:00:01+08:00", "异议答复督办")
    assert names(view) == ["异议答复督办"] and view["timers"] == []
    view = run.complete("异议答复督办", "staff", {"opinion": "已督促招标人答复异议并报行政监督部门"})
    assert names(view) == ["招标文件澄清与异议处理"] and timers(view) == bid_period

    # received 03-15, less than 10 日 before the deadline (cons.objection_doc): not admitted, no pause
    run.set_clock("2026-03-15T10:00:00+08:00")
    view = run.complete("招标文件澄清与异议处理", "agency", {**objection, "objection_received_on": "2026-03-15"})
    assert view["variables"]["objection_admissible"] is False
    assert names(view) == ["招标文件澄清与异议处理"] and timers(view) == bid_period
    received = run.events("tender.objection_received")
    assert [e["data"]["admissible"] for e in received] == [True, True, False]
    assert received[-1]["data"]["rule"] == "cons.objection_doc"
    assert [e["data"]["element_id"] for e in run.events("timer.fired")] == ["Boundary_ObjectionOverdue"]


# ------------------------------------------------------------------------------------------------ opening and experts


def test_a_bid_not_decrypted_is_excluded_and_too_little_competition_ends_in_retender(run: Run) -> None:
    registered(run, "COT-DEC")
    published(run)
    bidders = run.bidders_bid(3)
    view = run.open_and_decrypt(bidders, bidders[:2])
    # 电子招标投标办法 31: the bid not decrypted in time is treated as withdrawn; evaluation goes on with two
    assert view["variables"]["decrypted_count"] == 2 and view["variables"]["not_decrypted_count"] == 1
    assert view["variables"]["enough_bidders_after_decryption"] is False
    assert run.decrypt(bidders[2], expect=409)["error"]
    listing = run.call("GET", f"/api/v1/trades/{run.id}/bids", "staff")
    assert {b["bidder_org"]: b["status"] for b in listing["bids"]} == {
        bidders[0].org: "decrypted", bidders[1].org: "decrypted", bidders[2].org: "not_decrypted"}

    run.add_experts(5)
    run.complete("抽取评标专家", "staff", {"expert_specialties": [SPECIALTY], "evaluation_date": "2026-03-23"})
    run.confirm_committee()
    excluded = run.call("POST", f"/api/v1/trades/{run.id}/evaluation", "staff", {
        "method": "composite", "criteria": [{"key": "technical", "kind": "technical", "max": 60}],
        "bidders": [{"uscc": b.org, "price": 10_000_000} for b in bidders]}, expect=422)
    assert bidders[2].org in excluded["message"]
    # fewer than three valid bids: the committee may reject all for lack of competition; the tender starts again
    view = run.complete("评标结束", "staff", {"report_received_on": "2026-03-23", "reject_all": True,
                                          "reject_reason": "有效投标不足3个，明显缺乏竞争"})
    assert names(view) == ["招标失败，重新招标"]
    view = run.complete("招标失败，重新招标", "staff", {"failure_reason": "所有投标被否决，依法重新招标"})
    assert view["status"] == "completed"


def test_an_expert_employed_by_a_bidder_or_the_purchaser_is_never_drawn(run: Run) -> None:
    registered(run, "COT-EX")
    published(run)
    bidders = run.bidders_bid(3)
    run.open_and_decrypt(bidders, bidders)
    clean = run.add_experts(5)
    conflicted = [*run.add_experts(2, employer=bidders[0].org), *run.add_experts(1, employer=bidders[2].org),
                  *run.add_experts(1, employer=PURCHASER)]

    # seven experts would need conflicted ones: the draw is refused and the task stays open
    asked = {"expert_specialties": [SPECIALTY], "evaluation_date": "2026-03-23"}
    refused = run.complete("抽取评标专家", "staff", {**asked, "committee_size": 7}, expect=422)
    assert "不足" in refused["message"]
    assert names(run.view()) == ["抽取评标专家"]

    view = run.complete("抽取评标专家", "staff", asked)
    committee = run.committee()
    assert {m["expert_id"] for m in committee["members"]} == set(clean)
    assert not {m["employer_uscc"] for m in committee["members"]} & {*(b.org for b in bidders), PURCHASER}
    [drawn] = run.events("experts.drawn")
    assert drawn["data"]["filtered_count"] == len(clean) + len(conflicted)
    assert drawn["data"]["candidate_count"] == len(clean)
    assert view["variables"]["experts_needed"] == 5
    # the draw can be replayed from its audited seed
    replay = run.call("POST", f"/api/v1/experts/draws/{view['variables']['draw_id']}/replay", "supervisor")
    assert replay["matches"] is True


def test_no_bid_decrypted_means_nothing_to_evaluate(run: Run) -> None:
    registered(run, "COT-NODEC")
    published(run)
    bidders = run.bidders_bid(3)
    view = run.set_clock_and_wait("2026-03-23T09:30:00+08:00", lambda v: "decrypt_until" in v["variables"])
    until = at(view["variables"]["decrypt_until"])
    view = run.advance(until.isoformat(), "招标失败，重新招标")
    assert view["variables"]["decrypted_count"] == 0 and view["variables"]["not_decrypted_count"] == len(bidders)


# ------------------------------------------------------------------------------------------------ after the award


def test_missed_deadlines_after_evaluation_remind_the_supervisor_and_raise_alerts(run: Run) -> None:
    view, bidders = run.through_evaluation("COT-LATE")
    assert names(view) == ["公示中标候选人"]

    # publicity not started by 24:00 of 03-26 (cons.publicity_start): the supervisor is reminded
    view = run.advance("2026-03-27T00:00:01+08:00", "中标候选人公示逾期提醒")
    assert names(view) == ["中标候选人公示逾期提醒", "公示中标候选人"] and view["timers"] == []
    run.complete("中标候选人公示逾期提醒", "supervisor", {"opinion": "已督促代理机构公示"})
    view = run.complete("公示中标候选人", "agency", {"publicity_started_on": "2026-03-27", "publicity_media": "交易平台"})
    # cons.publicity_len 3 日 from 03-27: 03-30
    assert timers(view) == [("Timer_PublicityEnd", "cons.publicity_len", due("2026-03-31T00:00:00"))]
    run.advance("2026-03-31T00:00:01+08:00", "确定中标人")
    run.set_clock("2026-03-31T09:00:00+08:00")
    run.complete("确定中标人", "purchaser", {"winner_uscc": bidders[0].org, "decided_on": "2026-03-31"})
    run.complete("向监督部门提交书面报告", "purchaser", {"report_submitted_on": "2026-03-31",
                                                   "supervisor_department": "杭州市住房和城乡建设局"})
    view = run.complete("发出中标通知书", "agency", {"award_notice_on": "2026-03-31"})
    assert timers(view) == [("Boundary_ContractOverdue", "cons.contract", due("2026-05-01T00:00:00"))]

    # no contract 30 日 after the award notice (cons.contract, last day Thu 04-30): the supervisor is reminded
    view = run.advance("2026-05-01T00:00:01+08:00", "合同签订逾期提醒")
    assert names(view) == ["合同签订逾期提醒", "签订合同"]
    run.complete("合同签订逾期提醒", "supervisor", {"opinion": "已约谈招标人"})

    # signed on 05-06: bonds due back by Mon 05-11 (cons.bond_refund); nobody refunds in time
    run.set_clock("2026-05-06T10:00:00+08:00")
    view = run.complete("签订合同", "purchaser", {"contract_signed_at": "2026-05-06"})
    assert timers(view) == [("Boundary_RefundOverdue", "cons.bond_refund", due("2026-05-12T00:00:00"))]
    run.set_clock("2026-05-12T00:00:01+08:00")
    view = run.wait_for(lambda v: v["timers"] == [])
    assert view["variables"]["overdue_refund_count"] == len(bidders)
    assert names(view) == ["退还投标保证金"]  # the task stays: the money still has to go back
    # the supervision checks raise alerts of their own on this trade (collusion screening, overdue tasks)
    alerts = run.call("GET", f"/api/v1/alerts?instance_id={run.id}&kind=deposit_refund_overdue", "supervisor")
    assert sorted(a["subject"] for a in alerts) == sorted(b.org for b in bidders)
    assert {a["rule"] for a in alerts} == {"cons.bond_refund"}

    for deposit in run.call("GET", f"/api/v1/trades/{run.id}/deposits", "staff"):
        refunded = run.call("POST", f"/api/v1/trades/{run.id}/deposits/{deposit['id']}/refund", "staff",
                            {"bank_reference": f"RF-{deposit['id']}"})
        assert refunded["refund"]["late"] is True
    run.complete("退还投标保证金", "staff", {"refunds_completed_on": "2026-05-12", "remarks": "逾期退还，已加计利息"})
    view = run.complete("归档", "staff", {"archive_no": "GD-2026-0002", "archived_on": "2026-05-12"})
    assert view["status"] == "completed"
    fired = {(e["data"]["element_id"], e["data"]["rule"]) for e in run.events("timer.fired")}
    assert fired >= {("Boundary_PublicityOverdue", "cons.publicity_start"), ("Boundary_ContractOverdue", "cons.contract"),
                     ("Boundary_RefundOverdue", "cons.bond_refund")}
