"""asset_transfer (企业资产转让) end to end over HTTP: disclosure tiers, online bidding, agreement, refunds, voucher."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.cot_support import PURCHASER, at, due, names
from tests.e2e.property_support import PropertyRun, near, notice, rules_of

REGISTER = {
    "project_name": "杭州某国有企业闲置生产设备转让",
    "purchaser_name": "杭州市某国有控股集团有限公司",
    "purchaser_uscc": PURCHASER,
    "subject_name": "数控机床生产线一条",
    "asset_type": "equipment",
    "asset_description": "2018 年购置，运行良好",
    "bond_amount": 100_000,
}

# (reserve price, rule, too short an end, the earliest lawful end): 5, 10 and 20 working days from Mon 03-02.
TIERS = [
    (800_000, "prop.asset_disclosure_small", "2026-03-06", "2026-03-09"),
    (1_000_000, "prop.asset_disclosure", "2026-03-13", "2026-03-16"),
    (10_000_000, "prop.asset_disclosure", "2026-03-13", "2026-03-16"),
    (10_000_001, "prop.asset_disclosure_large", "2026-03-27", "2026-03-30"),
]
TIMERS = {"prop.asset_disclosure_small": "Timer_SmallEnd", "prop.asset_disclosure": "Timer_MiddleEnd",
          "prop.asset_disclosure_large": "Timer_LargeEnd"}


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> PropertyRun:
    return PropertyRun.begun(http, make_user)


def test_disclosure_period_follows_the_reserve_price_tier(run: PropertyRun) -> None:
    for n, (price, rule, short, lawful) in enumerate(TIERS):
        view = run.start("asset_transfer", f"AST-TIER-{n}", REGISTER)
        assert names(view) == ["发布资产转让公告"]
        announcement = notice("资产转让公告", disclosed_on="2026-03-02", listing_price=price)
        refused = run.complete("发布资产转让公告", "staff", {**announcement, "disclosure_end": short}, expect=422)
        assert refused["error"] == "statute_violation" and refused["rule"] == rule, (price, refused)
        assert lawful in refused["message"] and refused["errors"][0]["field"] == "/disclosure_end"
        view = run.complete("发布资产转让公告", "staff", {**announcement, "disclosure_end": lawful})
        assert view["variables"]["disclosure_rule"] == rule
        assert rules_of(view) == [(TIMERS[rule], rule)]
        # the period runs to 24:00 of its last day
        assert at(view["timers"][0]["due_at"]) == due(f"{lawful}T00:00:00") + timedelta(days=1)
    citations = {r["id"]: r["citation"] for r in run.call("GET", "/api/v1/statutes", "staff")}
    assert citations["prop.asset_disclosure"] == "32号令 50" and citations["prop.asset_disclosure_large"] == "32号令 50"
    assert citations["prop.asset_disclosure_small"] == "exchange rules"


def test_asset_transfer_single_transferee_lump_sum_and_voucher(run: PropertyRun) -> None:
    run.start("asset_transfer", "AST-1", REGISTER)
    run.complete("发布资产转让公告", "staff", notice(
        "资产转让公告", disclosed_on="2026-03-02", disclosure_end="2026-03-16", listing_price=5_000_000))
    run.set_clock("2026-03-10T10:00:00+08:00")
    (buyer,) = run.transferees(1, 100_000)
    run.advance("2026-03-17T00:00:01+08:00", "确认意向受让方资格")
    view = run.complete("确认意向受让方资格", "staff", {"checked_on": "2026-03-17"})
    assert view["variables"]["qualified_count"] == 1 and names(view) == ["协议转让"]
    view = run.complete("协议转让", "staff", {"agreed_on": "2026-03-17", "agreed_price": 5_200_000})
    assert names(view) == ["签订交易合同"]
    view = run.complete("签订交易合同", "purchaser", {
        "contract_no": "ZCJY-2026-001", "contract_signed_on": "2026-03-18", "contract_effective_on": "2026-03-18"})
    plan = run.plan()
    # an asset's price is paid at once, within 5 working days of the contract (Wed 03-18 → Wed 03-25)
    assert plan["mode"] == "lump_sum" and plan["instalments"][0]["due_on"] == "2026-03-25"
    view = run.complete("发布交易结果公告", "staff", notice(
        "资产转让结果公告", result_published_on="2026-03-18", publicity_end="2026-03-25"))
    run.pay_price(buyer, "5200000.00", "JK-AST-1")
    voucher = run.voucher(buyer.headers)
    assert voucher["deal_method"] == "协议转让" and voucher["subject"] == "数控机床生产线一条"
    assert voucher["process_key"] == "asset_transfer" and voucher["payment_mode"] == "lump_sum"
    view = run.finish("2026-03-26T00:00:01+08:00")
    result = run.result()
    assert result["outcome"] == "awarded" and result["award_amount"] == "5200000.00"
    assert result["budget_amount"] == "5000000.00" and result["bidder_count"] == 1


def test_asset_transfer_without_transferee_fails(run: PropertyRun) -> None:
    run.start("asset_transfer", "AST-NONE", REGISTER)
    run.complete("发布资产转让公告", "staff", notice(
        "资产转让公告", disclosed_on="2026-03-02", disclosure_end="2026-03-09", listing_price=300_000))
    run.advance("2026-03-10T00:00:01+08:00", "确认意向受让方资格")
    view = run.complete("确认意向受让方资格", "staff", {"checked_on": "2026-03-10"})
    assert view["status"] == "completed"
    result = run.result()
    assert result["outcome"] == "failed" and result["failure_reason"] == "公告期满未征集到合格意向受让方"


def test_asset_transfer_online_bidding_refunds_the_loser_and_issues_the_voucher(run: PropertyRun) -> None:
    run.start("asset_transfer", "AST-ONLINE", REGISTER)
    run.complete("发布资产转让公告", "staff", notice(
        "资产转让公告", disclosed_on="2026-03-02", disclosure_end="2026-03-16", listing_price=5_000_000))
    run.set_clock("2026-03-10T10:00:00+08:00")
    first, second = run.transferees(2, 100_000)
    run.advance("2026-03-17T00:00:01+08:00", "确认意向受让方资格")
    view = run.complete("确认意向受让方资格", "staff", {"checked_on": "2026-03-17"})
    assert view["variables"]["qualified_count"] == 2 and names(view) == ["网络竞价安排"]
    view = run.complete("网络竞价安排", "staff", {
        "auction_start": "2026-03-18T09:00:00+08:00", "free_quote_until": "2026-03-18T10:00:00+08:00",
        "auction_end": "2026-03-18T10:30:00+08:00", "increment": 50_000,
        "extend_window_seconds": 300, "extend_seconds": 300})
    variables = view["variables"]
    assert variables["auction_kind"] == "online" and variables["start_price"] == "5000000.00"
    auction_id = variables["auction_id"]

    def bid(who: Any, amount: int, expect: int = 201) -> Any:
        return run.call("POST", f"/api/v1/auctions/{auction_id}/bids", who.headers, {"amount": str(amount)},
                        expect=expect)

    run.set_clock("2026-03-18T09:10:00+08:00")  # free quotes
    bid(first, 5_000_000)
    run.set_clock("2026-03-18T10:28:00+08:00")  # the last five minutes: a bid moves the end to 10:33
    bid(second, 5_020_000, expect=422)  # less than one increment above the standing price
    bid(second, 5_050_000)
    assert near(at(run.call("GET", f"/api/v1/auctions/{auction_id}", "staff")["closes_at"]), "2026-03-18T10:33:00+08:00")
    view = run.advance("2026-03-18T10:33:05+08:00", "签订交易合同")
    variables = view["variables"]
    assert variables["auction_outcome"] == "sold" and variables["winner_uscc"] == second.org
    assert variables["award_amount"] == "5050000.00" and variables["deal_method"] == "online"

    # the winner's deposit goes to the price; the loser's is due back within 3 工作日 of Wed 03-18 (03-23)
    deposits = run.deposits()
    assert deposits[second.org]["status"] == "applied_to_price" and deposits[first.org]["status"] == "refund_due"
    assert at(deposits[first.org]["refund_due_at"]) == due("2026-03-24T00:00:00")
    assert names(view) == ["签订交易合同", "退还交易保证金"]
    run.refund(first)
    run.complete("退还交易保证金", "staff", {"refunds_completed_on": "2026-03-18"})

    run.complete("签订交易合同", "purchaser", {
        "contract_no": "ZCJY-2026-002", "contract_signed_on": "2026-03-19", "contract_effective_on": "2026-03-19"})
    # paid at once within 5 工作日 of Thu 03-19 (03-26); the result is published for 5 工作日 as well
    assert [(i["amount"], i["due_on"]) for i in run.plan()["instalments"]] == [("5050000.00", "2026-03-26")]
    run.complete("发布交易结果公告", "staff", notice(
        "资产转让结果公告", result_published_on="2026-03-19", publicity_end="2026-03-26"))
    run.pay_price(second, "5050000.00", "JK-AST-ONLINE")
    voucher = run.voucher(second.headers)
    assert voucher["deal_method"] == "网络竞价" and voucher["price"] == "5050000.00"
    assert voucher["transferee_uscc"] == second.org and voucher["listing_price"] == "5000000.00"
    run.voucher(first.headers, expect=403)

    run.finish("2026-03-27T00:00:01+08:00")
    result = run.result()
    assert result["outcome"] == "awarded" and result["winner_uscc"] == second.org
    assert result["award_amount"] == "5050000.00" and result["bidder_count"] == 2
    assert [p["kind"] for p in run.publications()] == ["announcement", "result"]
    assert run.alerts("deposit_refund_overdue") == []
