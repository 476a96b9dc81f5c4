"""Statutory deadline rules (statutes.toml) and the due-date arithmetic of STATUTES.md."""
from __future__ import annotations

import dataclasses
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from domain.calendar import WorkingCalendar
from domain.errors import Invalid, NotFound, StatuteViolation

STATUTES_FILE = Path(__file__).with_name("statutes.toml")

KINDS = ("MIN", "MAX", "COUNT", "CAP")
DAY_UNITS = ("日", "工作日")
# Which unit each kind may carry, so a typo in the data fails at load time, not in a process.
_UNITS_BY_KIND = {"MIN": DAY_UNITS, "MAX": DAY_UNITS, "COUNT": ("-",), "CAP": ("%",)}


@dataclass(frozen=True)
class Rule:
    """One statutory rule, as in statutes.toml."""

    id: str
    n: int
    unit: str
    kind: str
    category: str
    title: str
    from_event: str
    to_event: str
    citation: str
    citation_full: str
    notes: str = ""
    # Extra figures a process may read (gp.committee: the larger committee for big budgets).
    params: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    @property
    def period_text(self) -> str:
        """The length as Chinese text, e.g. "20日" or "5个工作日"."""
        if self.unit == "工作日":
            return f"{self.n}个工作日"
        if self.unit == "-":
            return str(self.n)
        return f"{self.n}{self.unit}"


def _rule_from_toml(raw: Mapping[str, Any]) -> Rule:
    """Build and check one rule from its toml table."""
    rule = Rule(
        id=raw["id"],
        n=raw["n"],
        unit=raw["unit"],
        kind=raw["kind"],
        category=raw["category"],
        title=raw["title"],
        from_event=raw["from"],
        to_event=raw["to"],
        citation=raw["citation"],
        citation_full=raw["citation_full"],
        notes=raw.get("notes", ""),
        params=MappingProxyType(dict(raw.get("params", {}))),
    )
    if rule.kind not in KINDS:
        raise ValueError(f"{rule.id}: unknown kind {rule.kind!r}")
    if rule.unit not in _UNITS_BY_KIND[rule.kind]:
        raise ValueError(f"{rule.id}: unit {rule.unit!r} does not fit kind {rule.kind}")
    if not rule.id.startswith(rule.category + "."):
        raise ValueError(f"{rule.id}: id does not start with its category {rule.category!r}")
    if isinstance(rule.n, bool) or not isinstance(rule.n, int) or rule.n < 0:
        raise ValueError(f"{rule.id}: n must be a non-negative integer")
    if not rule.citation or not rule.citation_full:
        raise ValueError(f"{rule.id}: a rule without a citation cannot be enforced")
    return rule


@functools.cache
def _load() -> tuple[MappingProxyType[str, Rule], MappingProxyType[str, str], MappingProxyType[str, str]]:
    """Parse statutes.toml once: rules, statute names, category names."""
    with STATUTES_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    rules: dict[str, Rule] = {}
    for raw in data["rules"]:
        rule = _rule_from_toml(raw)
        if rule.id in rules:
            raise ValueError(f"duplicate rule id {rule.id}")
        rules[rule.id] = rule
    return (
        MappingProxyType(rules),
        MappingProxyType(dict(data.get("statutes", {}))),
        MappingProxyType(dict(data.get("categories", {}))),
    )


def load_rules() -> dict[str, Rule]:
    """Every rule by id (a fresh dict over the cached, immutable rules)."""
    return dict(_load()[0])


def statute_names() -> dict[str, str]:
    """Citation abbreviations expanded, e.g. TBL -> 《中华人民共和国招标投标法》."""
    return dict(_load()[1])


def category_names() -> dict[str, str]:
    """Category prefixes named in Chinese, e.g. gp -> 政府采购."""
    return dict(_load()[2])


def rule_exists(rule_id: str) -> bool:
    """Whether a rule with this id is defined."""
    return rule_id in _load()[0]


def get_rule(rule_id: str) -> Rule:
    """The rule with this id; NotFound if there is none."""
    try:
        return _load()[0][rule_id]
    except KeyError:
        raise NotFound(f"未知的法定时限规则：{rule_id}") from None


def due(rule: Rule, from_date: date, cal: WorkingCalendar) -> date:
    """MIN: the earliest lawful date of the closing event; MAX: the last lawful date."""
    if rule.kind not in ("MIN", "MAX"):
        raise Invalid(f"规则 {rule.id}（{rule.title}）是{_kind_text(rule.kind)}规则，没有截止日期")
    if rule.unit == "工作日":
        return cal.add_working_days(from_date, rule.n)
    last = cal.add_days(from_date, rule.n)
    if rule.kind == "MAX":
        # 民法典 203: a period to act within that ends on a day off runs to the next working day.
        # A MIN period is a waiting time, not a time to act, so it is not extended.
        return cal.next_working_day_on_or_after(last)
    return last


def check_min(rule: Rule, from_date: date, to_date: date, cal: WorkingCalendar) -> None:
    """Raise StatuteViolation when to_date comes before the MIN rule allows."""
    if rule.kind != "MIN":
        raise Invalid(f"规则 {rule.id}（{rule.title}）不是最短期限规则，不能按最短期限校验")
    earliest = due(rule, from_date, cal)
    if to_date < earliest:
        raise StatuteViolation(
            f"{rule.title}不足：{rule.to_event}日期不得早于 {earliest.isoformat()}"
            f"（自{rule.from_event}之日起不少于{rule.period_text}，{rule.citation}）",
            rule=rule.id,
            citation=rule.citation,
        )


def with_override(rule: Rule, n: int) -> Rule:
    """The rule with a regional length, refused if it would be laxer than the national default."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise Invalid(f"规则 {rule.id} 的地方设置必须是非负整数")
    # A region may only be stricter: a MIN waiting period or a COUNT may grow, a MAX time limit may only
    # shrink. A CAP's strict direction differs by rule (bond ceiling vs first-payment floor), so it is fixed.
    if rule.kind == "CAP":
        raise Invalid(f"规则 {rule.id}（{rule.title}）的比例不允许地方调整")
    if rule.kind in ("MIN", "COUNT") and n < rule.n:
        raise Invalid(
            f"规则 {rule.id}（{rule.title}）的地方设置 {n} 短于/少于法定的 {rule.period_text}"
            f"（{rule.citation}）"
        )
    if rule.kind == "MAX" and n > rule.n:
        raise Invalid(
            f"规则 {rule.id}（{rule.title}）的地方设置 {n} 长于法定的 {rule.period_text}（{rule.citation}）"
        )
    return dataclasses.replace(rule, n=n)


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """The rule as the API shows it."""
    return {
        "id": rule.id,
        "n": rule.n,
        "unit": rule.unit,
        "kind": rule.kind,
        "category": rule.category,
        "title": rule.title,
        "from": rule.from_event,
        "to": rule.to_event,
        "citation": rule.citation,
        "citation_full": rule.citation_full,
        "notes": rule.notes,
    }


def _kind_text(kind: str) -> str:
    """Chinese name of a rule kind, for messages."""
    return {"MIN": "最短期限", "MAX": "最长期限", "COUNT": "最低数量", "CAP": "比例"}.get(kind, kind)
