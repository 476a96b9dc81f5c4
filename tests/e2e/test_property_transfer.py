"""property_transfer (企业国有产权转让, 32号令) end to end over HTTP with the fake clock and the embedded timer worker."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.e2e.cot_support import at, due, names
from tests.e2e.property_support import TRANSFER, PropertyRun, near, notice, rules_of

PROCESS = "property_transfer"


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> PropertyRun:
    return PropertyRun.begun(http, make_user)


def disclosed(run: PropertyRun, key: str, **changes: Any) -> dict[str, Any]:
    """Register (no change of control) and disclose from Mon 03-02 to Mon 03-30 at the appraisal value."""
    view = run.start(PROCESS, key, {**TRANSFER, **changes})
    assert names(view) == ["发布正式信息披露"] and run.task("发布正式信息披露", view)["role"] == "staff"
    disclosure = notice("杭州某机械制造有限公司40%股权转让公告", disclosed_on="2026-03-02",
                        transferee_conditions="依法设立并有效存续的企业法人")
    # prop.disclosure 20 工作日 MIN from 03-02: the disclosure may end on 03-30 at the earliest
    refused = run.complete("发布正式信息披露", "staff", {**disclosure, "disclosure_end": "2026-03-27",
                                                    "listing_price": 10_000_000}, expect=422)
    assert refused["rule"] == "prop.disclosure" and refused["citation"] == "32号令 13"
    assert "2026-03-30" in refused["errors"][0]["message"]
    # the first disclosure may not list below the appraisal value
    refused = run.complete("发布正式信息披露", "staff", {**disclosure, "disclosure_end": "2026-03-30",
                                                    "listing_price": 9_999_999}, expect=422)
    assert "评估结果" in refused["message"]
    view = run.complete("发布正式信息披露", "staff", {**disclosure, "disclosure_end": "2026-03-30",
                                                 "listing_price": 10_000_000})
    assert view["variables"]["listing_price"] == "10000000.00"
    assert rules_of(view) == [("Timer_DisclosureEnd", "prop.disclosure")]
    assert at(view["timers"][0]["due_at"]) == due("2026-03-31T00:00:00")
    return view


def qualified(run: PropertyRun, when: str, count: int) -> dict[str, Any]:
    """At disclosure end staff confirm the transferees; the gateway counts the qualified ones."""
    view = run.advance(when, "确认意向受让方资格")
    view = run.complete("确认意向受让方资格", "staff", {"checked_on": when[:10]})
    assert view["variables"]["qualified_count"] == count
    return view


def test_redisclosure_below_ninety_percent_needs_the_approving_body(run: PropertyRun) -> None:
    disclosed(run, "PRT-REDISCLOSE")
    view = qualified(run, "2026-03-31T00:00:01+08:00", 0)
    assert names(view) == ["未征集到合格受让方的处理"]
    assert run.task("未征集到合格受让方的处理", view)["role"] == "purchaser"

    # 9,500,000 is 95% of the appraisal: a lower price needs no approval
    view = run.complete("未征集到合格受让方的处理", "purchaser", {
        "no_transferee_decision": "redisclose", "new_listing_price": 9_500_000})
    assert view["variables"]["listing_price"] == "9500000.00" and view["variables"]["disclosure_round"] == 2
    assert names(view) == ["发布降价后的重新披露"]
    # prop.redisclosure 20 工作日 MIN from Tue 03-31 (清明 04-06 is a holiday): 04-29 at the earliest
    refused = run.complete("发布降价后的重新披露", "staff", notice(
        "股权转让重新披露公告", redisclosed_on="2026-03-31", disclosure_end="2026-04-28"), expect=422)
    assert refused["rule"] == "prop.redisclosure" and "2026-04-29" in refused["errors"][0]["message"]
    view = run.complete("发布降价后的重新披露", "staff", notice(
        "股权转让重新披露公告", redisclosed_on="2026-03-31", disclosure_end="2026-04-29"))
    assert rules_of(view) == [("Timer_RedisclosureEnd", "prop.redisclosure")]

    view = qualified(run, "2026-04-30T00:00:01+08:00", 0)
    assert names(view) == ["未征集到合格受让方的处理"]
    # 8,500,000 is below 90% (9,000,000): refused without the approving body's written consent
    refused = run.complete("未征集到合格受让方的处理", "purchaser", {
        "no_transferee_decision": "redisclose", "new_listing_price": 8_500_000}, expect=422)
    assert refused["error"] == "statute_violation"
    assert refused["rule"] == "prop.redisclosure" and refused["citation"] == "32号令 18"
    assert "9000000.00" in refused["message"] and "批准单位" in refused["message"]
    # half an approval record is no approval
    refused = run.complete("未征集到合格受让方的处理", "purchaser", {
        "no_transferee_decision": "redisclose", "new_listing_price": 8_500_000, "approval_no": "杭国资产权〔2026〕30号"},
        expect=422)
    assert {e["field"] for e in refused["errors"]} == {"/approval_body", "/approved_on"}
    # a re-disclosure may not raise the price
    refused = run.complete("未征集到合格受让方的处理", "purchaser", {
        "no_transferee_decision": "redisclose", "new_listing_price": 9_600_000}, expect=422)
    assert "高于原转让底价" in refused["message"]

    view = run.complete("未征集到合格受让方的处理", "purchaser", {
        "no_transferee_decision": "redisclose", "new_listing_price": 8_500_000,
        "approval_body": "杭州市人民政府国有资产监督管理委员会", "approval_no": "杭国资产权〔2026〕30号",
        "approved_on": "2026-04-29"})
    variables = view["variables"]
    assert variables["listing_price"] == "8500000.00" and variables["disclosure_round"] == 3
    # the consent is spent on this cut: a later one below 90% needs its own
    assert variables["approval_no"] is None and variables["approved_on"] is None
    assert names(view) == ["发布降价后的重新披露"]
    lowered = run.events("property.price_lowered")
    assert [e["data"]["below_threshold"] for e in lowered] == [False, True]
    assert lowered[1]["data"]["approval"]["approval_no"] == "杭国资产权〔2026〕30号"

    # the transferor may also give up: the trade ends as failed with the reason recorded and a termination notice
    view = run.complete("发布降价后的重新披露", "staff", notice(
        "股权转让第二次重新披露公告", redisclosed_on="2026-04-30", disclosure_end="2026-06-01"))
    qualified(run, "2026-06-02T00:00:01+08:00", 0)
    terminate = {"no_transferee_decision": "terminate", "decision_reason": "经三次披露未征集到受让方，转让方决定终止"}
    refused = run.complete("未征集到合格受让方的处理", "purchaser", terminate, expect=422)
    assert refused["errors"][0]["field"] == "/title"  # a termination is published: it needs its notice title
    view = run.complete("未征集到合格受让方的处理", "purchaser", {**terminate, **notice("股权转让终止公告")})
    assert view["status"] == "completed"  # nobody paid a deposit: nothing to refund
    result = run.result()
    assert result["outcome"] == "failed" and result["bidder_count"] == 0
    assert result["failure_reason"] == "经三次披露未征集到受让方，转让方决定终止"
    # the public sees the disclosures and the termination; the earlier decisions to re-disclose published nothing
    published = run.publications()
    assert [(p["kind"], p["title"]) for p in published] == [
        ("announcement", "杭州某机械制造有限公司40%股权转让公告"), ("announcement", "股权转让重新披露公告"),
        ("announcement", "股权转让第二次重新披露公告"), ("termination", "股权转让终止公告")]
    assert published[-1]["data"]["decision_reason"] == "经三次披露未征集到受让方，转让方决定终止"


def test_online_bidding_extends_on_late_bids(run: PropertyRun) -> None:
    # a change of control: 20 working days of pre-disclosure come first (32号令 13)
    view = run.start(PROCESS, "PRT-ONLINE", {**TRANSFER, "control_transfer": True})
    assert names(view) == ["发布信息预披露"]
    refused = run.complete("发布信息预披露", "staff", notice(
        "股权转让信息预披露", pre_disclosed_on="2026-03-02", pre_disclosure_end="2026-03-27"), expect=422)
    assert refused["rule"] == "prop.pre_disclosure"
    view = run.complete("发布信息预披露", "staff", notice(
        "股权转让信息预披露", pre_disclosed_on="2026-03-02", pre_disclosure_end="2026-03-30"))
    assert rules_of(view) == [("Timer_PreDisclosureEnd", "prop.pre_disclosure")]
    run.advance("2026-03-31T00:00:01+08:00", "发布正式信息披露")
    run.complete("发布正式信息披露", "staff", notice(
        "股权转让正式披露公告", disclosed_on="2026-03-31", disclosure_end="2026-04-29", listing_price=10_000_000))

    run.set_clock("2026-04-20T10:00:00+08:00")
    first, second = run.transferees(2)
    short = run.transferee()
    run.pay_deposit(short, 500_000)  # less than the 1,000,000 required: not qualified, not a participant
    view = qualified(run, "2026-04-30T00:00:01+08:00", 2)
    assert names(view) == ["网络竞价安排"]
    view = run.complete("网络竞价安排", "staff", {
        "auction_start": "2026-05-06T09:00:00+08:00", "free_quote_until": "2026-05-06T10:00:00+08:00",
        "auction_end": "2026-05-06T10:30:00+08:00", "increment": 100_000,
        "extend_window_seconds": 300, "extend_seconds": 300})
    variables = view["variables"]
    assert variables["auction_kind"] == "online" and variables["start_price"] == "10000000.00"
    assert variables["auction_close_at"] == "2026-05-06T10:30:00+08:00"
    auction_id = variables["auction_id"]
    assert rules_of(view) == [("Timer_AuctionClose", None)]

    def bid(who: Any, amount: int, expect: int = 201) -> Any:
        return run.call("POST", f"/api/v1/auctions/{auction_id}/bids", who.headers, {"amount": str(amount)},
                        expect=expect)

    def closes_at() -> datetime:
        return at(run.call("GET", f"/api/v1/auctions/{auction_id}", "staff")["closes_at"])

    run.set_clock("2026-05-06T09:10:00+08:00")  # the free-quote period
    bid(short, 10_000_000, expect=403)
    bid(first, 10_000_000)
    run.set_clock("2026-05-06T10:20:00+08:00")  # timed period, not yet its last five minutes
    bid(second, 10_100_000)
    assert closes_at() == at("2026-05-06T10:30:00+08:00")
    run.set_clock("2026-05-06T10:27:00+08:00")  # within the last 300 s: the end moves to 10:32
    bid(first, 10_200_000)
    assert near(closes_at(), "2026-05-06T10:32:00+08:00")

    # at the original end the close service finds the extended time and the process waits again
    run.set_clock("2026-05-06T10:30:30+08:00")
    view = run.wait_for(lambda v: bool(v["timers"]) and near(at(v["timers"][0]["due_at"]), "2026-05-06T10:32:00+08:00"))
    assert view["variables"]["auction_closed"] is False and names(view) == []
    run.set_clock("2026-05-06T10:31:00+08:00")
    bid(second, 10_300_000)  # extends again, to 10:36
    assert near(closes_at(), "2026-05-06T10:36:00+08:00")
    view = run.advance("2026-05-06T10:36:05+08:00", "签订交易合同")
    variables = view["variables"]
    assert variables["auction_outcome"] == "sold" and variables["winner_uscc"] == second.org
    assert variables["award_amount"] == "10300000.00" and variables["bidder_count"] == 2
    assert run.task("签订交易合同", view)["role"] == "purchaser"

    # the transferee's deposit goes to the price; the others' are due back within prop.deposit_refund,
    # 3 工作日 from Wed 05-06: 05-07, 05-08 and the make-up working Saturday 05-09
    deposits = run.deposits()
    assert deposits[second.org]["status"] == "applied_to_price"
    for loser in (first, short):
        assert deposits[loser.org]["status"] == "refund_due"
        assert at(deposits[loser.org]["refund_due_at"]) == due("2026-05-10T00:00:00")
    assert run.task("退还交易保证金", view)["role"] == "staff"
    assert ("Boundary_RefundOverdue", "prop.deposit_refund") in rules_of(view)
    refunded = run.refund(first)
    assert refunded["refund"]["interest"] == "0.00" and refunded["refund"]["late"] is False

    # paid in full at once: the voucher names the deal method and the price
    view = run.complete("签订交易合同", "purchaser", {
        "contract_no": "CQJY-2026-001", "contract_signed_on": "2026-05-07", "contract_effective_on": "2026-05-07",
        "payment_mode": "lump_sum"})
    plan = run.plan()
    assert plan["mode"] == "lump_sum" and plan["total"] == "10300000.00"
    # prop.payment 5 工作日 MAX from Thu 05-07 (05-09 is a make-up working Saturday)
    assert [(i["amount"], i["due_on"]) for i in plan["instalments"]] == [("10300000.00", "2026-05-13")]
    run.pay_price(second, "10300000.00", "JK-ONLINE-1")
    voucher = run.voucher(second.headers)
    assert voucher["deal_method"] == "网络竞价" and voucher["transferee_uscc"] == second.org
    assert voucher["price"] == "10300000.00" and voucher["voucher_no"].endswith("-PZ")

    # the short deposit is still not back when its period ends: the supervisor is alerted, once
    run.set_clock("2026-05-11T09:00:00+08:00")
    alerts = run.wait_for_alerts("deposit_refund_overdue")
    assert [(a["subject"], a["rule"]) for a in alerts] == [(short.org, "prop.deposit_refund")]
    assert run.refund(short)["refund"]["late"] is True
    view = run.complete("退还交易保证金", "staff", {"refunds_completed_on": "2026-05-11"})
    assert "退还交易保证金" not in names(view)


def test_single_transferee_agreement_instalments_overdue_alert_and_voucher(run: PropertyRun) -> None:
    disclosed(run, "PRT-AGREEMENT")
    view = qualified(run, "2026-03-31T00:00:01+08:00", 0)

    # no transferee yet: extend by at least 5 working days from 03-30 (04-07, 04-06 being 清明)
    decide = {"no_transferee_decision": "extend"}
    view = run.complete("未征集到合格受让方的处理", "purchaser", decide)
    assert names(view) == ["延长信息披露期"]
    extension = notice("股权转让延期公告", extension_published_on="2026-03-31")
    refused = run.complete("延长信息披露期", "staff", {**extension, "extended_until": "2026-04-03"}, expect=422)
    assert refused["rule"] == "prop.disclosure_extension" and "2026-04-07" in refused["errors"][0]["message"]
    view = run.complete("延长信息披露期", "staff", {**extension, "extended_until": "2026-04-07"})
    assert rules_of(view) == [("Timer_ExtensionEnd", "prop.disclosure_extension")]

    run.set_clock("2026-04-02T10:00:00+08:00")
    (buyer,) = run.transferees(1)
    other = run.transferee()
    view = qualified(run, "2026-04-08T00:00:01+08:00", 1)
    assert view["variables"]["sole_transferee_uscc"] == buyer.org
    assert names(view) == ["协议转让"]
    refused = run.complete("协议转让", "staff", {"agreed_on": "2026-04-08", "agreed_price": 9_990_000}, expect=422)
    assert "低于转让底价" in refused["message"]
    view = run.complete("协议转让", "staff", {"agreed_on": "2026-04-08", "agreed_price": 10_000_000})
    assert view["variables"]["winner_uscc"] == buyer.org and view["variables"]["award_amount"] == "10000000.00"

    # instalments: first ≥ 30% within 5 working days (04-15), the rest guaranteed within one year
    contract = {"contract_no": "CQJY-2026-002", "contract_signed_on": "2026-04-08",
                "contract_effective_on": "2026-04-08", "payment_mode": "instalments",
                "guarantee": "杭州某银行出具的见索即付保函", "interest_rate": "3.45"}
    low_first = [{"amount": 2_000_000, "due_on": "2026-04-14"}, {"amount": 8_000_000, "due_on": "2026-10-08"}]
    refused = run.complete("签订交易合同", "purchaser", {**contract, "instalments": low_first}, expect=422)
    assert refused["rule"] == "prop.payment_first" and refused["citation"] == "32号令 28"
    assert refused["errors"][0]["field"] == "/instalments/0/amount"
    too_long = [{"amount": 3_000_000, "due_on": "2026-04-14"}, {"amount": 7_000_000, "due_on": "2027-04-09"}]
    refused = run.complete("签订交易合同", "purchaser", {**contract, "instalments": too_long}, expect=422)
    assert refused["rule"] == "prop.payment_first" and "2027-04-08" in refused["message"]
    late_first = [{"amount": 3_000_000, "due_on": "2026-04-16"}, {"amount": 7_000_000, "due_on": "2026-10-08"}]
    refused = run.complete("签订交易合同", "purchaser", {**contract, "instalments": late_first}, expect=422)
    assert refused["rule"] == "prop.payment" and "2026-04-15" in refused["message"]
    plan_rows = [{"amount": 3_000_000, "due_on": "2026-04-14"}, {"amount": 7_000_000, "due_on": "2026-10-08"}]
    view = run.complete("签订交易合同", "purchaser", {**contract, "instalments": plan_rows})
    assert names(view) == ["发布交易结果公告"]

    # the result is published for at least 5 working days after the contract takes effect (04-15)
    refused = run.complete("发布交易结果公告", "staff", notice(
        "股权转让交易结果公告", result_published_on="2026-04-08", publicity_end="2026-04-14"), expect=422)
    assert refused["rule"] == "prop.result_publicity"
    view = run.complete("发布交易结果公告", "staff", notice(
        "股权转让交易结果公告", result_published_on="2026-04-08", publicity_end="2026-04-15"))
    assert ("Timer_PublicityEnd", "prop.result_publicity") in rules_of(view)

    # who may see the plan: the parties and the centre, not another bidder
    run.plan(other.headers, expect=403)
    assert run.plan("purchaser")["transferee_uscc"] == buyer.org
    run.set_clock("2026-04-10T10:00:00+08:00")
    run.pay_price(buyer, "3000000.00", "JK-002-1", payer="某某个人", expect=422)  # not the transferee's account
    run.pay_price(buyer, "3000000.00", "JK-002-1", by="purchaser", expect=403)
    plan = run.pay_price(buyer, "3000000.00", "JK-002-1")
    assert run.pay_price(buyer, "3000000.00", "JK-002-1", expect=200)["paid_total"] == "3000000.00"  # a retry
    assert [i["status"] for i in plan["instalments"]] == ["paid", "due"] and plan["outstanding"] == "7000000.00"
    run.voucher(buyer.headers, expect=404)

    # the second instalment falls due on 10-08 and is not paid: an alert for the supervisor
    run.set_clock("2026-10-09T09:00:00+08:00")
    alerts = run.wait_for_alerts("property_payment_overdue")
    assert len(alerts) == 1 and alerts[0]["rule"] == "prop.payment_first"
    assert alerts[0]["subject"] == f"{buyer.org}#2" and alerts[0]["evidence"]["due_on"] == "2026-10-08"
    assert run.plan(buyer.headers)["instalments"][1]["overdue"] is True

    plan = run.pay_price(buyer, "7000000.00", "JK-002-2")
    assert plan["status"] == "paid" and plan["outstanding"] == "0.00"
    voucher = run.voucher(buyer.headers)
    assert voucher["deal_method"] == "协议转让" and voucher["price"] == "10000000.00"
    assert voucher["transferor_uscc"] == TRANSFER["purchaser_uscc"] and run.voucher("purchaser") == voucher
    run.voucher(other.headers, expect=403)
    run.pay_price(buyer, "1.00", "JK-002-3", expect=409)

    view = run.finish("2026-10-10T09:00:00+08:00")
    assert view["variables"]["fully_paid"] is True and view["variables"]["voucher_no"] == voucher["voucher_no"]
    result = run.result()
    assert result["outcome"] == "awarded" and result["winner_uscc"] == buyer.org
    assert result["award_amount"] == "10000000.00" and result["budget_amount"] == "10000000.00"
    # the public saw the disclosure with its listing price, the extension and the result
    published = run.publications()
    assert [p["kind"] for p in published] == ["announcement", "change", "result"]
    assert published[0]["data"]["listing_price"] == 10_000_000 and published[1]["data"]["extended_until"] == "2026-04-07"
