"""Land-use and mining-right grants (土地使用权、矿业权出让) as pure rules: the tender award and the bidder count.

招标拍卖挂牌出让国有建设用地使用权规定 (国土资源部令第39号) 第十三条: fewer than three bidders end a tender; the
opening reads out every bidder's price. 第十四条: the winner is the bidder that best meets the comprehensive
criteria, or that meets the documents and offers the highest price. A price below the reserve (底价) wins nothing.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.errors import Invalid
from trading import deposits as money_rules
from trading import uscc as uscc_rules

HIGHEST_PRICE = "highest_price"
COMPOSITE = "composite"
METHODS = {HIGHEST_PRICE: "价高者得", COMPOSITE: "综合评标"}

SOLD = "sold"
NO_SALE = "no_sale"
NO_BIDS = "no_bids"
OUTCOMES = {SOLD: "成交", NO_SALE: "投标价格均低于底价，未成交", NO_BIDS: "无有效投标，未成交"}


@dataclass(frozen=True)
class TenderBid:
    """A qualified bidder's price as read out at the opening; arrival orders bids that tie."""

    uscc: str
    price: Decimal
    arrival: int


@dataclass(frozen=True)
class Award:
    """How a tender ended: the outcome, the winning bid when sold, whether the reserve was met."""

    outcome: str
    winner: TenderBid | None
    reserve_met: bool | None


def parse_record(raw: Any, qualified: Sequence[str], decrypted: Iterable[str]) -> tuple[list[TenderBid], list[str]]:
    """The opening record [{bidder_uscc, price}]: every qualified bidder once; bids without a deposit are set aside.

    Returns the qualified bids in order of arrival and the USCCs set aside (decrypted, but no deposit in time).
    """
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise _invalid("/opening_prices", "开标记录应为列表 [{bidder_uscc, price}]")
    opened = set(decrypted)
    prices: dict[str, Decimal] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise _invalid(f"/opening_prices/{i}", "每条开标记录应为 {bidder_uscc, price}")
        code = uscc_rules.clean(str(item.get("bidder_uscc") or ""), f"opening_prices/{i}/bidder_uscc")
        if code in prices:
            raise _invalid(f"/opening_prices/{i}/bidder_uscc", f"投标人 {code} 重复记录")
        if code not in opened:
            raise _invalid(f"/opening_prices/{i}/bidder_uscc", f"投标人 {code} 没有按时递交并解密的投标文件")
        prices[code] = money_rules.money(item.get("price"), f"opening_prices/{i}/price")
    missing = [code for code in qualified if code not in prices]
    if missing:
        raise _invalid("/opening_prices", f"开标记录缺少以下有效投标人的报价：{', '.join(missing)}")
    bids = [TenderBid(code, prices[code], n) for n, code in enumerate(qualified)]
    set_aside = sorted(code for code in prices if code not in set(qualified))
    return bids, set_aside


def highest_price(bids: Sequence[TenderBid], reserve: Decimal | None) -> Award:
    """价高者得: the highest price wins, the earlier bid on a tie; below the reserve nobody wins."""
    if not bids:
        return Award(NO_BIDS, None, None)
    best = min(bids, key=lambda b: (-b.price, b.arrival))
    if reserve is not None and best.price < reserve:
        return Award(NO_SALE, None, False)
    return Award(SOLD, best, None if reserve is None else True)


def ranked(bids: Sequence[TenderBid], candidates: Sequence[str], reserve: Decimal | None) -> Award:
    """综合评标: the best-ranked candidate whose price is not below the reserve wins."""
    if not bids:
        return Award(NO_BIDS, None, None)
    by_uscc = {b.uscc: b for b in bids}
    unknown = [c for c in candidates if c not in by_uscc]
    if unknown:
        raise _invalid("/candidates", f"中标候选人不在有效投标人之中：{', '.join(unknown)}")
    eligible = [by_uscc[c] for c in candidates if reserve is None or by_uscc[c].price >= reserve]
    if not eligible:
        return Award(NO_SALE if candidates else NO_BIDS, None, False if reserve is not None and candidates else None)
    return Award(SOLD, eligible[0], None if reserve is None else True)


def enough_bidders(count: Any, minimum: int) -> bool:
    """A COUNT rule: at least `minimum` qualified bidders."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _invalid("/qualified_count", "合格竞买人数应为非负整数")
    return count >= minimum


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, [{"field": field, "message": message}])
