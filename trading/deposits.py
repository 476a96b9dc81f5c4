"""Bid bonds and deposits (投标保证金/竞买保证金): cap, payer account, refund plan, interest."""
from __future__ import annotations

import math
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from domain import statutes
from domain.calendar import WorkingCalendar
from domain.errors import Invalid, StatuteViolation

CENT = Decimal("0.01")
DEFAULT_LOT = "1"
DEFAULT_CAP_RULE = "cons.bond_cap"
DEFAULT_REFUND_RULE = "cons.bond_refund"
# Percent per year: the PBoC benchmark rate for demand deposits (活期存款), the usual reading of
# 银行同期存款利息 for a bond held for days, not months.
DEFAULT_INTEREST_RATE = Decimal("0.35")
# 《人民币利率管理规定》: a yearly rate becomes a daily one by dividing by 360.
DAYS_PER_YEAR = 360
MAX_AMOUNT = Decimal("1e15")

# The process variable holding the base amount of each bond ceiling, and its name for messages.
CAP_BASES: Mapping[str, tuple[str, str]] = {
    "cons.bond_cap": ("estimated_price", "招标项目估算价"),
    "gp.bond_cap": ("budget", "采购项目预算金额"),
}

# Trade categories whose bonds must come from the bidder's 基本账户, with the rule that says so.
BASIC_ACCOUNT_RULES: Mapping[str, str] = {"cons": "cons.bond_cap"}  # TBR 26

# Which statutory category a process key belongs to, when no bond rule variable says it.
_PROCESS_CATEGORIES = (
    ("construction_", "cons"), ("gp_", "gp"), ("land_", "land"), ("mining_", "mine"),
    ("property_", "prop"), ("asset_", "prop"),
)

# Deposit lifecycle.
HELD = "held"
REFUND_DUE = "refund_due"
REFUNDED = "refunded"
APPLIED = "applied_to_price"
STATUSES = (HELD, REFUND_DUE, REFUNDED, APPLIED)

REFUND = "refund"
APPLY = "apply_to_price"


@dataclass(frozen=True)
class RefundPolicy:
    """What a refund rule does at each triggering event."""

    rule_id: str
    # event → whose deposits it releases: "all", "losers" (everyone but the winner) or "winner".
    events: Mapping[str, str]
    interest: bool
    # Land: the winner's deposit becomes part of the price (转作受让地块的定金/价款) instead of a refund.
    winner_applied_to_price: bool = False

    @property
    def default_event(self) -> str:
        """The event a process means when it names none."""
        return next(iter(self.events))


REFUND_POLICIES: Mapping[str, RefundPolicy] = {
    # TBR 57: all bonds, the winner's included, within 5 days of the contract, with bank interest.
    "cons.bond_refund": RefundPolicy("cons.bond_refund", {"contract_signed": "all"}, interest=True),
    # GPR 33: losers within 5 working days of the award notice, the winner within 5 of the contract.
    "gp.bond_refund": RefundPolicy("gp.bond_refund", {"award_notice": "losers", "contract_signed": "winner"},
                                   interest=False),
    # 39号令: losers within 5 working days of the sale's end without interest; the winner's goes to the price.
    "land.deposit_refund": RefundPolicy("land.deposit_refund", {"sale_ended": "losers"}, interest=False,
                                        winner_applied_to_price=True),
    # Exchange rules: once the transferees (investors) are determined or the trade ends, the others' deposits
    # go back without interest; a transferee's (each selected investor's) deposit becomes part of the price.
    "prop.deposit_refund": RefundPolicy("prop.deposit_refund", {"trade_concluded": "losers"}, interest=False,
                                        winner_applied_to_price=True),
}

# The process variable a service task reads for the date of each event.
EVENT_VARIABLES: Mapping[str, str] = {
    "contract_signed": "contract_signed_at", "award_notice": "award_notice_at", "sale_ended": "sale_ended_at",
    "trade_concluded": "trade_concluded_at",
}


def money(value: Any, field: str = "amount") -> Decimal:
    """A positive yuan amount with at most two decimals, as Decimal; anything else is Invalid."""
    if isinstance(value, bool) or value is None:
        raise _invalid(field, "金额必须是数字")
    if isinstance(value, float) and not math.isfinite(value):
        raise _invalid(field, "金额必须是有限的数字")
    try:
        # str() first: a JSON float such as 0.1 must mean 0.1, not its binary neighbour.
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise _invalid(field, f"金额格式不正确：{value!r}") from None
    if not amount.is_finite():
        raise _invalid(field, "金额必须是有限的数字")
    if amount != amount.quantize(CENT, rounding=ROUND_DOWN):
        raise _invalid(field, "金额最多保留两位小数（分）")
    if amount <= 0 or amount >= MAX_AMOUNT:
        raise _invalid(field, "金额必须大于 0 且小于 10^15 元")
    return amount.quantize(CENT)


def yuan(amount: Decimal) -> str:
    """An amount as the API and messages show it: 12345.60."""
    return f"{amount.quantize(CENT):f}"


def per_lot(value: Any, lot: str) -> Any:
    """A variable that is one figure for the whole trade, or a {lot: figure} mapping for 标段."""
    if isinstance(value, Mapping):
        return value.get(lot)
    return value


def clean_lot(lot: Any) -> str:
    """The 标段 key: a short non-empty string, "1" when not given."""
    if lot is None or lot == "":
        return DEFAULT_LOT
    text = str(lot).strip()
    if not text or len(text) > 50:
        raise _invalid("lot", "标段编号必须是 1-50 个字符")
    return text


def cap_base(rule_id: str) -> tuple[str, str]:
    """The (variable, Chinese name) of the base amount a bond ceiling is a percentage of."""
    _cap_rule(rule_id)
    return CAP_BASES[rule_id]


def bond_cap(rule_id: str, base: Decimal) -> Decimal:
    """The largest bond the rule allows on this base, in cents (rounded down: a cent more breaks it)."""
    rule = _cap_rule(rule_id)
    return (base * rule.n / 100).quantize(CENT, rounding=ROUND_DOWN)


def check_bond_cap(rule_id: str, amount: Decimal, base: Decimal) -> None:
    """Raise StatuteViolation when the bond exceeds the rule's percentage of the base."""
    rule = _cap_rule(rule_id)
    if amount * 100 > base * rule.n:
        raise StatuteViolation(
            f"{rule.title}超限：投标保证金 {yuan(amount)} 元超过{rule.from_event} {yuan(base)} 元的"
            f" {rule.n}%，最高为 {yuan(bond_cap(rule_id, base))} 元（{rule.citation}）",
            rule=rule.id, citation=rule.citation,
        )


def category_of(process_key: str, cap_rule: str | None) -> str | None:
    """The statutory category of a trade: from its bond rule variable, else from its process key."""
    if cap_rule:
        return str(cap_rule).split(".", 1)[0]
    for prefix, category in _PROCESS_CATEGORIES:
        if process_key.startswith(prefix):
            return category
    return DEFAULT_CAP_RULE.split(".", 1)[0]


def same_name(a: str, b: str) -> bool:
    """Organisation names compared as banks print them: full-width brackets and spaces folded."""
    def fold(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text).split())

    return fold(a) == fold(b)


def check_payer(category: str | None, bidder_name: str, account_name: str, is_basic_account: bool) -> None:
    """The bond must come from the bidder's own account, and for construction from its 基本账户."""
    rule_id = BASIC_ACCOUNT_RULES.get(category or "")
    if not same_name(bidder_name, account_name):
        message = f"付款账户名称“{account_name}”与投标人名称“{bidder_name}”不一致：保证金须由投标人本单位账户缴纳"
        if rule_id:
            rule = statutes.get_rule(rule_id)
            raise StatuteViolation(f"{message}（{rule.citation}）", rule=rule.id, citation=rule.citation,
                                   errors=[{"field": "payer_account_name", "message": message}])
        raise Invalid(message, [{"field": "payer_account_name", "message": message}])
    if rule_id and not is_basic_account:
        rule = statutes.get_rule(rule_id)
        message = "投标保证金应当从投标人的基本账户转出，该付款账户未声明为基本账户"
        raise StatuteViolation(f"{message}（{rule.citation}）", rule=rule.id, citation=rule.citation,
                               errors=[{"field": "is_basic_account", "message": message}])


def refund_policy(rule_id: str) -> RefundPolicy:
    """The refund policy of a MAX rule; Invalid for a rule that is not a deposit refund rule."""
    rule = statutes.get_rule(rule_id)
    policy = REFUND_POLICIES.get(rule.id)
    if policy is None or rule.kind != "MAX":
        raise Invalid(f"规则 {rule_id}（{rule.title}）不是保证金退还规则；可用：{', '.join(REFUND_POLICIES)}")
    return policy


def refund_action(policy: RefundPolicy, event: str, uscc: str, winner: str | Collection[str] | None) -> str | None:
    """What the event does to one bidder's deposit: REFUND, APPLY, or None (not yet); a trade may have several winners."""
    who = policy.events.get(event)
    if who is None:
        raise Invalid(f"规则 {policy.rule_id} 下没有事件 {event!r}；可用：{', '.join(policy.events)}")
    if who == "winner" and not winner:
        raise Invalid(f"事件 {event} 退还中标人的保证金，须指明中标人（winner_uscc）")
    is_winner = uscc == winner if isinstance(winner, str) else uscc in (winner or ())
    if who == "all":
        return REFUND
    if who == "winner":
        return REFUND if is_winner else None
    if is_winner:
        return APPLY if policy.winner_applied_to_price else None
    return REFUND


def refund_due_day(rule_id: str, event_day: date, cal: WorkingCalendar) -> date:
    """The last lawful refund day: the MAX rule counted from the event (holiday extension applied)."""
    return statutes.due(statutes.get_rule(rule_id), event_day, cal)


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """24:00 of a day in the statutory zone, i.e. 00:00 of the next."""
    return datetime.combine(day + timedelta(days=1), time.min, tz)


def interest_rate(value: Any) -> Decimal:
    """An annual rate in percent (0.35 means 0.35%); the default when not set."""
    if value is None or value == "":
        return DEFAULT_INTEREST_RATE
    try:
        rate = Decimal(str(value).strip().removesuffix("%"))
    except InvalidOperation:
        raise _invalid("deposit_interest_rate", f"利率格式不正确：{value!r}") from None
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise _invalid("deposit_interest_rate", "年利率（百分比）必须在 0 到 100 之间")
    return rate


def days_held(paid_on: date, refunded_on: date) -> int:
    """Days the money was held, counting the day it arrived but not the day it left (算头不算尾)."""
    return max(0, (refunded_on - paid_on).days)


def interest(amount: Decimal, annual_percent: Decimal, days: int) -> Decimal:
    """Simple interest: amount × rate × days / 360, rounded half up to the cent."""
    raw = amount * annual_percent / 100 * days / DAYS_PER_YEAR
    return raw.quantize(CENT, rounding=ROUND_HALF_UP)


def _cap_rule(rule_id: str) -> statutes.Rule:
    rule = statutes.get_rule(rule_id)
    if rule.kind != "CAP" or rule.id not in CAP_BASES:
        raise Invalid(f"规则 {rule_id}（{rule.title}）不是保证金上限规则；可用：{', '.join(CAP_BASES)}")
    return rule


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, [{"field": field, "message": message}])
