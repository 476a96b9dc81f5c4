"""Trade statistics (交易统计) from trade_results: counts, amounts, savings against budget, bidders, failures.

Grouped in SQL (GROUP BY over plain columns; the month is stored as YYYY-MM text) so that the same query runs on
SQLite and PostgreSQL; sums are whole fen (BIGINT) and every ratio is computed from the sums afterwards.
Savings compare the award amount with the budget over the awarded trades that have both.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, and_, case, func, literal, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from domain.access import Actor, region_prefix
from domain.errors import Forbidden, Invalid
from persistence.models_trades import TradeResult
from services.platform import Platform

READERS = ("supervisor", "staff", "admin")
GROUPS: dict[str, Any] = {"category": TradeResult.category, "region": TradeResult.region,
                          "month": TradeResult.closed_month}
CATEGORY_NAMES = {"G": "工程建设", "Z": "政府采购", "D": "政府采购", "L": "国有建设用地使用权", "K": "矿业权",
                  "P": "国有产权"}
# CSV columns: (key, header shown in Excel)
COLUMNS = (
    ("category", "交易类别"), ("category_name", "类别名称"), ("region", "行政区划"), ("month", "月份"),
    ("trade_count", "交易数"), ("awarded_count", "成交数"), ("failed_count", "失败数"), ("failed_rate", "失败率"),
    ("award_amount", "成交金额（元）"), ("compared_budget", "有预算的成交项目预算（元）"),
    ("compared_award", "有预算的成交项目成交金额（元）"), ("savings_amount", "节约资金（元）"),
    ("savings_rate", "节约率"), ("average_bidders", "平均投标人数"),
)
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_CENT = Decimal("0.01")


def trade_statistics(p: Platform, actor: Actor, group_by: list[str] | None = None, date_from: str | None = None,
                     date_to: str | None = None, category: str | None = None,
                     region: str | None = None) -> dict[str, Any]:
    """Statistics of trade results grouped by category, region and/or month (supervisor, staff, admin)."""
    if not actor.has(*READERS):
        raise Forbidden("只有行政监督人员、交易中心工作人员或管理员可以查看交易统计")
    groups = _groups(group_by or [])
    if region and not actor.covers(region):
        raise Forbidden("无权查看其他区域的交易统计")
    start = _bound(date_from, "from", p, end=False)
    end = _bound(date_to, "to", p, end=True)
    where: list[ColumnElement[bool]] = []
    if actor.region:
        where.append(TradeResult.region.like(region_prefix(actor.region) + "%"))
    if region:
        where.append(TradeResult.region.like(region_prefix(region) + "%"))
    if category:
        where.append(TradeResult.category.in_([c.strip() for c in category.split(",") if c.strip()]))
    if start is not None:
        where.append(TradeResult.closed_at >= start)
    if end is not None:
        where.append(TradeResult.closed_at < end)
    keys = [GROUPS[g].label(g) for g in groups]
    query = select(*keys, *_measures()).where(*where)
    if keys:
        query = query.group_by(*[GROUPS[g] for g in groups]).order_by(*[GROUPS[g] for g in groups])
    with p.db.sessions() as session:
        rows = [dict(r._mapping) for r in session.execute(query)]
        total = dict(session.execute(select(*_measures()).where(*where)).one()._mapping)
    return {"group_by": groups, "from_": date_from, "to": date_to, "category": category, "region": region,
            "scope": actor.region, "rows": [_row(r, groups) for r in rows if r["trade_count"]],
            "total": _row(total, [])}


def to_csv(stats: dict[str, Any]) -> bytes:
    """The rows and a total line as CSV, UTF-8 with a BOM so that Excel reads the Chinese headers."""
    groups = stats["group_by"]
    columns = [(k, h) for k, h in COLUMNS if k in groups or (k == "category_name" and "category" in groups)
               or k not in ("category", "category_name", "region", "month")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([h for _, h in columns])
    for row in [*stats["rows"], {**stats["total"], **({groups[0]: "合计"} if groups else {})}]:
        writer.writerow(["" if row.get(k) is None else row[k] for k, _ in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _measures() -> list[Any]:
    awarded = TradeResult.outcome == "awarded"
    compared = and_(awarded, TradeResult.award_amount.is_not(None), TradeResult.budget_amount.is_not(None))
    award_fen = type_coerce(TradeResult.award_amount, BigInteger)
    budget_fen = type_coerce(TradeResult.budget_amount, BigInteger)

    def total(value: Any, when: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((when, value), else_=literal(0, BigInteger))), 0)

    return [
        func.count().label("trade_count"),
        total(literal(1, Integer), awarded).label("awarded_count"),
        total(literal(1, Integer), TradeResult.outcome == "failed").label("failed_count"),
        total(award_fen, and_(awarded, TradeResult.award_amount.is_not(None))).label("award_fen"),
        total(award_fen, compared).label("compared_award_fen"),
        total(budget_fen, compared).label("compared_budget_fen"),
        func.coalesce(func.sum(TradeResult.bidder_count), 0).label("bidders_sum"),
        func.count(TradeResult.bidder_count).label("bidders_known"),
    ]


def _row(r: dict[str, Any], groups: list[str]) -> dict[str, Any]:
    count, failed = int(r["trade_count"] or 0), int(r["failed_count"] or 0)
    award, c_award, c_budget = (_yuan(r[k]) for k in ("award_fen", "compared_award_fen", "compared_budget_fen"))
    savings = c_budget - c_award
    known = int(r["bidders_known"] or 0)
    row: dict[str, Any] = {g: r.get(g) for g in groups}
    if "category" in groups:
        row["category_name"] = CATEGORY_NAMES.get(r.get("category") or "", None)
    row.update({
        "trade_count": count, "awarded_count": int(r["awarded_count"] or 0), "failed_count": failed,
        "failed_rate": _ratio(Decimal(failed), Decimal(count)),
        "award_amount": _text(award), "compared_budget": _text(c_budget), "compared_award": _text(c_award),
        "savings_amount": _text(savings), "savings_rate": _ratio(savings, c_budget),
        "average_bidders": _ratio(Decimal(int(r["bidders_sum"] or 0)), Decimal(known), places="0.01"),
    })
    return row


def _groups(values: list[str]) -> list[str]:
    groups: list[str] = []
    for value in values:
        for name in (v.strip() for v in value.split(",")):
            if not name:
                continue
            if name not in GROUPS:
                raise Invalid(f"group_by 只能是 {', '.join(GROUPS)} 的组合，而不是 {name!r}",
                              [{"field": "group_by", "message": "category, region, month"}])
            if name not in groups:
                groups.append(name)
    return groups


def _bound(value: str | None, field: str, p: Platform, end: bool) -> datetime | None:
    """A date (YYYY-MM-DD) or a month (YYYY-MM) as an instant in the platform's zone: `to` includes its day or month."""
    if not value:
        return None
    try:
        if _MONTH.match(value):
            day = date.fromisoformat(value + "-01")
            if end:
                day = (day + timedelta(days=32)).replace(day=1)
        else:
            day = date.fromisoformat(value)
            if end:
                day += timedelta(days=1)
    except ValueError:
        raise Invalid(f"{field} 应为日期 YYYY-MM-DD 或月份 YYYY-MM，而不是 {value!r}",
                      [{"field": field, "message": "YYYY-MM-DD 或 YYYY-MM"}]) from None
    return datetime.combine(day, time.min, p.tz)


def _yuan(fen: Any) -> Decimal:
    return (Decimal(int(fen or 0)) / 100).quantize(_CENT)


def _text(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _ratio(part: Decimal, whole: Decimal, places: str = "0.0001") -> float | None:
    if not whole:
        return None
    return float((part / whole).quantize(Decimal(places), rounding=ROUND_HALF_UP))

