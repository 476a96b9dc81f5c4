"""The pure evaluation methods, with every expected figure worked out by hand."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from domain.errors import Invalid
from trading.evaluation import (
    Bidder,
    Criterion,
    Review,
    Score,
    composite,
    lowest_price,
    parse_criteria,
    ranking_to_dict,
)

CRITERIA = [Criterion("tech", "技术", "technical", D(60)), Criterion("biz", "商务", "commercial", D(10)),
            Criterion("price", "价格", "price", D(30))]
A, B, C = Bidder("A", D("1000000")), Bidder("B", D("950000")), Bidder("C", D("1100000"))
MARKS = {  # expert 1, 2, 3
    ("A", "tech"): ("50", "52", "54"), ("A", "biz"): ("8", "8", "9"),
    ("B", "tech"): ("45", "46", "47.5"), ("B", "biz"): ("7", "8", "8"),
    ("C", "tech"): ("55", "56", "57"), ("C", "biz"): ("9", "9", "9"),
}


def scores(marks=MARKS):
    return [Score(e, b, c, D(v)) for (b, c), values in marks.items() for e, v in enumerate(values, start=1)]


def test_composite_by_hand():
    ranking = composite(CRITERIA, [A, B, C], scores())
    by = {r.uscc: r for r in ranking.ranked}
    # technical: A (50+52+54)/3 = 52.00; B (45+46+47.5)/3 = 46.1666… → 46.17; C (55+56+57)/3 = 56.00
    assert [by[x].scores["tech"] for x in "ABC"] == [D("52.00"), D("46.17"), D("56.00")]
    # commercial: A 25/3 = 8.333… → 8.33; B 23/3 = 7.666… → 7.67; C 9.00
    assert [by[x].scores["biz"] for x in "ABC"] == [D("8.33"), D("7.67"), D("9.00")]
    # price, base = lowest = 950,000: A 30×950000/1000000 = 28.50; B 30.00; C 30×950000/1100000 = 25.909… → 25.91
    assert [by[x].scores["price"] for x in "ABC"] == [D("28.50"), D("30.00"), D("25.91")]
    # totals: A 52.00+8.33+28.50 = 88.83; B 46.17+7.67+30.00 = 83.84; C 56.00+9.00+25.91 = 90.91
    assert [by[x].total for x in "ABC"] == [D("88.83"), D("83.84"), D("90.91")]
    assert [r.uscc for r in ranking.ranked] == ["C", "A", "B"]
    assert ranking.candidates == ["C", "A", "B"] and ranking.winner_candidate == "C"
    assert ranking.base_price == D("950000.00") and ranking.ties == ()


def test_average_base_price_and_the_cap_at_the_weight():
    ranking = composite(CRITERIA, [A, B, C], scores(), base="average")
    by = {r.uscc: r for r in ranking.ranked}
    # base = (1000000+950000+1100000)/3 = 1016666.666…; A 30×1016666.67/1000000 = 30.5 → capped at 30.00;
    # B capped at 30.00; C 30×1016666.666…/1100000 = 27.7272… → 27.73
    assert ranking.base_price == D("1016666.67")
    assert [by[x].scores["price"] for x in "ABC"] == [D("30.00"), D("30.00"), D("27.73")]


def test_dropping_the_highest_and_lowest_mark_needs_five_experts():
    five = {("A", "tech"): ("40", "50", "52", "54", "60"), ("A", "biz"): ("8",) * 5}
    plain = composite(CRITERIA[:2], [A], scores(five))
    trimmed = composite(CRITERIA[:2], [A], scores(five), drop_extremes=True)
    # all five: 256/5 = 51.20; without 40 and 60: (50+52+54)/3 = 52.00
    assert plain.ranked[0].scores["tech"] == D("51.20")
    assert trimmed.ranked[0].scores["tech"] == D("52.00")
    # three experts: nothing is dropped even when asked
    assert composite(CRITERIA, [A, B, C], scores(), drop_extremes=True) == composite(CRITERIA, [A, B, C], scores())


def test_rounding_is_half_up():
    two = {("A", "tech"): ("46.16", "46.17"), ("A", "biz"): ("8", "8")}
    # (46.16+46.17)/2 = 46.165 → 46.17 half up (banker's rounding would give 46.16)
    assert composite(CRITERIA[:2], [A], scores(two)).ranked[0].scores["tech"] == D("46.17")


def test_equal_totals_go_to_the_lower_price():
    criteria = [Criterion("tech", "技术", "technical", D(70)), Criterion("price", "价格", "price", D(30))]
    cheap, dear = Bidder("CHEAP", D(100)), Bidder("DEAR", D(120))
    marks = {("CHEAP", "tech"): ("60",), ("DEAR", "tech"): ("65",)}
    ranking = composite(criteria, [dear, cheap], scores(marks))
    # CHEAP 60 + 30×100/100 = 90.00; DEAR 65 + 30×100/120 = 65 + 25.00 = 90.00: the lower price first
    assert [(r.uscc, r.total) for r in ranking.ranked] == [("CHEAP", D("90.00")), ("DEAR", D("90.00"))]
    assert ranking.ties == ()


def test_equal_totals_and_prices_go_to_the_higher_technical_score():
    x, y, z = Bidder("X", D(100)), Bidder("Y", D(100)), Bidder("Z", D(100))
    marks = {("X", "tech"): ("40",), ("X", "biz"): ("10",), ("Y", "tech"): ("45",), ("Y", "biz"): ("5",),
             ("Z", "tech"): ("40",), ("Z", "biz"): ("10",)}
    ranking = composite(CRITERIA, [x, z, y], scores(marks))
    # all three: 50 + 30 = 80.00 at the same price; Y has the higher technical score (45)
    assert [r.uscc for r in ranking.ranked] == ["Y", "X", "Z"]
    # X and Z are equal in everything: reported for the committee to settle
    assert ranking.ties == (("X", "Z"),)


def test_marks_are_checked():
    with pytest.raises(Invalid, match="0 到 60"):
        composite(CRITERIA, [A], [Score(1, "A", "tech", D("60.5")), Score(1, "A", "biz", D(1))])
    with pytest.raises(Invalid, match="不由专家打分"):
        composite(CRITERIA, [A], [Score(1, "A", "price", D(1))])
    with pytest.raises(Invalid, match="评分不完整") as caught:
        composite(CRITERIA, [A, B], [Score(1, "A", "tech", D(1)), Score(1, "A", "biz", D(1))])
    assert caught.value.errors == ["专家 1 / B / tech", "专家 1 / B / biz"]
    with pytest.raises(Invalid, match="重复"):
        composite(CRITERIA[:1], [A], [Score(1, "A", "tech", D(1)), Score(1, "A", "tech", D(2))])


def test_criteria_are_parsed_and_checked():
    parsed = parse_criteria([{"key": "t", "kind": "technical", "max": "60"}, {"key": "p", "kind": "price", "max": 40}],
                            "composite")
    assert [(c.key, c.max) for c in parsed] == [("t", D(60)), ("p", D(40))]
    for bad in ([], [{"key": "p", "kind": "price", "max": 10}, {"key": "q", "kind": "price", "max": 10}],
                [{"key": "t", "kind": "beauty", "max": 10}], [{"key": "t", "kind": "technical", "max": "0"}],
                [{"key": "t", "kind": "technical", "max": 5}, {"key": "t", "kind": "commercial", "max": 5}]):
        with pytest.raises(Invalid):
            parse_criteria(bad, "composite")
    assert parse_criteria([], "lowest_evaluated_price") == []


def test_lowest_evaluated_price_by_hand():
    bidders = [Bidder("A", D("1000000"), (D("30000"),)), Bidder("B", D("1020000")), Bidder("C", D("990000")),
               Bidder("D", D("1050000"), (D("-12000"), D("2000.005")))]
    verdicts = {"A": (True, True, True), "B": (True, False, True), "C": (False, True, False), "D": (True,) * 3}
    reviews = [Review(e, b, ok) for b, oks in verdicts.items() for e, ok in enumerate(oks, start=1)]
    ranking = lowest_price(bidders, reviews)
    # C fails 1 to 2; B passes 2 to 1.
    # evaluated: A 1000000+30000 = 1030000.00; B 1020000.00; D 1050000-12000+2000.005 = 1040000.005 → 1040000.01
    assert [(r.uscc, r.evaluated_price) for r in ranking.ranked] == [
        ("B", D("1020000.00")), ("A", D("1030000.00")), ("D", D("1040000.01"))]
    assert ranking.rejected == ("C",) and ranking.candidates == ["B", "A", "D"]
    result = ranking_to_dict(ranking)
    assert result["winner_candidate"] == "B" and result["ranking"][0]["evaluated_price"] == "1020000.00"


def test_a_split_review_fails_and_only_three_candidates_are_named():
    bidders = [Bidder(f"P{i}", D(100 + i)) for i in range(5)]
    votes = {"P0": (True, True, False, False)}
    reviews = [Review(e, b.uscc, ok) for b in bidders
               for e, ok in enumerate(votes.get(b.uscc, (True,) * 4), start=1)]
    ranking = lowest_price(bidders, reviews)
    # P0: 2 of 4 is no majority
    assert ranking.rejected == ("P0",)
    assert ranking.candidates == ["P1", "P2", "P3"] and len(ranking.ranked) == 4


def test_equal_evaluated_prices_go_to_the_lower_bid():
    bidders = [Bidder("HI", D(100), (D(-10),)), Bidder("LO", D(90))]
    ranking = lowest_price(bidders, [Review(1, "HI", True), Review(1, "LO", True)])
    # both evaluate at 90.00; LO bid less
    assert [r.uscc for r in ranking.ranked] == ["LO", "HI"]


def test_nobody_passing_leaves_no_candidate():
    ranking = lowest_price([Bidder("A", D(1))], [Review(1, "A", False)])
    assert ranking.candidates == [] and ranking.winner_candidate is None


def test_incomplete_reviews_are_refused():
    with pytest.raises(Invalid, match="不完整"):
        lowest_price([Bidder("A", D(1)), Bidder("B", D(2))], [Review(1, "A", True), Review(2, "B", True)])
