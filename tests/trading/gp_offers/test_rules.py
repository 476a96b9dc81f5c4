"""Pure rules of the 竞争性谈判 and 询价 offers: amounts as decimal strings, rounds, the lowest qualified price."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import Invalid
from persistence.models_gp_offers import GpOffer
from services.trading.gp_offers import current_round, lowest_qualified, money, parse_amount, round_is_open

T0 = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "value"), [("880000.00", Decimal("880000")), ("950000", Decimal("950000")),
                                             ("0.01", Decimal("0.01"))])
def test_amounts_are_decimal_strings(text: str, value: Decimal) -> None:
    assert parse_amount(text) == value


@pytest.mark.parametrize("bad", ["0", "0.00", "-5", "1.005", "1e6", "", " ", "12,000", 880000, 880000.0, None])
def test_other_amounts_are_refused(bad: object) -> None:
    with pytest.raises(Invalid):
        parse_amount(bad)


def test_money_keeps_two_decimals() -> None:
    assert money(Decimal("950000")) == "950000.00" and money(Decimal("0.5")) == "0.50"


def test_round_variables() -> None:
    assert current_round({}) == 1 and round_is_open({})
    assert current_round({"offer_round": 3, "round_open": False}) == 3 and not round_is_open({"round_open": False})


def offer(org: str, amount: str, minutes: int) -> GpOffer:
    return GpOffer(supplier_uscc=org, amount=Decimal(amount), submitted_at=T0 + timedelta(minutes=minutes))


def test_the_lowest_price_among_qualified_suppliers_ranks_first() -> None:
    offers = [offer("A", "880000", 0), offer("B", "940000", 1), offer("C", "790000", 2)]
    assert [o.supplier_uscc for o in lowest_qualified(offers, {"A", "B"})] == ["A", "B"]
    assert lowest_qualified(offers, set()) == []


def test_an_equal_price_goes_to_the_earlier_offer() -> None:
    offers = [offer("late", "100", 5), offer("early", "100.00", 1)]
    assert [o.supplier_uscc for o in lowest_qualified(offers, {"late", "early"})] == ["early", "late"]
