"""Pure bidding rules: terms, bid validity, the effective close time of each kind, the outcome, paddles."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.errors import Conflict, Invalid
from trading import auction as rules

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 10, 9, 0, tzinfo=SH)


def terms(kind: str = "auction", **extra: object) -> rules.Terms:
    data: dict[str, object] = {"auction_kind": kind, "start_price": "1000000", "increment": "10000",
                               "auction_start": START.isoformat()}
    if kind == "online":
        data.update(free_quote_until=(START + timedelta(hours=1)).isoformat(),
                    auction_end=(START + timedelta(hours=1, minutes=5)).isoformat(),
                    extend_window_seconds=300, extend_seconds=300)
    elif kind == "listing" or "quiet_seconds" not in extra:
        data["auction_end"] = (START + timedelta(hours=1)).isoformat()
    data.update(extra)
    return rules.parse_terms(data, SH)


def s(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


# --- terms ---------------------------------------------------------------------------------------------


def test_terms_read_amounts_as_decimals_and_naive_times_as_shanghai_time():
    t = terms(auction_start="2026-10-10T09:00:00", reserve_price="1200000.5")
    assert t.start_price == Decimal("1000000.00") and t.increment == Decimal("10000.00")
    assert t.reserve_price == Decimal("1200000.50")
    assert t.starts_at == START


@pytest.mark.parametrize("change, field", [
    ({"auction_kind": "dutch"}, "auction_kind"),
    ({"start_price": "-1"}, "start_price"),
    ({"increment": "0"}, "increment"),
    ({"start_price": "10.001"}, "start_price"),
    ({"auction_start": "tomorrow"}, "auction_start"),
    ({"auction_start": None}, "auction_start"),
    ({"auction_end": "2026-10-10T08:00:00+08:00"}, "auction_end"),
    ({"auction_end": None}, "auction_end"),
    ({"quiet_seconds": "0", "auction_end": None}, "quiet_seconds"),
])
def test_inconsistent_terms_are_invalid_naming_the_field(change, field):
    data = {"auction_kind": "auction", "start_price": "1000000", "increment": "10000",
            "auction_start": START.isoformat(), "auction_end": (START + timedelta(hours=1)).isoformat(), **change}
    with pytest.raises(Invalid) as caught:
        rules.parse_terms(data, SH)
    assert caught.value.errors[0]["field"] == field


def test_listing_needs_an_end_and_online_needs_its_periods():
    with pytest.raises(Invalid, match="挂牌截止时间"):
        rules.parse_terms({"auction_kind": "listing", "start_price": "1", "increment": "1",
                           "auction_start": START.isoformat()}, SH)
    with pytest.raises(Invalid, match="延时"):
        terms("online", extend_seconds=None)
    with pytest.raises(Invalid, match="自由报价截止时间须在"):
        terms("online", free_quote_until=(START + timedelta(hours=2)).isoformat())


def test_a_reserve_below_the_start_price_decides_nothing_and_is_dropped():
    assert terms(reserve_price="999999.99").reserve_price is None
    assert terms(reserve_price="1000000").reserve_price == Decimal("1000000.00")


# --- bids ----------------------------------------------------------------------------------------------


def test_the_first_bid_may_equal_the_start_price_later_ones_need_an_increment():
    t = terms()
    rules.check_amount(t, None, Decimal("1000000.00"))
    rules.check_amount(t, None, Decimal("1030000.00"))
    rules.check_amount(t, Decimal("1000000.00"), Decimal("1010000.00"))
    rules.check_amount(t, Decimal("1000000.00"), Decimal("1050000.00"))
    assert rules.minimum_bid(t, None) == Decimal("1000000.00")
    assert rules.minimum_bid(t, Decimal("1010000.00")) == Decimal("1020000.00")


@pytest.mark.parametrize("current, amount, message", [
    (None, "999999.99", "低于起始价"),
    (None, "1005000", "整数倍"),
    ("1000000", "1000000", "加一个加价幅度"),
    ("1000000", "1009999.99", "最低 1010000.00 元"),
    ("1000000", "1015000", "整数倍"),
])
def test_bids_below_the_minimum_or_off_the_increment_are_invalid(current, amount, message):
    with pytest.raises(Invalid, match=message):
        rules.check_amount(terms(), Decimal(current) if current else None, Decimal(amount))


def test_bids_are_refused_before_the_start_at_the_close_time_and_once_closed():
    t = terms()
    close = rules.initial_close(t)
    rules.check_open(t, close, START, False, SH)
    rules.check_open(t, close, close - timedelta(microseconds=1), False, SH)
    with pytest.raises(Conflict, match="尚未开始"):
        rules.check_open(t, close, START - timedelta(microseconds=1), False, SH)
    with pytest.raises(Conflict, match="截止") as caught:
        rules.check_open(t, close, close, False, SH)
    assert caught.value.errors["closes_at"] == close.isoformat()
    with pytest.raises(Conflict, match="已结束"):
        rules.check_open(t, close, START, True, SH)


def test_the_leader_may_not_raise_its_own_bid():
    rules.check_not_leading(False)
    with pytest.raises(Conflict, match="最高报价人"):
        rules.check_not_leading(True)


# --- close time ----------------------------------------------------------------------------------------


def test_a_fixed_end_auction_and_a_listing_close_at_their_end_whatever_the_bids():
    for kind in ("auction", "listing"):
        t = terms(kind)
        assert rules.effective_close(t, []) == START + timedelta(hours=1)
        assert rules.effective_close(t, [s(3599), s(3599.9)]) == START + timedelta(hours=1)


def test_a_quiet_period_auction_closes_n_seconds_after_the_last_bid():
    t = terms(quiet_seconds=60, auction_end=None)
    assert rules.effective_close(t, []) == s(60)
    assert rules.effective_close(t, [s(30), s(85)]) == s(145)


def test_a_fixed_end_caps_the_quiet_period():
    t = terms(quiet_seconds=60, auction_end=(START + timedelta(hours=1)).isoformat())
    assert rules.effective_close(t, [s(3590)]) == START + timedelta(hours=1)
    assert rules.effective_close(t, [s(100)]) == s(160)


def test_online_bids_in_the_last_window_extend_the_close_and_earlier_ones_do_not():
    t = terms("online")
    end = START + timedelta(hours=1, minutes=5)
    assert rules.effective_close(t, [s(600), end - timedelta(seconds=301)]) == end
    assert rules.effective_close(t, [end - timedelta(seconds=300)]) == end
    assert rules.effective_close(t, [end - timedelta(seconds=10)]) == end + timedelta(seconds=290)
    # Each bid in the window of the extended period extends it again.
    chain = [end - timedelta(seconds=10), end + timedelta(seconds=200), end + timedelta(seconds=480)]
    assert rules.effective_close(t, chain) == end + timedelta(seconds=780)


def test_the_close_time_is_a_fold_over_bids_so_it_agrees_with_step_by_step_updates():
    t = terms("online")
    rng = random.Random(7)
    times = sorted(s(3000 + rng.uniform(0, 1500)) for _ in range(40))
    close = rules.initial_close(t)
    accepted = []
    for bid_at in times:
        if bid_at >= close:
            break
        accepted.append(bid_at)
        close = rules.next_close(t, close, bid_at)
    assert rules.effective_close(t, accepted) == close


def test_a_quote_carried_over_before_the_start_moves_nothing():
    t = terms(quiet_seconds=60, auction_end=None)
    assert rules.effective_close(t, [START - timedelta(minutes=30)]) == s(60)


def test_phases():
    t = terms("online")
    close = rules.initial_close(t)
    assert rules.phase(t, close, START - timedelta(seconds=1), False) == "scheduled"
    assert rules.phase(t, close, s(10), False) == "free_quote"
    assert rules.phase(t, close, s(3700), False) == "open"
    assert rules.phase(t, close, close, False) == "closing"
    assert rules.phase(t, close, close, True) == "closed"


# --- outcome and paddles -------------------------------------------------------------------------------


def test_the_outcome_follows_the_highest_bid_and_the_reserve():
    assert rules.outcome(terms(), None) == rules.Outcome("no_bids", None, None)
    assert rules.outcome(terms(), Decimal("1000000.00")) == rules.Outcome("sold", Decimal("1000000.00"), None)
    with_reserve = terms(reserve_price="1200000")
    assert rules.outcome(with_reserve, Decimal("1190000.00")).outcome == "no_sale"
    assert rules.outcome(with_reserve, Decimal("1190000.00")).reserve_met is False
    assert rules.outcome(with_reserve, Decimal("1200000.00")) == rules.Outcome("sold", Decimal("1200000.00"), True)


def test_two_requests_to_continue_lead_to_an_on_site_auction():
    assert not rules.onsite_auction_due(1)
    assert rules.onsite_auction_due(2)


def test_paddles_are_distinct_random_numbers_avoiding_the_taken_ones():
    numbers = rules.paddles(250, taken=["100", "101"], rng=random.Random(1))  # type: ignore[arg-type]
    assert len(set(numbers)) == 250 and not {"100", "101"} & set(numbers)
    assert all(len(n) == 3 for n in numbers)
    assert numbers != sorted(numbers)
    assert {len(n) for n in rules.paddles(400)} == {4}
