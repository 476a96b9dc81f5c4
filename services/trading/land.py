"""Steps of the land-use and mining-right grants (land_tender, land_auction, land_listing, mining_right_grant).

- land.check_bidders: enough qualified bidders for an auction's COUNT rule (39号令; 矿业权交易规则), counted before the
  auction opens so that an auction with too few bidders never starts.
- land.tender_award: the tender's winner from the opening record of the sealed bids, by highest price or by the
  evaluation's ranking, checked against the secret reserve price (39号令 第十四条).

Bidders qualify only with a deposit that arrived in time and covers the amount the announcement requires.
These steps never write the reserve price into the audit chain, only whether it was met.
"""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import statutes
from domain.errors import Invalid
from persistence.models_deposits import Deposit
from services import audit
from services.service_tasks import ServiceCall, service_task
from services.trading import credit
from services.trading.bids import valid_bidders
from services.trading.deposits import deposit_status
from trading import bids as bid_rules
from trading import deposits as money_rules
from trading import land as rules

DEFAULT_MIN_BIDDERS_RULE = "land.min_bidders_auction"


@service_task("land.check_bidders", "核验竞买人数：保证金到账的竞买人不足法定人数的，终止拍卖")
def check_bidders_task(call: ServiceCall) -> dict[str, Any]:
    """Count the lot's qualified bidders (deposit arrived and sufficient, not blacklisted) against min_bidders_rule."""
    rule = statutes.get_rule(str(call.data.get("min_bidders_rule") or DEFAULT_MIN_BIDDERS_RULE))
    if rule.kind != "COUNT":
        raise Invalid(f"规则 {rule.id}（{rule.title}）不是数量规则，不能用于竞买人数核验")
    lot = money_rules.clean_lot(call.data.get("lot"))
    count = len(qualified_bidders(call.session, call.instance.id, lot, call.data, call.now, call.platform.tz))
    enough = rules.enough_bidders(count, rule.n)
    audit.append(call.session, call.instance.id, "land.bidders_checked", call.actor, call.now,
                 {"lot": lot, "qualified_count": count, "rule": rule.id, "min": rule.n, "citation": rule.citation,
                  "enough_bidders": enough})
    return {"qualified_count": count, "enough_bidders": enough, "min_bidders": rule.n}


def qualified_bidders(session: Session, instance_id: str, lot: str, variables: dict[str, Any], now: datetime,
                      tz: tzinfo) -> list[str]:
    """USCCs of the lot's bidders whose deposit is held and sufficient and who are not blacklisted now."""
    codes = session.scalars(select(Deposit.bidder_uscc).where(
        Deposit.instance_id == instance_id, Deposit.lot == lot, Deposit.status == money_rules.HELD)
        .order_by(Deposit.bidder_uscc))
    return [code for code in codes
            if deposit_status(session, instance_id, code, lot, variables)["deposit_ok"]
            and not credit.is_blacklisted(session, code, now, tz)]


@service_task("land.tender_award", "招标出让：依开标记录确定中标人（价高者得或综合评标）并核对底价")
def tender_award_task(call: ServiceCall) -> dict[str, Any]:
    """Decide the tender from the opening record; returns the trade outcome variables."""
    session, instance, tz = call.session, call.instance, call.platform.tz
    lot = money_rules.clean_lot(call.data.get("lot"))
    deadline = bid_rules.parse_deadline(call.data.get("bid_deadline"), tz)
    decrypted = valid_bidders(session, instance.id, lot)
    deposits = _deposits_in_time(session, instance.id, lot, call.data, deadline)
    qualified = [code for code in decrypted if code in deposits]
    bids, set_aside = rules.parse_record(call.data.get("opening_prices"), qualified, decrypted)
    reserve_value = call.data.get("reserve_price")
    reserve = None if reserve_value in (None, "") else money_rules.money(reserve_value, "reserve_price")
    method = str(call.data.get("evaluation_method") or rules.HIGHEST_PRICE)
    if method not in rules.METHODS:
        raise Invalid(f"评标方法只能是：{', '.join(f'{k}（{v}）' for k, v in rules.METHODS.items())}")
    if method == rules.COMPOSITE:
        candidates = [str(c) for c in call.data.get("candidates") or []]
        award = rules.ranked(bids, candidates, reserve)
    else:
        award = rules.highest_price(bids, reserve)
    winner = award.winner
    result = {
        "tender_outcome": award.outcome, "reserve_met": award.reserve_met, "bidder_count": len(qualified),
        "winner_uscc": winner.uscc if winner else None,
        "winner_name": deposits[winner.uscc].bidder_name if winner else None,
        "award_amount": money_rules.yuan(winner.price) if winner else None,
    }
    audit.append(session, instance.id, "land.tender_awarded", call.actor, call.now, {
        "lot": lot, "method": method, "outcome": award.outcome, "outcome_text": rules.OUTCOMES[award.outcome],
        "winner_uscc": result["winner_uscc"], "award_amount": result["award_amount"],
        "bidder_count": len(qualified), "set_aside_without_deposit": set_aside, "reserve_met": award.reserve_met})
    return result


def _deposits_in_time(session: Session, instance_id: str, lot: str, variables: dict[str, Any],
                      deadline: datetime) -> dict[str, Deposit]:
    """The lot's deposits that arrived before the deadline and cover the required amount, by bidder."""
    required_value = money_rules.per_lot(variables.get("bond_amount"), lot)
    required = None if required_value in (None, "", 0) else money_rules.money(required_value, "bond_amount")
    rows = session.scalars(select(Deposit).where(Deposit.instance_id == instance_id, Deposit.lot == lot))
    return {d.bidder_uscc: d for d in rows
            if d.paid_at <= deadline and (required is None or d.amount >= required)}
