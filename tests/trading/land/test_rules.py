"""The tender award and bidder count of land and mining-right grants (trading.land), without a database."""
from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import Invalid
from trading import land as rules
from trading.uscc import check_character


def uscc(n: int) -> str:
    body = f"91330100{n:09d}"
    return body + check_character(body)


A, B, C, D = (uscc(n) for n in (11, 12, 13, 14))


def record(*pairs: tuple[str, int | str]) -> list[dict[str, object]]:
    return [{"bidder_uscc": code, "price": price} for code, price in pairs]


def test_the_record_names_every_qualified_bidder_once_and_sets_aside_bids_without_a_deposit() -> None:
    bids, aside = rules.parse_record(record((B, 200), (A, 100), (D, 900)), [A, B], [A, B, D])
    assert bids == [rules.TenderBid(A, Decimal("100.00"), 0), rules.TenderBid(B, Decimal("200.00"), 1)]
    assert aside == [D]
    with pytest.raises(Invalid, match=B):
        rules.parse_record(record((A, 100)), [A, B], [A, B])
    with pytest.raises(Invalid, match="重复"):
        rules.parse_record(record((A, 100), (A, 120), (B, 1)), [A, B], [A, B])
    with pytest.raises(Invalid, match="没有按时递交并解密"):
        rules.parse_record(record((A, 100), (B, 1), (C, 5)), [A, B], [A, B])
    with pytest.raises(Invalid, match="两位小数"):
        rules.parse_record(record((A, "100.001")), [A], [A])
    with pytest.raises(Invalid):
        rules.parse_record({"bidder_uscc": A}, [A], [A])
    assert rules.parse_record(None, [], []) == ([], [])


def test_highest_price_wins_the_earlier_bid_breaks_a_tie_and_the_reserve_must_be_met() -> None:
    bids, _ = rules.parse_record(record((A, 300), (B, 500), (C, 500)), [A, B, C], [A, B, C])
    award = rules.highest_price(bids, None)
    assert (award.outcome, award.winner and award.winner.uscc, award.reserve_met) == ("sold", B, None)
    assert rules.highest_price(bids, Decimal(500)).reserve_met is True
    below = rules.highest_price(bids, Decimal("500.01"))
    assert (below.outcome, below.winner, below.reserve_met) == ("no_sale", None, False)
    assert rules.highest_price([], Decimal(1)).outcome == "no_bids"


def test_composite_takes_the_best_ranked_candidate_not_below_the_reserve() -> None:
    bids, _ = rules.parse_record(record((A, 300), (B, 500), (C, 400)), [A, B, C], [A, B, C])
    assert rules.ranked(bids, [A, C, B], None).winner == bids[0]
    assert rules.ranked(bids, [A, C, B], Decimal(350)).winner == bids[2]
    assert rules.ranked(bids, [A, C], Decimal(450)).outcome == "no_sale"
    assert rules.ranked(bids, [], None).outcome == "no_bids"
    with pytest.raises(Invalid, match=D):
        rules.ranked(bids, [D], None)


def test_enough_bidders_compares_a_count_with_the_rule() -> None:
    assert rules.enough_bidders(3, 3) and not rules.enough_bidders(2, 3)
    for bad in (True, -1, "3", None):
        with pytest.raises(Invalid):
            rules.enough_bidders(bad, 3)
