"""mining_right_grant (矿业权出让) end to end over HTTP: one process, auction or listing by grant_method.

Announcement Mon 03-02; auction Mon 03-23 10:00 (registration until Fri 03-20 17:00), or listing from Mon 03-23
10:00 to Tue 04-07 10:00; start price 5,000,000 yuan, increment 100,000, reserve 6,000,000.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.cot_support import at, names, timers
from tests.e2e.land_support import (
    ANNOUNCED,
    LISTING_END,
    MINE,
    QUIET,
    REGISTRATION_DEADLINE,
    SALE_START,
    Grant,
    notice,
    refunded_and_done,
)

RESERVE = 6_000_000
TERMS = {"announced_on": ANNOUNCED, "start_price": 5_000_000, "increment": 100_000, "quiet_seconds": QUIET}


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> Grant:
    return Grant.started(http, make_user)  # type: ignore[return-value]


def auction_announced(run: Grant, business_key: str) -> None:
    run.start("mining_right_grant", business_key, {**MINE, "grant_method": "auction"}, category="K")
    view = run.reserve(RESERVE)
    assert names(view) == ["发布拍卖出让公告"]
    terms = {**notice("采矿权拍卖出让公告"), **TERMS, "registration_deadline": REGISTRATION_DEADLINE}
    refused = run.complete("发布拍卖出让公告", "staff", {**terms, "auction_start": "2026-03-20T10:00:00+08:00"},
                           expect=422)
    assert refused["rule"] == "mine.announcement" and refused["citation"] == "mining-right trading rules"
    view = run.complete("发布拍卖出让公告", "staff", {**terms, "auction_start": SALE_START})
    assert timers(view) == [("Timer_Registration", None, at(REGISTRATION_DEADLINE))]


def test_mining_right_granted_by_auction(run: Grant) -> None:
    auction_announced(run, "MRG-A1")
    run.set_clock("2026-03-10T10:00:00+08:00")
    b1, b2, b3 = run.paying(3)
    view = run.set_clock_and_wait("2026-03-20T17:00:01+08:00", lambda v: "auction_id" in v["variables"])
    v = view["variables"]
    assert (v["auction_kind"], v["qualified_count"], v["min_bidders"]) == ("auction", 3, 3)
    auction_id = v["auction_id"]

    run.set_clock(SALE_START)
    run.offer(b1, auction_id, 5_000_000)
    run.offer(b3, auction_id, 6_000_000)
    last = run.offer(b2, auction_id, 6_500_000)
    view = run.closed_after(last["closes_at"], "签订成交确认书")
    v = view["variables"]
    assert (v["auction_outcome"], v["winner_uscc"], v["award_amount"]) == ("sold", b2.org, "6500000.00")

    run.confirm()
    assert run.deposits()[b2.org]["status"] == "applied_to_price"
    refunded_and_done(run, "退还保证金", "2026-03-24")
    run.publish_result("2026-03-25")
    view = run.sign_contract("6500000", "2026-03-30")
    assert view["status"] == "completed"
    result = run.recorded_result()
    assert (result["outcome"], result["category"], result["winner_uscc"], result["budget_amount"]) == (
        "awarded", "K", b2.org, "5000000.00")


def test_mining_auction_needs_three_bidders(run: Grant) -> None:
    auction_announced(run, "MRG-A2")
    run.set_clock("2026-03-10T10:00:00+08:00")
    run.paying(2)
    view = run.set_clock_and_wait("2026-03-20T17:00:01+08:00", lambda v: "发布终止（流拍）公告" in names(v))
    assert view["variables"]["failure_reason"] == "合格竞买人 2 个，不足 3 个，停止拍卖"
    assert run.events("land.bidders_checked")[0]["data"]["rule"] == "mine.min_bidders_auction"
    assert run.auctions() == []


def test_mining_right_granted_by_listing(run: Grant) -> None:
    run.start("mining_right_grant", "MRG-L1", {**MINE, "grant_method": "listing"}, category="K")
    view = run.reserve(RESERVE)
    assert names(view) == ["发布挂牌出让公告"]
    terms = {**notice("采矿权挂牌出让公告"), **TERMS, "listing_start": SALE_START}
    refused = run.complete("发布挂牌出让公告", "staff", {**terms, "listing_end": "2026-04-03T10:00:00+08:00"},
                           expect=422)
    assert refused["rule"] == "mine.listing_period" and "2026-04-07" in refused["errors"][0]["message"]
    view = run.complete("发布挂牌出让公告", "staff", {**terms, "listing_end": LISTING_END})
    assert timers(view) == [("Timer_ListingStart", "mine.announcement", at(SALE_START))]

    # a listing needs no minimum number of bidders: one qualified bidder may win at or above the reserve
    run.set_clock("2026-03-10T10:00:00+08:00")
    (only,) = run.paying(1)
    view = run.set_clock_and_wait("2026-03-23T10:00:01+08:00", lambda v: "auction_id" in v["variables"])
    assert (view["variables"]["auction_kind"], view["variables"]["qualified_count"]) == ("listing", 1)
    listing = view["variables"]["auction_id"]
    run.set_clock("2026-03-26T09:00:00+08:00")
    run.offer(only, listing, 6_000_000)

    view = run.set_clock_and_wait("2026-04-07T10:00:01+08:00", lambda v: "签订成交确认书" in names(v))
    v = view["variables"]
    assert (v["auction_outcome"], v["winner_uscc"], v["award_amount"], v["onsite_auction"]) == (
        "sold", only.org, "6000000.00", False)
    run.confirm(on="2026-04-07")
    assert run.deposits()[only.org]["status"] == "applied_to_price"
    assert run.published_kinds() == ["announcement"]
