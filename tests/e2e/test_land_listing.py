"""land_listing (国有建设用地使用权挂牌出让) end to end over HTTP with the fake clock and the live bidding engine.

Announcement Mon 03-02, listing from Mon 03-23 10:00 to Tue 04-07 10:00 (10 working days, 清明 04-06 skipped);
start price 20,000,000 yuan, increment 200,000. An on-site auction after the listing has a 60-second quiet period.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.cot_support import at, names, timers
from tests.e2e.land_support import (
    ANNOUNCED,
    LAND,
    LISTING_END,
    QUIET,
    SALE_START,
    Grant,
    notice,
    refunded_and_done,
)


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> Grant:
    return Grant.started(http, make_user)  # type: ignore[return-value]


def listed(run: Grant, business_key: str, reserve: int) -> dict[str, Any]:
    """Register, fix the reserve, publish the listing notice; a listing shorter than 10 working days is refused."""
    run.start("land_listing", business_key, LAND)
    run.reserve(reserve)
    terms = {**notice("国有建设用地使用权挂牌出让公告"), "announced_on": ANNOUNCED, "listing_start": SALE_START,
             "start_price": 20_000_000, "increment": 200_000, "quiet_seconds": QUIET}
    refused = run.complete("发布挂牌出让公告", "staff", {**terms, "listing_end": "2026-04-06T10:00:00+08:00"},
                           expect=422)
    assert refused["rule"] == "land.listing_period" and "2026-04-07" in refused["errors"][0]["message"]
    view = run.complete("发布挂牌出让公告", "staff", {**terms, "listing_end": LISTING_END})
    assert timers(view) == [("Timer_ListingStart", "land.announcement", at(SALE_START))]
    return view


def listing_opened(run: Grant) -> dict[str, Any]:
    view = run.set_clock_and_wait("2026-03-23T10:00:01+08:00", lambda v: "auction_id" in v["variables"])
    assert view["variables"]["auction_kind"] == "listing" and view["variables"]["qualified_count"] == 3
    assert timers(view) == [("Timer_AuctionClose", None, at(LISTING_END))]
    return view


def test_listing_turns_into_an_onsite_auction(run: Grant) -> None:
    listed(run, "LDL-1", reserve=30_000_000)
    run.set_clock("2026-03-10T10:00:00+08:00")
    b1, b2, b3 = run.paying(3)
    listing = listing_opened(run)["variables"]["auction_id"]

    run.set_clock("2026-03-25T10:00:00+08:00")
    run.offer(b1, listing, 20_000_000)
    assert "低于" in run.offer(b2, listing, 20_100_000, expect=422)["message"]  # at least one increment more
    run.offer(b2, listing, 20_200_000)
    assert run.call("POST", f"/api/v1/auctions/{listing}/continue", b3.headers, expect=409)  # never quoted
    run.ask_to_continue(b1, listing)
    run.ask_to_continue(b2, listing)

    # at the listing close two bidders want to go on: the listing turns into an on-site auction
    view = run.set_clock_and_wait("2026-04-07T10:00:01+08:00",
                                  lambda v: v["variables"].get("onsite_auction") is True)
    v = view["variables"]
    onsite = v["auction_id"]
    assert onsite != listing and v["listing_auction_id"] == listing and v["auction_kind"] == "auction"
    assert (v["continue_count"], v["listing_bidder_count"], v["qualified_count"]) == (2, 3, 2)
    assert names(view) == [] and [t[0] for t in timers(view)] == ["Timer_AuctionClose"]
    state = run.auction(onsite, b1.headers)
    assert state["kind"] == "auction" and state["current_price"] == "20200000.00"  # the listing's best quote stands
    assert state["me"]["paddle"] == run.auction(listing, b1.headers)["me"]["paddle"]
    assert run.offer(b3, onsite, 20_400_000, expect=403)  # did not ask to continue

    run.offer(b1, onsite, 20_400_000)
    run.offer(b2, onsite, 21_000_000)
    last = run.offer(b1, onsite, 31_000_000)
    view = run.closed_after(last["closes_at"], "签订成交确认书")
    v = view["variables"]
    assert (v["auction_outcome"], v["winner_uscc"], v["award_amount"]) == ("sold", b1.org, "31000000.00")

    run.confirm(on="2026-04-07")
    assert run.deposits()[b1.org]["status"] == "applied_to_price"
    refunded_and_done(run, "退还保证金", "2026-04-08")
    run.publish_result("2026-04-08")
    view = run.sign_contract("31000000", "2026-04-10")
    assert view["status"] == "completed"
    result = run.recorded_result()
    assert (result["outcome"], result["winner_uscc"], result["award_amount"], result["budget_amount"],
            result["bidder_count"]) == ("awarded", b1.org, "31000000.00", "20000000.00", 3)


def test_listing_without_onsite_auction_goes_to_the_highest_quote(run: Grant) -> None:
    listed(run, "LDL-2", reserve=20_100_000)
    run.set_clock("2026-03-10T10:00:00+08:00")
    b1, b2, _ = run.paying(3)
    listing = listing_opened(run)["variables"]["auction_id"]

    run.set_clock("2026-03-30T15:00:00+08:00")
    run.offer(b1, listing, 20_000_000)
    run.offer(b2, listing, 20_200_000)
    run.ask_to_continue(b2, listing)  # one bidder alone cannot make an on-site auction

    view = run.set_clock_and_wait("2026-04-07T10:00:01+08:00", lambda v: "签订成交确认书" in names(v))
    v = view["variables"]
    assert (v["continue_count"], v["onsite_auction"], v["auction_outcome"]) == (1, False, "sold")
    assert (v["winner_uscc"], v["award_amount"], v["auction_id"]) == (b2.org, "20200000.00", listing)
    assert run.auction(listing)["result"]["reserve_met"] is True
    run.confirm(on="2026-04-07")
    deposits = run.deposits()
    assert deposits[b2.org]["status"] == "applied_to_price" and deposits[b1.org]["status"] == "refund_due"
