"""The bidding services and service tasks through the test-only auction_flow process and its timers."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid
from persistence.models import Event
from persistence.models_auctions import AuctionBid, AuctionParticipant
from services import audit, instances, timers
from services.trading import alerts, auction_feed, auctions, credit
from tests.trading.auctions.conftest import STAFF, at, auction_terms, bidder, pay, uscc

SUPERVISOR = Actor("sup1", frozenset({"supervisor"}), "330000")


def _fire(platform, instance_id: str, *when: int) -> dict:
    platform.clock.set(at(*when))
    timers.fire_due(platform)
    return instances.get(platform, STAFF, instance_id)


def test_open_admits_bidders_with_a_full_deposit_who_are_not_blacklisted(platform, open_auction):
    def blacklist() -> None:
        credit.add_listing(platform, SUPERVISOR, {"uscc": uscc(4), "list": "black", "source": "市场监管",
                                                  "reason": "串通投标", "valid_from": date(2026, 9, 1).isoformat()})

    view = open_auction(bidders=(1, 2, 3, 4), before_open=blacklist)  # listed after paying, before the auction
    pay(platform, view["id"], 5, amount="99999.99")  # after open, and short: not a participant either
    variables = view["variables"]
    assert variables["qualified_count"] == 3
    assert variables["auction_close_at"] == "2026-10-10T10:00:00+08:00"
    assert [t["element_id"] for t in view["timers"]] == ["wait_close"]
    with platform.db.sessions() as session:
        rows = session.scalars(select(AuctionParticipant)).all()
    assert sorted(r.bidder_uscc for r in rows) == [uscc(1), uscc(2), uscc(3)]
    assert len({r.paddle for r in rows}) == 3
    with pytest.raises(Forbidden, match="合格竞买人"):
        auctions.place_bid(platform, bidder(4), variables["auction_id"], "1000000")


def test_bids_are_validated_ordered_and_persisted(platform, open_auction):
    aid = open_auction()["variables"]["auction_id"]
    platform.clock.set(at(2026, 10, 10, 8, 59, 59))
    with pytest.raises(Conflict, match="尚未开始"):
        auctions.place_bid(platform, bidder(1), aid, "1000000")
    platform.clock.set(at(2026, 10, 10, 9, 30))
    with pytest.raises(Invalid, match="低于起始价"):
        auctions.place_bid(platform, bidder(1), aid, "999999.99")
    first = auctions.place_bid(platform, bidder(1), aid, "1000000")
    assert (first["seq"], first["amount"], first["mine"]) == (1, "1000000.00", True)
    with pytest.raises(Conflict, match="最高报价人"):
        auctions.place_bid(platform, bidder(1), aid, "1010000")
    with pytest.raises(Invalid, match="最低 1010000.00"):
        auctions.place_bid(platform, bidder(2), aid, "1000000")
    second = auctions.place_bid(platform, bidder(2), aid, "1030000.00")
    assert second["seq"] == 2 and "bidder_name" not in second
    with pytest.raises(Forbidden):
        auctions.place_bid(platform, Actor("p", frozenset({"purchaser"}), None, uscc(1)), aid, "1040000")
    with platform.db.sessions() as session:
        bids = session.scalars(select(AuctionBid).order_by(AuctionBid.seq)).all()
    assert [(b.seq, b.amount) for b in bids] == [(1, Decimal("1000000.00")), (2, Decimal("1030000.00"))]
    assert bids[0].placed_at <= bids[1].placed_at


def test_a_bid_at_the_close_time_is_refused_before_the_close_task_has_run(platform, open_auction):
    view = open_auction()
    aid = view["variables"]["auction_id"]
    platform.clock.set(at(2026, 10, 10, 9, 59, 59))
    auctions.place_bid(platform, bidder(1), aid, "1000000")
    platform.clock.set(at(2026, 10, 10, 10, 0))
    with pytest.raises(Conflict, match="截止"):
        auctions.place_bid(platform, bidder(2), aid, "1010000")
    assert auction_feed.get_auction(platform, STAFF, aid)["phase"] == "closing"
    view = _fire(platform, view["id"], 2026, 10, 10, 10, 0, 1)
    assert view["variables"]["auction_closed"] is True
    assert view["variables"]["auction_outcome"] == "sold"
    assert view["variables"]["winner_uscc"] == uscc(1)
    assert view["variables"]["winner_name"] == "竞买人1有限公司"
    assert view["variables"]["award_amount"] == "1000000.00"
    assert view["variables"]["bid_count"] == 1
    assert [t["element_id"] for t in view["tasks"]] == ["result"]
    with pytest.raises(Conflict, match="已结束"):
        auctions.place_bid(platform, bidder(2), aid, "1010000")


def test_highest_bid_below_the_reserve_is_no_sale_and_no_bid_is_no_bids(platform, open_auction):
    view = open_auction(auction_terms(reserve_price="1100000"))
    platform.clock.set(at(2026, 10, 10, 9, 30))
    auctions.place_bid(platform, bidder(1), view["variables"]["auction_id"], "1090000")
    view = _fire(platform, view["id"], 2026, 10, 10, 10, 0, 1)
    assert view["variables"]["auction_outcome"] == "no_sale"
    assert view["variables"]["winner_uscc"] is None and view["variables"]["award_amount"] is None
    empty = open_auction()
    empty = _fire(platform, empty["id"], 2026, 10, 10, 10, 0, 1)
    assert (empty["variables"]["auction_outcome"], empty["variables"]["bid_count"]) == ("no_bids", 0)


def test_a_quiet_period_auction_keeps_waiting_while_bids_move_the_close(platform, open_auction):
    view = open_auction(auction_terms(auction_end=None, quiet_seconds=120))
    aid = view["variables"]["auction_id"]
    assert view["variables"]["auction_close_at"] == "2026-10-10T09:02:00+08:00"
    platform.clock.set(at(2026, 10, 10, 9, 1, 0))
    auctions.place_bid(platform, bidder(1), aid, "1000000")
    view = _fire(platform, view["id"], 2026, 10, 10, 9, 2, 30)
    assert view["variables"]["auction_closed"] is False
    assert view["variables"]["auction_close_at"].startswith("2026-10-10T09:03:00")
    assert [t["element_id"] for t in view["timers"]] == ["wait_close"]
    view = _fire(platform, view["id"], 2026, 10, 10, 9, 3, 1)
    assert view["variables"]["auction_closed"] is True and view["variables"]["winner_uscc"] == uscc(1)


def test_online_bids_in_the_last_window_extend_the_timed_period(platform, open_auction):
    view = open_auction(auction_terms("online"))
    aid = view["variables"]["auction_id"]
    platform.clock.set(at(2026, 10, 10, 9, 10))
    assert auction_feed.get_auction(platform, STAFF, aid)["phase"] == "free_quote"
    auctions.place_bid(platform, bidder(1), aid, "1000000")
    platform.clock.set(at(2026, 10, 10, 10, 4))
    bid = auctions.place_bid(platform, bidder(2), aid, "1010000")
    assert bid["closes_at"].startswith("2026-10-10T10:09:00")
    view = _fire(platform, view["id"], 2026, 10, 10, 10, 5, 1)
    assert view["variables"]["auction_closed"] is False
    platform.clock.set(at(2026, 10, 10, 10, 8))
    auctions.place_bid(platform, bidder(3), aid, "1020000")
    view = _fire(platform, view["id"], 2026, 10, 10, 10, 12, 59)
    assert view["variables"]["auction_closed"] is False
    view = _fire(platform, view["id"], 2026, 10, 10, 10, 13, 1)
    assert view["variables"]["auction_outcome"] == "sold" and view["variables"]["winner_uscc"] == uscc(3)


def test_a_listing_continues_to_an_on_site_auction_among_those_who_asked(platform, open_auction):
    view = open_auction(auction_terms("listing", reserve_price="1050000", onsite_start="2026-10-20T15:30:00+08:00",
                                      onsite_quiet_seconds=60), bidders=(1, 2, 3, 4))
    listing = view["variables"]["auction_id"]
    platform.clock.set(at(2026, 10, 12, 10, 0))
    with pytest.raises(Conflict, match="已报价"):
        auctions.request_continue(platform, bidder(1), listing)
    auctions.place_bid(platform, bidder(1), listing, "1000000")
    auctions.place_bid(platform, bidder(2), listing, "1010000")
    auctions.place_bid(platform, bidder(3), listing, "1020000")
    first = auctions.request_continue(platform, bidder(1), listing)
    assert auctions.request_continue(platform, bidder(1), listing) == first  # asking twice changes nothing
    auctions.request_continue(platform, bidder(2), listing)
    assert auction_feed.get_auction(platform, bidder(2), listing)["me"]["continue_requested"] is True
    view = _fire(platform, view["id"], 2026, 10, 20, 15, 0, 1)
    assert view["variables"]["continue_count"] == 2
    onsite = view["variables"]["auction_id"]
    assert onsite != listing and view["variables"]["auction_closed"] is False
    state = auction_feed.get_auction(platform, STAFF, onsite)
    # The asking bidders and the listing's leader (bidder 3, whose quote stands) take part, same paddles.
    assert (state["kind"], state["participant_count"], state["previous_id"]) == ("auction", 3, listing)
    assert (state["current_price"], state["minimum_bid"]) == ("1020000.00", "1030000.00")
    assert state["leader_paddle"] == auction_feed.get_auction(platform, bidder(3), listing)["me"]["paddle"]
    with pytest.raises(Forbidden):
        auction_feed.get_auction(platform, bidder(4), onsite)
    platform.clock.set(at(2026, 10, 20, 15, 30, 10))
    with pytest.raises(Conflict, match="只有挂牌"):
        auctions.request_continue(platform, bidder(1), onsite)
    auctions.place_bid(platform, bidder(1), onsite, "1050000")
    view = _fire(platform, view["id"], 2026, 10, 20, 15, 31, 11)
    assert view["variables"]["auction_outcome"] == "sold"
    assert (view["variables"]["winner_uscc"], view["variables"]["award_amount"]) == (uscc(1), "1050000.00")
    result = auction_feed.get_auction(platform, bidder(2), onsite)["result"]
    assert result["reserve_met"] is True and "reserve_price" not in result


def test_a_listing_leader_keeps_the_sale_when_nobody_raises_on_site(platform, open_auction):
    view = open_auction(auction_terms("listing", onsite_start="2026-10-20T15:30:00+08:00",
                                      onsite_quiet_seconds=60))
    listing = view["variables"]["auction_id"]
    platform.clock.set(at(2026, 10, 12, 10, 0))
    auctions.place_bid(platform, bidder(1), listing, "1000000")
    auctions.place_bid(platform, bidder(2), listing, "1010000")
    auctions.request_continue(platform, bidder(1), listing)
    auctions.request_continue(platform, bidder(2), listing)
    _fire(platform, view["id"], 2026, 10, 20, 15, 0, 1)
    view = _fire(platform, view["id"], 2026, 10, 20, 15, 31, 1)
    assert (view["variables"]["winner_uscc"], view["variables"]["award_amount"]) == (uscc(2), "1010000.00")


def test_continue_is_refused_after_the_listing_closes(platform, open_auction):
    view = open_auction(auction_terms("listing"))
    listing = view["variables"]["auction_id"]
    platform.clock.set(at(2026, 10, 12, 10, 0))
    auctions.place_bid(platform, bidder(1), listing, "1000000")
    platform.clock.set(at(2026, 10, 20, 15, 0))
    with pytest.raises(Conflict, match="截止"):
        auctions.request_continue(platform, bidder(1), listing)
    view = _fire(platform, view["id"], 2026, 10, 20, 15, 0, 1)
    assert view["variables"]["continue_count"] == 0 and view["variables"]["winner_uscc"] == uscc(1)


def test_a_bidder_blacklisted_after_open_may_not_bid_and_a_suspended_trade_takes_no_bids(platform, open_auction):
    view = open_auction()
    aid = view["variables"]["auction_id"]
    platform.clock.set(at(2026, 10, 10, 9, 30))
    credit.add_listing(platform, SUPERVISOR, {"uscc": uscc(2), "list": "black", "source": "市场监管",
                                              "reason": "提供虚假材料"})
    with pytest.raises(Forbidden, match="黑名单"):
        auctions.place_bid(platform, bidder(2), aid, "1000000")
    raised = alerts.list_alerts(platform, SUPERVISOR, kind="blacklisted_attempt", instance_id=view["id"])
    assert len(raised) == 1 and "参与竞价" in raised[0]["message"]
    instances.change_status(platform, STAFF, view["id"], "suspend")
    with pytest.raises(Conflict, match="suspended"):
        auctions.place_bid(platform, bidder(1), aid, "1000000")


def test_bids_and_the_close_are_in_the_instance_audit_chain_by_paddle(platform, open_auction):
    view = open_auction()
    aid = view["variables"]["auction_id"]
    platform.clock.set(at(2026, 10, 10, 9, 30))
    bid = auctions.place_bid(platform, bidder(1), aid, "1000000")
    _fire(platform, view["id"], 2026, 10, 10, 10, 0, 1)
    with platform.db.sessions() as session:
        events = session.scalars(select(Event).where(Event.instance_id == view["id"]).order_by(Event.seq)).all()
        checked, broken = audit.verify(session, view["id"])
    types = [e.type for e in events]
    assert {"auction.opened", "auction.bid", "auction.closed"} <= set(types)
    bid_event = next(e for e in events if e.type == "auction.bid")
    assert bid_event.data["paddle"] == bid["paddle"] and bid_event.data["amount"] == "1000000.00"
    assert uscc(1) not in str(bid_event.data)
    assert broken is None and checked == len(events)


def test_a_listing_admits_a_bidder_whose_deposit_arrives_during_the_listing(platform, open_auction):
    view = open_auction(auction_terms("listing"))
    listing = view["variables"]["auction_id"]
    platform.clock.set(at(2026, 10, 12, 10, 0))
    with pytest.raises(Forbidden):
        auction_feed.get_auction(platform, bidder(7), listing)
    pay(platform, view["id"], 7)
    state = auction_feed.get_auction(platform, bidder(7), listing)
    assert state["me"] is None and "participant_count" not in state and state["minimum_bid"] == "1000000.00"
    bid = auctions.place_bid(platform, bidder(7), listing, "1000000")
    assert bid["paddle"] and auction_feed.get_auction(platform, bidder(7), listing)["me"]["leading"] is True
    assert auction_feed.get_auction(platform, STAFF, listing)["participant_count"] == 4
    auction = open_auction()
    pay(platform, auction["id"], 8)  # an auction fixes its participants when it opens
    platform.clock.set(at(2026, 10, 10, 9, 30))
    with pytest.raises(Forbidden, match="合格竞买人"):
        auctions.place_bid(platform, bidder(8), auction["variables"]["auction_id"], "1000000")
