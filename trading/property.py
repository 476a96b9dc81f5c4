"""State-owned property trades (国资委 财政部令第32号): listing prices, payment plans, disclosure tiers, selection.

Pure rules: no database, no HTTP. Figures come from the prop.* rules of domain/statutes.toml.
"""
from __future__ import annotations

import calendar as month_days
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from domain import statutes
from domain.calendar import WorkingCalendar
from domain.errors import Invalid, StatuteViolation
from trading.deposits import CENT, money, yuan

LAW = "《企业国有资产交易监督管理办法》（国务院国资委、财政部令第32号）"
REDISCLOSURE_RULE = "prop.redisclosure"
PAYMENT_RULE = "prop.payment"
PAYMENT_FIRST_RULE = "prop.payment_first"
ASSET_RULES = ("prop.asset_disclosure_small", "prop.asset_disclosure", "prop.asset_disclosure_large")
# A trade not sold within this many months of its first formal disclosure needs a new audit and appraisal.
RELIST_MONTHS = 12

LUMP_SUM = "lump_sum"
INSTALMENTS = "instalments"
MODES = (LUMP_SUM, INSTALMENTS)


@dataclass(frozen=True)
class Approval:
    """The approving body's written consent (批准单位书面同意) to a listing price below 90% of the appraisal."""

    document_no: str
    body: str
    approved_on: date


@dataclass(frozen=True)
class Instalment:
    """One payment the contract requires: its order, amount and last day."""

    seq: int
    amount: Decimal
    due_on: date


# --- listing prices -------------------------------------------------------------------------------------


def check_first_listing(listing_price: Decimal, appraisal: Decimal) -> None:
    """The first formal disclosure may not list below the approved or filed appraisal value."""
    if listing_price < appraisal:
        message = (f"首次正式披露的转让底价 {yuan(listing_price)} 元低于经核准或备案的评估结果 {yuan(appraisal)} 元，"
                   f"不得低于评估结果（{LAW}）")
        raise Invalid(message, [{"field": "/listing_price", "message": message}])


def approval_threshold(appraisal: Decimal) -> Decimal:
    """The lowest re-disclosure price that needs no approval: 90% of the appraisal value."""
    percent = Decimal(statutes.get_rule(REDISCLOSURE_RULE).params["approval_below_percent"])
    return (appraisal * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def check_redisclosure_price(new_price: Decimal, previous_price: Decimal, appraisal: Decimal,
                             approval: Approval | None) -> bool:
    """A re-disclosure may only lower the price; below 90% of the appraisal it needs the recorded approval.

    Returns whether the price is below the threshold (and so relies on the approval)."""
    if new_price > previous_price:
        message = f"重新披露的转让底价 {yuan(new_price)} 元高于原转让底价 {yuan(previous_price)} 元"
        raise Invalid(message, [{"field": "/new_listing_price", "message": message}])
    threshold = approval_threshold(appraisal)
    below = new_price < threshold
    if below and approval is None:
        rule = statutes.get_rule(REDISCLOSURE_RULE)
        message = (f"新的转让底价 {yuan(new_price)} 元低于评估结果 {yuan(appraisal)} 元的90%（{yuan(threshold)} 元），"
                   f"应当经转让行为批准单位书面同意，须登记批准单位、批准文号和批准日期（{rule.citation}）")
        raise StatuteViolation(message, rule=rule.id, citation=rule.citation,
                               errors=[{"field": "/approval_no", "rule": rule.id, "message": message}])
    return below


def approval_from(data: Mapping[str, Any]) -> Approval | None:
    """The approval recorded in a form, or None when no field of it is filled in; half a record is Invalid."""
    fields = {"approval_no": "批准文号", "approval_body": "批准单位", "approved_on": "批准日期"}
    given = {f: str(data.get(f) or "").strip() for f in fields}
    if not any(given.values()):
        return None
    missing = [f for f, v in given.items() if not v]
    if missing:
        raise Invalid("批准单位书面同意须完整登记批准单位、批准文号和批准日期",
                      [{"field": f"/{f}", "message": f"{fields[f]}：必填"} for f in missing])
    try:
        approved_on = date.fromisoformat(given["approved_on"][:10])
    except ValueError:
        raise Invalid("批准日期格式不正确", [{"field": "/approved_on", "message": "应为日期"}]) from None
    return Approval(given["approval_no"], given["approval_body"], approved_on)


def check_relisting_window(first_disclosed_on: date, redisclosed_on: date) -> None:
    """Past 12 months from the first formal disclosure the trade must start over with a new audit and appraisal."""
    limit = add_months(first_disclosed_on, RELIST_MONTHS)
    if redisclosed_on > limit:
        message = (f"自首次正式披露（{first_disclosed_on.isoformat()}）起已超过{RELIST_MONTHS}个月未征集到合格受让方，"
                   f"应当重新履行审计、资产评估以及信息披露等程序（{LAW}）")
        raise Invalid(message, [{"field": "/redisclosed_on", "message": message}])


# --- disclosure tiers -----------------------------------------------------------------------------------


def asset_disclosure_rule(reserve_price: Decimal) -> statutes.Rule:
    """The disclosure rule of an asset transfer by its reserve price tier (data: the rules' params)."""
    small, middle, large = (statutes.get_rule(r) for r in ASSET_RULES)
    if reserve_price < Decimal(small.params["below_yuan"]):
        return small
    if reserve_price <= Decimal(middle.params["to_yuan"]):
        return middle
    return large


# --- payment plans --------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the 31st becomes the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, month_days.monthrange(year, month)[1]))


def payment_plan(total: Decimal, effective_on: date, mode: str, entries: Sequence[Mapping[str, Any]],
                 guarantee: str | None, cal: WorkingCalendar) -> list[Instalment]:
    """The instalments a contract may lawfully set (32号令 28), or the error that refuses them."""
    if mode not in MODES:
        raise Invalid("付款方式只能是一次付清（lump_sum）或分期付款（instalments）",
                      [{"field": "/payment_mode", "message": "lump_sum 或 instalments"}])
    pay_rule, first_rule = statutes.get_rule(PAYMENT_RULE), statutes.get_rule(PAYMENT_FIRST_RULE)
    first_due_limit = statutes.due(pay_rule, effective_on, cal)
    if mode == LUMP_SUM:
        due_on = _due(entries[0], 0) if entries else first_due_limit
        plan = [Instalment(1, total, due_on)]
    else:
        if len(entries) < 2:
            raise Invalid("分期付款至少须有两期", [{"field": "/instalments", "message": "至少两期"}])
        plan = [Instalment(i + 1, money(e.get("amount"), f"instalments/{i}/amount"), _due(e, i))
                for i, e in enumerate(entries)]
        _check_instalments(plan, total, effective_on, guarantee, first_rule)
    if plan[0].due_on < effective_on:
        raise Invalid("付款期限不得早于合同生效日期", [{"field": "/instalments/0/due_on", "message": "早于合同生效日期"}])
    if plan[0].due_on > first_due_limit:
        what = "首期价款" if mode == INSTALMENTS else "交易价款"
        message = (f"{what}应当自合同生效之日起{pay_rule.period_text}内支付，即不晚于 {first_due_limit.isoformat()}"
                   f"（{pay_rule.citation}）")
        raise StatuteViolation(message, rule=pay_rule.id, citation=pay_rule.citation,
                               errors=[{"field": "/instalments/0/due_on", "rule": pay_rule.id, "message": message}])
    return plan


def _check_instalments(plan: list[Instalment], total: Decimal, effective_on: date, guarantee: str | None,
                       rule: statutes.Rule) -> None:
    paid = sum((i.amount for i in plan), Decimal("0"))
    if paid != total:
        message = f"各期金额合计 {yuan(paid)} 元与交易价款 {yuan(total)} 元不一致"
        raise Invalid(message, [{"field": "/instalments", "message": message}])
    if any(b.due_on <= a.due_on for a, b in zip(plan, plan[1:], strict=False)):
        raise Invalid("各期付款期限应依次推后", [{"field": "/instalments", "message": "付款期限应依次推后"}])
    violations = []
    if plan[0].amount * 100 < total * rule.n:
        violations.append(("/instalments/0/amount", f"首期付款 {yuan(plan[0].amount)} 元低于总价款的{rule.n}%"
                                                    f"（{yuan(total * rule.n / 100)} 元）"))
    if not (guarantee or "").strip():
        violations.append(("/guarantee", "分期付款的其余款项应当提供转让方认可的合法有效担保"))
    term = int(rule.params["term_months"])
    last_day = add_months(effective_on, term)
    if plan[-1].due_on > last_day:
        violations.append((f"/instalments/{len(plan) - 1}/due_on",
                           f"分期付款期限不得超过{term}个月，最后一期应不晚于 {last_day.isoformat()}"))
    if violations:
        message = "；".join(text for _, text in violations) + f"（{rule.citation}）"
        raise StatuteViolation(message, rule=rule.id, citation=rule.citation,
                               errors=[{"field": f, "rule": rule.id, "message": m} for f, m in violations])


def _due(entry: Mapping[str, Any], index: int) -> date:
    try:
        return date.fromisoformat(str(entry.get("due_on") or "")[:10])
    except ValueError:
        raise Invalid("付款期限应为日期", [{"field": f"/instalments/{index}/due_on", "message": "应为日期"}]) from None


def allocate(amounts: Sequence[Decimal], paid: Decimal) -> list[Decimal]:
    """What the money received so far covers of each instalment, earliest first."""
    covered = []
    for amount in amounts:
        part = min(amount, max(paid, Decimal("0")))
        covered.append(part)
        paid -= part
    return covered


# --- capital increase: selecting investors by the published criteria ----------------------------------------


def check_criteria(criteria: Sequence[Mapping[str, Any]]) -> dict[str, Decimal]:
    """The published selection criteria as {key: weight}; weights are percentages summing to 100."""
    weights: dict[str, Decimal] = {}
    for i, c in enumerate(criteria):
        key = str(c.get("key") or "").strip()
        weight = c.get("weight")
        if not key or key in weights or isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise Invalid("遴选标准须有不重复的标识和正的权重", [{"field": f"/selection_criteria/{i}", "message": "标识或权重不正确"}])
        weights[key] = Decimal(str(weight))
    if not weights or sum(weights.values()) != 100:
        raise Invalid("遴选标准的权重合计应为 100", [{"field": "/selection_criteria", "message": "权重合计应为 100"}])
    return weights


def rank_investors(weights: Mapping[str, Decimal],
                   evaluations: Sequence[Mapping[str, Any]]) -> list[tuple[str, Decimal]]:
    """(investor, weighted total) best first; every investor is scored 0-100 on exactly the published criteria."""
    totals: dict[str, Decimal] = {}
    for i, e in enumerate(evaluations):
        investor = str(e.get("investor_uscc") or "")
        scores = e.get("scores") or {}
        if investor in totals:
            raise Invalid(f"意向投资方 {investor} 重复评议", [{"field": f"/evaluations/{i}", "message": "重复"}])
        if not isinstance(scores, Mapping) or set(scores) != set(weights):
            raise Invalid("评议须按披露的遴选标准逐项打分，不得增减标准",
                          [{"field": f"/evaluations/{i}/scores", "message": f"应恰好包含：{', '.join(weights)}"}])
        total = Decimal("0")
        for key, weight in weights.items():
            score = scores[key]
            if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 100:
                raise Invalid("评分应为 0 至 100 的数字", [{"field": f"/evaluations/{i}/scores/{key}", "message": "0-100"}])
            total += Decimal(str(score)) * weight / 100
        totals[investor] = total.quantize(CENT, rounding=ROUND_HALF_UP)
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))
