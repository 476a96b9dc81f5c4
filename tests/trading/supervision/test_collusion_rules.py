"""Pure collusion indicators: shared values, price progressions, keys, scores and citations."""
from __future__ import annotations

from decimal import Decimal

import pytest

from trading import collusion


def prices(*values: str) -> dict[str, Decimal]:
    return {f"b{i}": Decimal(v) for i, v in enumerate(values)}


def test_values_shared_by_two_bidders_are_found_with_who_shares_them() -> None:
    found = collusion.shared("same_device", [("A", "fp1"), ("B", "fp1"), ("C", "fp2"), ("A", "fp1"), ("C", None)])
    assert [(f.value, f.bidders) for f in found] == [("fp1", ("A", "B"))]
    assert found[0].score == 70 and collusion.severity(found[0].score) == "warning"


def test_a_value_used_by_one_bidder_only_is_not_a_finding() -> None:
    assert collusion.shared("same_device", [("A", "fp1"), ("A", "fp1"), ("B", "fp2"), ("C", "")]) == []


def test_more_bidders_sharing_score_higher_up_to_100() -> None:
    many = collusion.shared("same_deposit_account", [(b, "6222") for b in "ABCDEFGH"])[0]
    assert many.score == 100 and collusion.severity(many.score) == "critical"
    three = collusion.shared("same_ip", [(b, "10.0.0.1") for b in "ABC"])[0]
    assert three.score == 45 and collusion.severity(three.score) == "info"


@pytest.mark.parametrize("values, kind, bidders", [
    (("100.00", "200.00", "300.00"), "arithmetic", ("b0", "b1", "b2")),
    (("9800000", "9900000.40", "10000000"), "arithmetic", ("b0", "b1", "b2")),  # steps within 0.5 % of each other
    (("100", "110", "121"), "geometric", ("b0", "b1", "b2")),
    (("300", "100", "500", "200", "400"), "arithmetic", ("b1", "b3", "b0", "b4", "b2")),  # order of arrival is irrelevant
])
def test_regular_progressions_of_three_or_more_prices_are_found(values: tuple[str, ...], kind: str,
                                                                bidders: tuple[str, ...]) -> None:
    found = collusion.progressions(prices(*values))
    assert len(found) == 1
    assert found[0].details["kind"] == kind and found[0].bidders == bidders


@pytest.mark.parametrize("values", [
    ("100", "150", "300"),
    ("100", "200"),  # two prices are no progression
    ("100", "100", "100"),  # equal prices are not a progression
    ("9800000", "9900000", "10010000"),  # steps 100000 and 110000: 10 % apart
    ("1000", "1100", "1211"),  # ratios 1.1 and 1.10090...: outside the geometric tolerance, not arithmetic either
])
def test_irregular_prices_are_not_a_progression(values: tuple[str, ...]) -> None:
    assert collusion.progressions(prices(*values)) == []


def test_a_progression_is_reported_once_with_its_step() -> None:
    found = collusion.progressions(prices("100", "200", "300", "1000"))
    assert len(found) == 1
    assert found[0].details["step"] == "100.00" and found[0].details["ratio"] is None
    assert [p["price"] for p in found[0].details["prices"]] == ["100.00", "200.00", "300.00"]


def test_keys_ignore_what_cannot_identify_a_client() -> None:
    assert collusion.ip_key("127.0.0.1") is None and collusion.ip_key("::1") is None
    assert collusion.ip_key("not an ip") is None and collusion.ip_key(None) is None
    assert collusion.ip_key(" 10.2.3.4 ") == "10.2.3.4"
    assert collusion.phone_key("+86 138-0000-1111") == collusion.phone_key("13800001111") == "13800001111"
    assert collusion.phone_key("123") is None
    assert collusion.email_key(" Li@Example.COM ") == "li@example.com" and collusion.email_key("nobody") is None


def test_citations_follow_the_law_of_the_trade() -> None:
    assert collusion.citation("same_deposit_account", procurement=False) == "《招标投标法实施条例》第四十条第（六）项"
    assert collusion.citation("price_progression", procurement=True) == "财政部令第87号第三十七条第（四）项"


def test_a_finding_has_a_stable_digest() -> None:
    one = collusion.Finding("same_ip", "10.0.0.1", ("A", "B"))
    assert one.digest == collusion.Finding("same_ip", "10.0.0.1", ("A", "B", "C")).digest
    assert one.digest != collusion.Finding("same_device", "10.0.0.1", ("A", "B")).digest
