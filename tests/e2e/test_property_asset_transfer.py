"""asset_transfer (企业资产转让) end to end over HTTP: the disclosure tiers by reserve price, agreement, payment, voucher."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.cot_support import PURCHASER, at, due, names
from tests.e2e.property_support import PropertyRun, notice, rules_of

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
