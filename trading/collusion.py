"""Collusion indicators (串通投标) of 招标投标法实施条例 第四十条 and 财政部令第87号 第三十七条, as pure functions.

Each indicator finds bidders that share something they should not: the account their bond came from, the
device or address their bid was sent from, the bid file itself, a contact, or prices in a regular progression.
A finding is evidence with a score for a supervisor's review, never a decision: the law says such bids are
"视为" collusion only once the facts are established.

Price progressions: the prices of a lot are sorted and every maximal run of at least three consecutive
prices is reported when its steps are equal (arithmetic: each step within 0.5 % of the first step) or its
ratios are equal (geometric: each ratio within 0.0005 of the first ratio). Equal prices (step zero) are not
a progression. An arithmetic run is not reported again as geometric.
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MIN_RUN = 3
ARITHMETIC_TOLERANCE = Decimal("0.005")  # share of the first step
GEOMETRIC_TOLERANCE = Decimal("0.0005")  # absolute difference of ratios

# indicator: (base score, clause of 条例第四十条 / 87号令第三十七条, Chinese description)
INDICATORS: dict[str, tuple[int, str, str]] = {
    "identical_document": (90, "（一）（四）", "投标文件相同（文件哈希一致）"),
    "same_deposit_account": (85, "（六）", "投标保证金从同一账户转出"),
    "same_device": (70, "（一）（二）", "投标文件从同一设备递交或解密"),
    "same_contact": (60, "（二）（三）", "联系人（电话或邮箱）相同"),
    "price_progression": (60, "（四）", "投标报价呈规律性差异"),
    "same_ip": (40, "（一）（二）", "投标文件从同一 IP 地址递交或解密"),
}
LAWS = {"construction": "《招标投标法实施条例》第四十条", "gp": "财政部令第87号第三十七条"}


@dataclass(frozen=True)
class Finding:
    """Bidders sharing one value under one indicator, with the details a supervisor needs."""

    indicator: str
    value: str
    bidders: tuple[str, ...]
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> int:
        """Base score of the indicator, five more per bidder beyond two, at most 100."""
        return min(100, INDICATORS[self.indicator][0] + 5 * (len(self.bidders) - 2))

    @property
    def digest(self) -> str:
        """A short stable id of indicator and value (alerts keep one open per finding)."""
        return hashlib.sha256(f"{self.indicator}|{self.value}".encode()).hexdigest()[:16]


def severity(score: int) -> str:
    """critical from 80, warning from 50, info below."""
    return "critical" if score >= 80 else "warning" if score >= 50 else "info"


def citation(indicator: str, procurement: bool) -> str:
    """The clause of the law that names the indicator, for construction tenders or government procurement."""
    law = LAWS["gp" if procurement else "construction"]
    return f"{law}第{INDICATORS[indicator][1]}项"


def shared(indicator: str, pairs: Iterable[tuple[str, str | None]]) -> list[Finding]:
    """Values held by two or more different bidders, from (bidder, value) pairs; empty values are ignored."""
    holders: dict[str, set[str]] = defaultdict(set)
    for bidder, value in pairs:
        if value:
            holders[value].add(bidder)
    return [Finding(indicator, value, tuple(sorted(bidders)))
            for value, bidders in sorted(holders.items()) if len(bidders) >= 2]


def phone_key(phone: str | None) -> str | None:
    """Digits of a phone number (without a +86/86 prefix); None when too short to identify anyone."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) >= 7 else None


def email_key(email: str | None) -> str | None:
    """An e-mail address folded to lower case; None when it is not one."""
    text = (email or "").strip().lower()
    return text if "@" in text else None


def ip_key(ip: str | None) -> str | None:
    """An address that can identify a client: loopback and unspecified addresses (a proxy, a test) are not."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    return None if address.is_loopback or address.is_unspecified else str(address)


def progressions(prices: Mapping[str, Decimal]) -> list[Finding]:
    """Maximal runs of at least three sorted prices in arithmetic or geometric progression."""
    items = sorted(((Decimal(p), b) for b, p in prices.items() if Decimal(p) > 0), key=lambda x: (x[0], x[1]))
    found: list[Finding] = []
    seen: set[tuple[str, ...]] = set()
    for kind, runs in (("arithmetic", _runs(items, _arithmetic)), ("geometric", _runs(items, _geometric))):
        for run in runs:
            bidders = tuple(b for _, b in run)
            if bidders in seen:
                continue
            seen.add(bidders)
            values = [p for p, _ in run]
            step = (values[-1] - values[0]) / (len(values) - 1)
            ratio = (values[-1] / values[0]) ** (Decimal(1) / (len(values) - 1))
            details = {"kind": kind, "prices": [{"bidder": b, "price": f"{p:.2f}"} for p, b in run],
                       "step": f"{step:.2f}" if kind == "arithmetic" else None,
                       "ratio": f"{ratio:.6f}" if kind == "geometric" else None}
            value = f"{kind}:" + ",".join(f"{p:.2f}" for p in values)
            found.append(Finding("price_progression", value, bidders, details))
    return found


def _arithmetic(first: tuple[Decimal, Decimal], step: tuple[Decimal, Decimal]) -> bool:
    d0, d = first[1] - first[0], step[1] - step[0]
    return d0 > 0 and abs(d - d0) <= d0 * ARITHMETIC_TOLERANCE


def _geometric(first: tuple[Decimal, Decimal], step: tuple[Decimal, Decimal]) -> bool:
    return first[1] > first[0] and abs(step[1] / step[0] - first[1] / first[0]) <= GEOMETRIC_TOLERANCE


Step = Callable[[tuple[Decimal, Decimal], tuple[Decimal, Decimal]], bool]


def _runs(items: list[tuple[Decimal, str]], same: Step) -> list[list[tuple[Decimal, str]]]:
    """Maximal runs whose every step matches the run's first step; a run may start where the last ended."""
    runs: list[list[tuple[Decimal, str]]] = []
    start = 0
    while start + MIN_RUN <= len(items):
        first = (items[start][0], items[start + 1][0])
        end = start + 1
        while end + 1 < len(items) and same(first, (items[end][0], items[end + 1][0])):
            end += 1
        if end - start + 1 >= MIN_RUN:
            runs.append(items[start:end + 1])
            start = end
        else:
            start += 1
    return runs
