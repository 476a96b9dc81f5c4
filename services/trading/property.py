"""Steps of the state-owned property trades (property_transfer, property_capital_increase, asset_transfer).

- property.disclose: the first formal disclosure lists at no less than the appraisal value; an asset transfer's
  disclosure period follows its reserve price tier (prop.asset_disclosure*).
- property.qualify: the qualified transferees (investors) at disclosure end: bidders whose deposit arrived and
  covers the requirement and who are not blacklisted, the same set the bidding engine admits.
- property.redisclose: a lower listing price for a new disclosure; below 90% of the appraisal only with the
  approving body's recorded consent (prop.redisclosure), and within 12 months of the first disclosure.
- property.agreement: one qualified transferee: an agreement at no less than the listing price.
- property.select_investors: a capital increase selects investors by the published criteria, each scored.

Payments, the payment plan and the transaction voucher are in services/trading/property_payments.py.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import statutes
from domain.errors import Invalid, StatuteViolation
from persistence.models_deposits import Deposit
from services import audit
from services import calendar as calendar_service
from services.service_tasks import ServiceCall, service_task
from services.trading import credit
from services.trading.deposits import deposit_status
from services.trading.tender import parse_day
from trading import deposits as money_rules
from trading import property as rules
from trading import uscc as uscc_rules


@service_task("property.disclose", "正式信息披露：核对转让底价与披露期限")
def disclose_task(call: ServiceCall) -> dict[str, Any]:
    """Check the first listing price against the appraisal; a tiered disclosure gets its rule from the price."""
    listing = money_rules.money(call.data.get("listing_price"), "listing_price")
    appraisal = call.data.get("appraisal_value")
    if appraisal not in (None, ""):
        rules.check_first_listing(listing, money_rules.money(appraisal, "appraisal_value"))
    disclosed_on = parse_day(call.data.get("disclosed_on"), "disclosed_on")
    rule = statutes.get_rule(str(call.data.get("disclosure_rule") or "prop.disclosure"))
    if call.data.get("disclosure_by_tier"):
        rule = rules.asset_disclosure_rule(listing)
        end = parse_day(call.data.get("disclosure_end"), "disclosure_end")
        try:
            statutes.check_min(rule, disclosed_on, end, calendar_service.load(call.session))
        except StatuteViolation as e:
            e.message = f"转让底价 {money_rules.yuan(listing)} 元适用{rule.title}：{e.message}"
            e.errors = [{"field": "/disclosure_end", "rule": rule.id, "message": e.message}]
            raise
    audit.append(call.session, call.instance.id, "property.disclosed", call.actor, call.now, {
        "round": 1, "disclosed_on": disclosed_on.isoformat(), "disclosure_end": call.data.get("disclosure_end"),
        "listing_price": money_rules.yuan(listing), "rule": rule.id, "citation": rule.citation})
    return {"listing_price": money_rules.yuan(listing), "budget_amount": money_rules.yuan(listing),
            "first_disclosed_on": disclosed_on.isoformat(), "disclosure_round": 1, "disclosure_rule": rule.id}


@service_task("property.qualify", "确认合格意向受让方（交易保证金到账且未列入黑名单）")
def qualify_task(call: ServiceCall) -> dict[str, Any]:
    """Count the qualified transferees; one alone is named, for the agreement that follows."""
    if call.data.get("bond_amount") in (None, "", 0):
        raise Invalid("未设置交易保证金金额（变量 bond_amount），无法确认意向受让方")
    qualified = qualified_transferees(call.session, call)
    audit.append(call.session, audit.PLATFORM_CHAIN, "property.qualified", call.actor, call.now, {
        "instance_id": call.instance.id, "transferees": [u for u, _ in qualified]})
    audit.append(call.session, call.instance.id, "property.qualified", call.actor, call.now,
                 {"qualified_count": len(qualified)})
    sole = qualified[0] if len(qualified) == 1 else (None, None)
    return {"qualified_count": len(qualified), "bidder_count": len(qualified),
            "sole_transferee_uscc": sole[0], "sole_transferee_name": sole[1]}


def qualified_transferees(session: Session, call: ServiceCall) -> list[tuple[str, str]]:
    """(uscc, name) of the trade's bidders with a held, sufficient deposit and no blacklisting in force."""
    lot = money_rules.clean_lot(call.data.get("lot"))
    rows = session.execute(select(Deposit.bidder_uscc, Deposit.bidder_name).where(
        Deposit.instance_id == call.instance.id, Deposit.lot == lot, Deposit.status == money_rules.HELD)
        .order_by(Deposit.bidder_uscc)).all()
    return [(uscc, name) for uscc, name in rows
            if deposit_status(session, call.instance.id, uscc, lot, call.data)["deposit_ok"]
            and not credit.is_blacklisted(session, uscc, call.now, call.platform.tz)]


@service_task("property.redisclose", "降低转让底价重新披露：低于评估值90%须经批准单位书面同意")
def redisclose_task(call: ServiceCall) -> dict[str, Any]:
    """Check the new listing price; the approval recorded for this cut is spent, never reused by a later one."""
    new = money_rules.money(call.data.get("new_listing_price"), "new_listing_price")
    previous = money_rules.money(call.data.get("listing_price"), "listing_price")
    appraisal = money_rules.money(call.data.get("appraisal_value"), "appraisal_value")
    approval = rules.approval_from(call.data)
    below = rules.check_redisclosure_price(new, previous, appraisal, approval)
    today = call.now.astimezone(call.platform.tz).date()
    rules.check_relisting_window(parse_day(call.data.get("first_disclosed_on"), "first_disclosed_on"), today)
    round_no = int(call.data.get("disclosure_round") or 1) + 1
    audit.append(call.session, call.instance.id, "property.price_lowered", call.actor, call.now, {
        "round": round_no, "previous_price": money_rules.yuan(previous), "listing_price": money_rules.yuan(new),
        "appraisal_value": money_rules.yuan(appraisal),
        "approval_threshold": money_rules.yuan(rules.approval_threshold(appraisal)), "below_threshold": below,
        "approval": None if approval is None else {
            "approval_no": approval.document_no, "approval_body": approval.body,
            "approved_on": approval.approved_on.isoformat()},
        "rule": rules.REDISCLOSURE_RULE})
    return {"listing_price": money_rules.yuan(new), "budget_amount": money_rules.yuan(new),
            "disclosure_round": round_no, "new_listing_price": None,
            "approval_no": None, "approval_body": None, "approved_on": None}


@service_task("property.agreement", "协议转让：成交价不得低于转让底价")
def agreement_task(call: ServiceCall) -> dict[str, Any]:
    """The sole qualified transferee buys at the agreed price, which may not be below the listing price."""
    transferee = call.data.get("sole_transferee_uscc")
    if not transferee:
        raise Invalid("只有一个合格意向受让方时才能协议转让（缺少 sole_transferee_uscc）")
    price = money_rules.money(call.data.get("agreed_price"), "agreed_price")
    listing = money_rules.money(call.data.get("listing_price"), "listing_price")
    if price < listing:
        message = f"协议成交价 {money_rules.yuan(price)} 元低于转让底价 {money_rules.yuan(listing)} 元"
        raise Invalid(message, [{"field": "/agreed_price", "message": message}])
    audit.append(call.session, call.instance.id, "property.agreed", call.actor, call.now, {
        "transferee_uscc": transferee, "agreed_price": money_rules.yuan(price),
        "listing_price": money_rules.yuan(listing), "agreed_on": call.data.get("agreed_on")})
    return {"winner_uscc": transferee, "winner_name": call.data.get("sole_transferee_name"),
            "award_amount": money_rules.yuan(price), "trade_failed": False, "deal_method": "agreement",
            "trade_concluded_at": call.data.get("agreed_on")}


@service_task("property.select_investors", "按披露的遴选标准评议并确定投资方")
def select_investors_task(call: ServiceCall) -> dict[str, Any]:
    """Score every qualified investor on exactly the published criteria; the best N are selected."""
    weights = rules.check_criteria(call.data.get("selection_criteria") or [])
    evaluations = list(call.data.get("evaluations") or [])
    qualified = dict(qualified_transferees(call.session, call))
    scored = {uscc_rules.normalize(str(e.get("investor_uscc") or "")) for e in evaluations}
    if scored != set(qualified):
        raise Invalid("须对每一个合格意向投资方逐一评议，且只评议合格意向投资方", [{
            "field": "/evaluations",
            "message": f"未评议：{', '.join(sorted(set(qualified) - scored)) or '无'}；"
                       f"非合格意向投资方：{', '.join(sorted(scored - set(qualified))) or '无'}"}])
    normalized = [{**e, "investor_uscc": uscc_rules.normalize(str(e["investor_uscc"]))} for e in evaluations]
    ranking = rules.rank_investors(weights, normalized)
    wanted = min(int(call.data.get("investor_count") or 1), len(ranking))
    if wanted < len(ranking) and ranking[wanted - 1][1] == ranking[wanted][1]:
        raise Invalid("入选名额的最后一名与下一名得分相同，须由评议小组重新评议后确定",
                      [{"field": "/evaluations", "message": f"得分并列：{money_rules.yuan(ranking[wanted][1])}"}])
    selected = [u for u, _ in ranking[:wanted]]
    amounts = {e["investor_uscc"]: money_rules.money(e.get("subscription_amount"), "subscription_amount")
               for e in normalized}
    total = sum((amounts[u] for u in selected), Decimal("0"))
    audit.append(call.session, call.instance.id, "property.investors_selected", call.actor, call.now, {
        "criteria": [{"key": k, "weight": str(w)} for k, w in weights.items()],
        "evaluations": [{"investor_uscc": e["investor_uscc"], "scores": e.get("scores"),
                         "subscription_amount": money_rules.yuan(amounts[e["investor_uscc"]])} for e in normalized],
        "ranking": [{"investor_uscc": u, "total": money_rules.yuan(t)} for u, t in ranking],
        "selected": selected, "evaluated_on": call.data.get("evaluated_on")})
    return {"selected_investors": selected, "winner_uscc": selected[0], "winner_name": qualified[selected[0]],
            "award_amount": money_rules.yuan(total), "bidder_count": len(ranking), "trade_failed": False,
            "investor_scores": {u: money_rules.yuan(t) for u, t in ranking},
            # every selected investor's deposit becomes part of its subscription; the others' are refunded
            "deposit_winners": selected, "trade_concluded_at": call.data.get("evaluated_on")}
