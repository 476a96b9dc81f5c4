"""land_tender (国有建设用地使用权招标出让) end to end over HTTP: sealed bids, opening, highest price, the tail.

Announcement Mon 03-02, sealed bids until Mon 03-23 10:00 (the opening), 30 minutes to decrypt; the reserve
(标底) is 30,000,000 yuan and the highest qualified price wins (价高者得).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.cot_support import SPECIALTY, Bidder, at, due, names, timers
from tests.e2e.land_support import ANNOUNCED, LAND, SALE_START, Grant, notice, refunded_and_done, scheduled

RESERVE = 30_000_000
PLAN = {"key": "plan", "name": "开发建设方案", "kind": "technical", "max": 60}
OFFER = {"key": "offer", "name": "出让价款与付款计划", "kind": "commercial", "max": 40}


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> Grant:
    return Grant.started(http, make_user)  # type: ignore[return-value]


def tendered(run: Grant, business_key: str) -> dict[str, Any]:
    """Register, fix the reserve, publish the tender notice; an opening before the 20th day is refused."""
    run.start("land_tender", business_key, LAND)
    run.reserve(RESERVE)
    terms = {**notice("国有建设用地使用权招标出让公告"), "announced_on": ANNOUNCED, "decrypt_minutes": 30,
             "evaluation_method": "highest_price", "opening_place": "杭州市公共资源交易中心（电子开标）"}
    refused = run.complete("发布招标出让公告", "staff", {**terms, "bid_deadline": "2026-03-21T10:00:00+08:00"},
                           expect=422)
    assert refused["rule"] == "land.announcement"
    view = run.complete("发布招标出让公告", "staff", {**terms, "bid_deadline": SALE_START})
    assert timers(view) == [("Timer_BidDeadline", "land.announcement", at(SALE_START))]
    return view


def bidding(run: Grant, paying: int, without_deposit: int = 0) -> list[Bidder]:
    """On 03-10 `paying` bidders pay their deposit and upload a sealed bid; others only upload a bid."""
    run.set_clock("2026-03-10T10:00:00+08:00")
    bidders = [run.bidder() for _ in range(paying + without_deposit)]
    for i, b in enumerate(bidders):
        if i < paying:
            run.pay(b)
        run.bid(b)
    return bidders


def opened_and_decrypted(run: Grant, bidders: list[Bidder]) -> dict[str, Any]:
    view = run.set_clock_and_wait(SALE_START, lambda v: "decrypt_until" in v["variables"])
    assert view["variables"]["opening_valid"] is True and view["variables"]["bid_count"] == len(bidders)
    run.set_clock("2026-03-23T10:05:00+08:00")
    for b in bidders:
        assert run.decrypt(b)["status"] == "decrypted"
    until = at(view["variables"]["decrypt_until"])
    return run.advance((until + timedelta(seconds=1)).isoformat(), "开标记录（唱标）")


def test_tender_sealed_bids_highest_price_wins(run: Grant) -> None:
    tendered(run, "LDT-1")
    b1, b2, b3, b4 = bidding(run, paying=3, without_deposit=1)
    opened_and_decrypted(run, [b1, b2, b3, b4])

    record = {"recorded_on": "2026-03-23", "opening_prices": [
        {"bidder_uscc": b1.org, "price": 31_000_000}, {"bidder_uscc": b2.org, "price": 35_000_000},
        {"bidder_uscc": b3.org, "price": 35_000_000}, {"bidder_uscc": b4.org, "price": 40_000_000}]}
    # every qualified bidder's price must be read out
    missing = run.complete("开标记录（唱标）", "staff", {**record, "opening_prices": record["opening_prices"][1:]},
                           expect=422)
    assert b1.org in missing["message"] and missing["errors"][0]["field"] == "/opening_prices"
    view = run.complete("开标记录（唱标）", "staff", record)
    v = view["variables"]
    # b4 paid no deposit: set aside; b2 and b3 tie at the top, b2's bid arrived first
    assert (v["tender_outcome"], v["winner_uscc"], v["winner_name"], v["award_amount"], v["bidder_count"]) == (
        "sold", b2.org, b2.name, "35000000.00", 3)
    assert v["reserve_met"] is True
    awarded = run.events("land.tender_awarded")[0]["data"]
    assert awarded["set_aside_without_deposit"] == [b4.org] and "reserve_price" not in awarded
    assert names(view) == ["发出中标通知书"] and run.task("发出中标通知书", view)["role"] == "purchaser"

    view = run.complete("发出中标通知书", "purchaser", {"award_notice_no": "ZB-2026-001",
                                                      "award_notice_on": "2026-03-23", "sale_ended_at": "2026-03-23"})
    assert names(view) == ["公布出让结果", "签订出让合同", "退还保证金"]
    assert ("Boundary_RefundOverdue", "land.deposit_refund", due("2026-03-31T00:00:00")) in timers(view)
    deposits = run.deposits()
    assert deposits[b2.org]["status"] == "applied_to_price"
    assert {deposits[b.org]["status"] for b in (b1, b3)} == {"refund_due"} and b4.org not in deposits
    refunded_and_done(run, "退还保证金", "2026-03-25")
    run.publish_result("2026-03-26")
    view = run.sign_contract("35000000", "2026-03-30")
    assert view["status"] == "completed"
    result = run.recorded_result()
    assert (result["outcome"], result["winner_uscc"], result["award_amount"], result["bidder_count"]) == (
        "awarded", b2.org, "35000000.00", 3)
    assert ("Timer_BidDeadline", "land.announcement") in scheduled(run)
    assert run.published_kinds() == ["announcement", "result"] and "30000000" not in str(run.public())


def test_tender_with_fewer_than_three_bids_ends(run: Grant) -> None:
    tendered(run, "LDT-2")
    bidding(run, paying=2)
    view = run.set_clock_and_wait(SALE_START, lambda v: "发布终止（流拍）公告" in names(v))
    v = view["variables"]
    assert (v["opening_valid"], v["bid_count"], v["min_bidders"]) == (False, 2, 3)
    assert v["failure_reason"] == "投标人 2 个，少于 3 个，终止招标"
    assert run.events("bids.opened")[0]["data"]["rule"] == "land.min_bidders_tender"
    run.terminate("投标人少于三人，终止招标")
    view = refunded_and_done(run, "退还保证金（未成交）", "2026-03-24")
    assert view["status"] == "completed" and run.recorded_result()["outcome"] == "failed"


def test_tender_below_the_reserve_is_no_sale(run: Grant) -> None:
    tendered(run, "LDT-3")
    bidders = bidding(run, paying=3)
    opened_and_decrypted(run, bidders)
    view = run.complete("开标记录（唱标）", "staff", {"recorded_on": "2026-03-23", "opening_prices": [
        {"bidder_uscc": b.org, "price": 25_000_000 + 1_000_000 * i} for i, b in enumerate(bidders)]})
    v = view["variables"]
    assert (v["tender_outcome"], v["winner_uscc"], v["reserve_met"], v["trade_failed"]) == (
        "no_sale", None, False, True)
    assert v["failure_reason"] == "投标价格均低于底价，招标不成交" and names(view) == ["发布终止（流拍）公告"]


def test_tender_by_composite_evaluation(run: Grant) -> None:
    run.start("land_tender", "LDT-4", LAND)
    run.reserve(RESERVE)
    run.complete("发布招标出让公告", "staff", {**notice("国有建设用地使用权招标出让公告（综合评标）"),
                                          "announced_on": ANNOUNCED, "bid_deadline": SALE_START,
                                          "decrypt_minutes": 30, "evaluation_method": "composite"})
    b1, b2, b3 = bidders = bidding(run, paying=3)
    opened_and_decrypted(run, bidders)
    prices = {b1.org: 36_000_000, b2.org: 32_000_000, b3.org: 29_000_000}
    view = run.complete("开标记录（唱标）", "staff", {"recorded_on": "2026-03-23", "opening_prices": [
        {"bidder_uscc": code, "price": price} for code, price in prices.items()]})
    assert names(view) == ["组建评标小组"] and view["variables"]["bidder_usccs"] == list(prices)

    # the 评标小组 is drawn by the shared expert service; the experts score the development plans
    run.add_experts(5)
    run.complete("组建评标小组", "staff", {"expert_specialties": [SPECIALTY], "evaluation_date": "2026-03-23"})
    members = run.confirm_committee()
    run.call("POST", f"/api/v1/trades/{run.id}/evaluation", "staff", {
        "method": "composite", "criteria": [PLAN, OFFER],
        "bidders": [{"uscc": code, "price": price} for code, price in prices.items()]}, expect=201)
    # b3 ranks first but bids below the reserve; b2 is the best-ranked candidate that meets it
    marks = {b1.org: (30, 35), b2.org: (50, 30), b3.org: (60, 30)}
    for expert_id in members:
        run.call("PUT", f"/api/v1/trades/{run.id}/evaluation/scores", run.experts[expert_id], {"scores": [
            {"bidder": code, "criterion": key, "score": mark[i]}
            for code, mark in marks.items() for i, key in enumerate(("plan", "offer"))]})
    view = run.complete("评标结束", "staff", {"report_received_on": "2026-03-23"})
    v = view["variables"]
    assert v["candidates"] == [b3.org, b2.org, b1.org]
    assert (v["tender_outcome"], v["winner_uscc"], v["award_amount"]) == ("sold", b2.org, "32000000.00")
    assert names(view) == ["发出中标通知书"]
