"""Evaluation methods: 综合评分法 (weighted scores, price by formula) and 经评审的最低投标价法.

Money and scores are Decimal; every published figure (a criterion score, the price score, the total, the
evaluated price) is rounded to 2 places ROUND_HALF_UP, and a total is the sum of its rounded parts so that
anyone can add up the report by hand.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from domain.errors import Invalid

COMPOSITE = "composite"
LOWEST_PRICE = "lowest_evaluated_price"
METHODS = {COMPOSITE: "综合评分法", LOWEST_PRICE: "经评审的最低投标价法"}
KINDS = {"technical": "技术", "commercial": "商务", "price": "价格"}
BASES = ("lowest", "average")
CANDIDATES = 3
CENT = Decimal("0.01")


def money(value: Any, what: str = "金额") -> Decimal:
    """A Decimal from a str, int, Decimal or JSON number (a float through its shortest repr, 28.5 → "28.5")."""
    if isinstance(value, bool) or value is None:
        raise Invalid(f"{what}不是合法的数字：{value!r}")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise Invalid(f"{what}不是合法的数字：{value!r}") from None
    if not number.is_finite():
        raise Invalid(f"{what}不是合法的数字：{value!r}")
    return number


def r2(value: Decimal) -> Decimal:
    """Round to 2 places, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Criterion:
    """One scoring criterion: its key, kind (technical, commercial, price) and maximum points (its weight)."""

    key: str
    name: str
    kind: str
    max: Decimal


@dataclass(frozen=True)
class Bidder:
    """A bidder under evaluation: its USCC, its bid price, and price adjustments (additions) if any."""

    uscc: str
    price: Decimal
    adjustments: tuple[Decimal, ...] = ()


@dataclass(frozen=True)
class Score:
    """One expert's mark for one bidder on one criterion."""

    expert: int
    bidder: str
    criterion: str
    value: Decimal


@dataclass(frozen=True)
class Review:
    """One expert's pass or fail for one bidder in the qualitative review."""

    expert: int
    bidder: str
    passed: bool


@dataclass(frozen=True)
class Ranked:
    """A bidder's place: total score (composite) or evaluated price (lowest price)."""

    rank: int
    uscc: str
    price: Decimal
    total: Decimal | None = None
    evaluated_price: Decimal | None = None
    technical: Decimal | None = None
    scores: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Ranking:
    """The outcome of an evaluation."""

    method: str
    ranked: tuple[Ranked, ...]
    rejected: tuple[str, ...] = ()
    base_price: Decimal | None = None
    ties: tuple[tuple[str, ...], ...] = ()

    @property
    def candidates(self) -> list[str]:
        """Up to three candidates in order."""
        return [r.uscc for r in self.ranked[:CANDIDATES]]

    @property
    def winner_candidate(self) -> str | None:
        """The first candidate, if any bidder qualified."""
        return self.ranked[0].uscc if self.ranked else None


def parse_criteria(raw: Sequence[dict[str, Any]], method: str) -> list[Criterion]:
    """Criteria from JSON; the composite method needs at least one, with at most one price criterion."""
    if method == LOWEST_PRICE:
        if raw:
            raise Invalid("经评审的最低投标价法不设评分项，只做合格性评审和价格折算")
        return []
    if not raw:
        raise Invalid("综合评分法需要评分项（技术、商务、价格）")
    criteria: list[Criterion] = []
    for item in raw:
        key, kind = str(item.get("key", "")).strip(), item.get("kind")
        if not key or len(key) > 40:
            raise Invalid("评分项 key 必填，最长 40 个字符")
        if kind not in KINDS:
            raise Invalid(f"评分项 {key} 的类别只能是：{', '.join(KINDS)}")
        top = money(item.get("max"), f"评分项 {key} 的分值")
        if top <= 0 or top != r2(top):
            raise Invalid(f"评分项 {key} 的分值必须为正数，最多两位小数")
        criteria.append(Criterion(key, str(item.get("name") or key), kind, top))
    keys = [c.key for c in criteria]
    if len(set(keys)) != len(keys):
        raise Invalid("评分项 key 重复")
    if sum(1 for c in criteria if c.kind == "price") > 1:
        raise Invalid("只能有一个价格评分项")
    return criteria


def composite(criteria: Sequence[Criterion], bidders: Sequence[Bidder], scores: Iterable[Score],
              base: str = "lowest", drop_extremes: bool = False) -> Ranking:
    """综合评分法: average the experts' marks per criterion, add the price score, rank by total."""
    if base not in BASES:
        raise Invalid(f"评标基准价只能取：{', '.join(BASES)}")
    _check_bidders(bidders)
    scored = [c for c in criteria if c.kind != "price"]
    marks = _collect(scored, bidders, list(scores))
    price_criterion = next((c for c in criteria if c.kind == "price"), None)
    prices = [b.price for b in bidders]
    base_price: Decimal | None = None
    if price_criterion is not None and prices:
        # 87号令 art. 55: the lowest valid price is the base; the average is the other common convention.
        base_price = min(prices) if base == "lowest" else sum(prices, Decimal(0)) / len(prices)
    rows = []
    for bidder in bidders:
        parts = {c.key: _average(marks[(bidder.uscc, c.key)], drop_extremes) for c in scored}
        if price_criterion is not None and base_price is not None:
            # Capped at the criterion's maximum: against an average base a low price would otherwise score
            # more than the weight the documents gave price.
            parts[price_criterion.key] = r2(min(price_criterion.max, price_criterion.max * base_price / bidder.price))
        technical = sum((parts[c.key] for c in scored if c.kind == "technical"), Decimal("0.00"))
        total = sum(parts.values(), Decimal("0.00"))
        rows.append((bidder, parts, technical, total))
    # Equal totals: the lower price first (87号令 art. 55), then the higher technical score, as tender
    # documents usually provide; the USCC only keeps the order reproducible, so full ties are reported.
    rows.sort(key=lambda r: (-r[3], r[0].price, -r[2], r[0].uscc))
    ranked = tuple(
        Ranked(rank=i, uscc=b.uscc, price=b.price, total=total, technical=tech, scores=parts)
        for i, (b, parts, tech, total) in enumerate(rows, start=1)
    )
    ties = _ties(ranked, lambda r: (r.total, r.price, r.technical))
    return Ranking(COMPOSITE, ranked, base_price=None if base_price is None else r2(base_price), ties=ties)


def lowest_price(bidders: Sequence[Bidder], reviews: Iterable[Review]) -> Ranking:
    """经评审的最低投标价法: bidders a majority of experts passed, by evaluated price ascending."""
    _check_bidders(bidders)
    votes: dict[str, dict[int, bool]] = defaultdict(dict)
    experts: set[int] = set()
    known = {b.uscc for b in bidders}
    for review in reviews:
        if review.bidder not in known:
            raise Invalid(f"投标人 {review.bidder} 不在本次评标范围内")
        if review.expert in votes[review.bidder]:
            raise Invalid(f"专家 {review.expert} 对投标人 {review.bidder} 重复评审")
        votes[review.bidder][review.expert] = review.passed
        experts.add(review.expert)
    if not experts:
        raise Invalid("尚无专家提交评审意见")
    missing = [f"专家 {e} / {b.uscc}" for e in sorted(experts) for b in bidders if e not in votes[b.uscc]]
    if missing:
        raise Invalid("评审意见不完整", missing)
    passed: list[Bidder] = []
    rejected: list[Bidder] = []
    for bidder in bidders:
        ayes = sum(1 for ok in votes[bidder.uscc].values() if ok)
        # A strict majority of the experts who reviewed (少数服从多数): a tie is not a pass.
        (passed if ayes * 2 > len(experts) else rejected).append(bidder)
    rows = sorted(((b, r2(b.price + sum(b.adjustments, Decimal(0)))) for b in passed),
                  key=lambda r: (r[1], r[0].price, r[0].uscc))
    ranked = tuple(Ranked(rank=i, uscc=b.uscc, price=b.price, evaluated_price=ev)
                   for i, (b, ev) in enumerate(rows, start=1))
    ties = _ties(ranked, lambda r: (r.evaluated_price, r.price))
    return Ranking(LOWEST_PRICE, ranked, rejected=tuple(sorted(b.uscc for b in rejected)), ties=ties)


def ranking_to_dict(ranking: Ranking) -> dict[str, Any]:
    """The ranking as JSON: Decimals as strings with two places."""
    def s(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "method": ranking.method,
        "ranking": [
            {"rank": r.rank, "uscc": r.uscc, "price": s(r.price), "total": s(r.total),
             "evaluated_price": s(r.evaluated_price), "technical": s(r.technical),
             "scores": {k: str(v) for k, v in r.scores.items()}}
            for r in ranking.ranked
        ],
        "candidates": ranking.candidates,
        "winner_candidate": ranking.winner_candidate,
        "rejected": list(ranking.rejected),
        "base_price": s(ranking.base_price),
        "ties": [list(t) for t in ranking.ties],
    }


def _check_bidders(bidders: Sequence[Bidder]) -> None:
    usccs = [b.uscc for b in bidders]
    if len(set(usccs)) != len(usccs):
        raise Invalid("投标人重复")
    for bidder in bidders:
        if bidder.price <= 0:
            raise Invalid(f"投标人 {bidder.uscc} 的投标报价必须大于零")


def _collect(criteria: Sequence[Criterion], bidders: Sequence[Bidder],
             scores: list[Score]) -> dict[tuple[str, str], list[Decimal]]:
    """Every expert's marks by (bidder, criterion), checked for range, duplicates and completeness."""
    by_key = {c.key: c for c in criteria}
    known = {b.uscc for b in bidders}
    seen: set[tuple[int, str, str]] = set()
    marks: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for score in scores:
        criterion = by_key.get(score.criterion)
        if criterion is None:
            raise Invalid(f"评分项 {score.criterion} 不存在或不由专家打分")
        if score.bidder not in known:
            raise Invalid(f"投标人 {score.bidder} 不在本次评标范围内")
        if not Decimal(0) <= score.value <= criterion.max:
            raise Invalid(f"评分项 {criterion.name} 的得分应在 0 到 {criterion.max} 之间，不能为 {score.value}")
        key = (score.expert, score.bidder, score.criterion)
        if key in seen:
            raise Invalid(f"专家 {score.expert} 对投标人 {score.bidder} 的评分项 {score.criterion} 重复打分")
        seen.add(key)
        marks[(score.bidder, score.criterion)].append(score.value)
    experts = sorted({e for e, _, _ in seen})
    if criteria and bidders and not experts:
        raise Invalid("尚无专家提交评分")
    missing = [f"专家 {e} / {b.uscc} / {c.key}" for e in experts for b in bidders for c in criteria
               if (e, b.uscc, c.key) not in seen]
    if missing:
        raise Invalid("评分不完整", missing)
    return marks


def _average(values: list[Decimal], drop_extremes: bool) -> Decimal:
    if drop_extremes and len(values) >= 5:
        values = sorted(values)[1:-1]
    return r2(sum(values, Decimal(0)) / len(values))


def _ties(ranked: Sequence[Ranked], key: Any) -> tuple[tuple[str, ...], ...]:
    groups: dict[Any, list[str]] = defaultdict(list)
    for r in ranked:
        groups[key(r)].append(r.uscc)
    return tuple(tuple(g) for g in groups.values() if len(g) > 1)
