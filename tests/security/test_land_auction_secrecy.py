"""A live land auction: other regions are refused, the reserve and other bidders' names never leave the server."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.cot_support import uscc
from tests.e2e.land_support import ANNOUNCED, LAND, QUIET, REGISTRATION_DEADLINE, SALE_START, Grant, notice

RESERVE = 47_654_321  # digits that appear nowhere else in the trade
SECRET = "47654321"
OUTSIDER = uscc(990)  # a bidder that paid no deposit for this trade


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> Grant:
    return Grant.started(http, make_user)  # type: ignore[return-value]


@pytest.fixture
def bidding(run: Grant) -> tuple[Grant, int, list[Any]]:
    """A land auction under way: reserve fixed, notice published, three bidders qualified, two bids placed."""
    run.start("land_auction", "SEC-LDA-1", LAND)
    run.reserve(RESERVE)
    run.complete("发布拍卖出让公告", "staff", {
        **notice("国有建设用地使用权拍卖出让公告"), "announced_on": ANNOUNCED,
        "registration_deadline": REGISTRATION_DEADLINE, "start_price": 40_000_000, "increment": 500_000,
        "quiet_seconds": QUIET, "auction_start": SALE_START})
    run.set_clock("2026-03-10T10:00:00+08:00")
    bidders = run.paying(3)
    view = run.set_clock_and_wait("2026-03-20T17:00:01+08:00", lambda v: "auction_id" in v["variables"])
    auction_id = view["variables"]["auction_id"]
    run.set_clock(SALE_START)
    run.offer(bidders[0], auction_id, 40_000_000)
    run.offer(bidders[1], auction_id, 40_500_000)
    return run, auction_id, bidders


def _get(run: Grant, path: str, who: dict[str, str] | str) -> Any:
    headers = run.users[who] if isinstance(who, str) else who
    return run.http.get(path, headers=headers)


def test_other_regions_are_refused_and_a_province_covers_its_cities(bidding, make_user) -> None:
    run, auction_id, _ = bidding
    paths = (f"/api/v1/auctions/{auction_id}", f"/api/v1/auctions/{auction_id}/events?after=0",
             f"/api/v1/auctions/{auction_id}/stream?seconds=1", f"/api/v1/process-instances/{run.id}/auctions",
             f"/api/v1/process-instances/{run.id}", f"/api/v1/process-instances/{run.id}/events")
    beijing = [make_user(role, region="110100") for role in ("staff", "supervisor", "purchaser")]
    for who in beijing:
        for path in paths:
            assert _get(run, path, who).status_code == 403, path
    zhejiang = make_user("supervisor", region="330000")
    for path in paths:
        assert _get(run, path, zhejiang).status_code == 200, path
    outsider = make_user("bidder", org=OUTSIDER)
    for path in paths[:4]:
        assert _get(run, path, outsider).status_code == 403, path


def test_the_reserve_never_leaves_the_server_before_close(bidding) -> None:
    run, auction_id, bidders = bidding
    trade_code = run.view()["variables"]["trade_code"]
    private = [f"/api/v1/process-instances/{run.id}", f"/api/v1/process-instances/{run.id}/events",
               f"/api/v1/process-instances/{run.id}/auctions", f"/api/v1/auctions/{auction_id}",
               f"/api/v1/auctions/{auction_id}/events?after=0", f"/api/v1/auctions/{auction_id}/stream?seconds=1",
               "/api/v1/tasks", "/api/v1/alerts", "/api/v1/deadlines/overdue", "/api/v1/statistics/trades"]
    public = ["/api/v1/public/feed", "/api/v1/public/publications", f"/api/v1/public/trades/{trade_code}",
              f"/api/v1/public/ocds/ocds-ggzy01-{trade_code}", "/api/v1/public/ocds/releases"]
    read = 0
    for who in ("staff", "supervisor", "purchaser", bidders[0].headers):
        for path in private:
            response = _get(run, path, who)
            if response.status_code == 200:
                read += 1
                assert SECRET not in response.get_data(as_text=True), (who, path)
    for path in public:
        response = run.http.get(path)
        assert response.status_code == 200, path
        assert SECRET not in response.get_data(as_text=True), path
    assert read >= 20  # the sweep really read the views, not only refusals


def test_bidders_see_paddles_never_each_others_names(bidding) -> None:
    run, auction_id, bidders = bidding
    me, others = bidders[0], bidders[1:]
    for path in (f"/api/v1/auctions/{auction_id}", f"/api/v1/auctions/{auction_id}/events?after=0",
                 f"/api/v1/auctions/{auction_id}/stream?seconds=1", f"/api/v1/process-instances/{run.id}/auctions"):
        text = _get(run, path, me.headers).get_data(as_text=True)
        assert "paddle" in text, path
        for other in others:
            assert other.name not in text and other.org not in text, path
