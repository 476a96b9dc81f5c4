"""Bid bonds and deposits: record payments, qualify bidders, schedule and record refunds, flag overdue ones.

Payments and refunds go into the platform audit chain, not the trade's: the trade's chain is readable by
the tenderer, who may not learn who or how many bidders paid before the opening (TBL 22).
"""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models import ProcessInstance
from persistence.models_deposits import Deposit, DepositRefund
from persistence.models_entities import Organisation
from services import audit, steps
from services import calendar as calendar_service
from services.platform import Platform
from services.service_tasks import ServiceCall, service_task
from services.trading import alerts, credit, supervision
from trading import deposits as rules
from trading import uscc as uscc_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
OVERDUE_KIND = "deposit_refund_overdue"
RECORDERS = ("staff", "integrator")
OVERSEERS = ("staff", "supervisor")


@supervision.alerts_blacklisted("缴纳保证金")
def record_payment(p: Platform, actor: Actor, instance_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Record a bond received from a bidder (staff, or the bank interface); the same bank reference again is a no-op."""
    if not actor.has(*RECORDERS):
        raise Forbidden("只有交易中心工作人员或银行接口可以登记保证金")
    uscc = uscc_rules.clean(str(data.get("bidder_uscc") or ""), "bidder_uscc")
    amount = rules.money(data.get("amount"))
    lot = rules.clean_lot(data.get("lot"))
    fields = {f: _text(data, f, limit) for f, limit in (
        ("payer_account_no", 64), ("payer_bank", 200), ("payer_account_name", 200), ("bank_reference", 100))}
    declared = str(data.get("bidder_name") or "").strip()
    is_basic = data.get("is_basic_account")
    if not isinstance(is_basic, bool):
        raise Invalid("须声明付款账户是否为基本账户", [{"field": "is_basic_account", "message": "必填，true 或 false"}])

    def use_case(session: Session) -> tuple[dict[str, Any], bool]:
        instance = _instance(session, actor, instance_id)
        if instance.status not in ("running", "suspended"):
            raise Conflict(f"交易状态为 {instance.status}，不能再登记保证金")
        # A blacklisted bidder may not take part in any trade; its bond is not taken in (the bank returns it).
        credit.require_not_blacklisted(session, uscc, p.clock.now(), p.tz, action="缴纳保证金")
        name = _bidder_name(session, uscc, declared)
        cap_rule = instance.variables.get("bond_cap_rule")
        rules.check_payer(rules.category_of(instance.process_key, cap_rule), name, fields["payer_account_name"],
                          is_basic)
        existing = session.scalar(select(Deposit).where(
            Deposit.instance_id == instance_id, Deposit.lot == lot, Deposit.bidder_uscc == uscc))
        if existing is not None:
            if existing.bank_reference == fields["bank_reference"] and existing.amount == amount:
                return view(existing, instance.variables, p.tz), False
            raise Conflict(f"投标人 {uscc} 在标段 {lot} 已登记保证金（银行流水 {existing.bank_reference}）")
        now = p.clock.now()
        deposit = Deposit(instance_id=instance_id, lot=lot, bidder_uscc=uscc, bidder_name=name, amount=amount,
                          is_basic_account=is_basic, paid_at=now, recorded_by=actor.username, status=rules.HELD,
                          updated_at=now, **fields)
        session.add(deposit)
        session.flush()
        audit.append(session, audit.PLATFORM_CHAIN, "deposit.recorded", actor, now, {
            "instance_id": instance_id, "deposit_id": deposit.id, "lot": lot, "bidder_uscc": uscc,
            "amount": rules.yuan(amount), "bank_reference": deposit.bank_reference,
            "payer_account_no": deposit.payer_account_no, "is_basic_account": is_basic})
        return view(deposit, instance.variables, p.tz), True

    return p.db.run(use_case)


def list_deposits(p: Platform, actor: Actor, instance_id: str, lot: str | None = None) -> list[dict[str, Any]]:
    """Deposits of a trade: all of them for staff and supervisors of the region, its own for a bidder."""
    with p.db.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"交易 {instance_id} 不存在")
        query = select(Deposit).where(Deposit.instance_id == instance_id)
        if not (actor.has(*OVERSEERS) and actor.covers(instance.region)):
            if not (actor.has("bidder") and actor.org):
                raise Forbidden("无权查看该交易的保证金")
            query = query.where(Deposit.bidder_uscc == actor.org)  # a bidder sees its own deposits only
        if lot:
            query = query.where(Deposit.lot == lot)
        rows = session.scalars(query.order_by(Deposit.lot, Deposit.paid_at, Deposit.id)).all()
        refunds = _refunds(session, [d.id for d in rows])
        return [view(d, instance.variables, p.tz, refunds.get(d.id)) for d in rows]


def deposit_status(session: Session, instance_id: str, uscc: str, lot: str = rules.DEFAULT_LOT,
                   variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Whether a bidder has paid the bond the documents require for a lot (no bond required: always ok)."""
    if variables is None:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"交易 {instance_id} 不存在")
        variables = instance.variables
    deposit = session.scalar(select(Deposit).where(
        Deposit.instance_id == instance_id, Deposit.lot == lot, Deposit.bidder_uscc == uscc))
    required = _required(variables, lot)
    return {
        "instance_id": instance_id, "lot": lot, "uscc": uscc,
        "required": rules.yuan(required) if required is not None else None,
        "paid": rules.yuan(deposit.amount) if deposit else None,
        "deposit_ok": _ok(deposit, required) if deposit else required is None,
        "status": deposit.status if deposit else None,
        "deposit_id": deposit.id if deposit else None,
    }


def schedule_refunds(session: Session, instance_id: str, event: str, on: datetime | date,
                     winner_uscc: str | list[str] | None = None, rule_id: str = rules.DEFAULT_REFUND_RULE, *,
                     tz: ZoneInfo = SHANGHAI, now: datetime | None = None, actor: Actor | None = None,
                     interest_rate: Decimal | None = None) -> list[dict[str, Any]]:
    """Set the refund due time of each held deposit the event releases (the caller holds the instance lock)."""
    policy = rules.refund_policy(rule_id)
    winners = _winners(winner_uscc)
    event_day = on.astimezone(tz).date() if isinstance(on, datetime) else on
    now = now or (on if isinstance(on, datetime) else datetime.combine(on, time.min, tz))
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"交易 {instance_id} 不存在")
    if interest_rate is None and policy.interest:
        interest_rate = rules.interest_rate(instance.variables.get("deposit_interest_rate"))
    due_at = rules.end_of_day(rules.refund_due_day(rule_id, event_day, calendar_service.load(session)), tz)
    held = session.scalars(select(Deposit).where(
        Deposit.instance_id == instance_id, Deposit.status == rules.HELD).order_by(Deposit.id)).all()
    changed = []
    for deposit in held:
        action = rules.refund_action(policy, event, deposit.bidder_uscc, winners)
        if action is None:
            continue
        deposit.refund_rule, deposit.refund_event, deposit.updated_at = rule_id, event, now
        if action == rules.APPLY:
            deposit.status = rules.APPLIED
        else:
            deposit.status, deposit.refund_due_at = rules.REFUND_DUE, due_at
            deposit.interest_rate = str(interest_rate) if policy.interest and interest_rate is not None else None
        changed.append({"deposit_id": deposit.id, "lot": deposit.lot, "bidder_uscc": deposit.bidder_uscc,
                        "status": deposit.status, "refund_due_at": _iso(deposit.refund_due_at, tz)})
    if changed:
        audit.append(session, instance_id, "deposits.refunds_scheduled", actor, now, {
            "rule": rule_id, "event": event, "event_date": event_day.isoformat(), "winner_uscc": winners,
            "refund_due_at": _iso(due_at, tz), "deposits": changed})
    return changed


def mark_refunded(p: Platform, actor: Actor, instance_id: str, deposit_id: int, bank_reference: str) -> dict[str, Any]:
    """Record that a deposit went back to the payer account, with the interest the rule owes (staff)."""
    if not actor.has("staff"):
        raise Forbidden("只有交易中心工作人员可以登记保证金退还")
    reference = _text({"bank_reference": bank_reference}, "bank_reference", 100)

    def use_case(session: Session) -> dict[str, Any]:
        instance = _instance(session, actor, instance_id)
        deposit = session.get(Deposit, deposit_id, with_for_update=True, populate_existing=True)
        if deposit is None or deposit.instance_id != instance_id:
            raise NotFound(f"保证金记录 {deposit_id} 不存在")
        if deposit.status == rules.REFUNDED:
            done = session.scalar(select(DepositRefund).where(DepositRefund.deposit_id == deposit.id))
            if done is not None and done.bank_reference == reference:
                return view(deposit, instance.variables, p.tz, done)
            raise Conflict("该保证金已登记退还")
        if deposit.status not in (rules.HELD, rules.REFUND_DUE):
            raise Conflict(f"保证金状态为 {deposit.status}，不能退还")
        now = p.clock.now()
        days = rules.days_held(deposit.paid_at.astimezone(p.tz).date(), now.astimezone(p.tz).date())
        rate = Decimal(deposit.interest_rate) if deposit.interest_rate else None
        owed = rules.interest(deposit.amount, rate, days) if rate is not None else Decimal("0.00")
        late = deposit.refund_due_at is not None and now > deposit.refund_due_at
        refund = DepositRefund(deposit_id=deposit.id, amount=deposit.amount, interest=owed, days_held=days,
                               refunded_at=now, bank_reference=reference, recorded_by=actor.username, late=late)
        session.add(refund)
        deposit.status, deposit.updated_at = rules.REFUNDED, now
        session.flush()
        audit.append(session, audit.PLATFORM_CHAIN, "deposit.refunded", actor, now, {
            "instance_id": instance_id, "deposit_id": deposit.id, "amount": rules.yuan(deposit.amount),
            "interest": rules.yuan(owed), "days_held": days, "bank_reference": reference, "late": late})
        return view(deposit, instance.variables, p.tz, refund)

    return p.db.run(use_case)


def check_overdue_refunds(p: Platform) -> int:
    """One scan: raise an alert for every deposit past its refund due time and not refunded; returns alerts raised."""
    now = p.clock.now()
    with p.db.sessions() as session:
        instance_ids = list(session.scalars(select(Deposit.instance_id).where(*_overdue(now)).distinct()))
    return sum(p.db.run(_alert_instance, p, instance_id) for instance_id in instance_ids)


def view(deposit: Deposit, variables: dict[str, Any], tz: ZoneInfo, refund: DepositRefund | None = None) -> dict[str, Any]:
    """A deposit as the API shows it; amounts are decimal strings in yuan."""
    required = _required(variables, deposit.lot)
    return {
        "id": deposit.id, "instance_id": deposit.instance_id, "lot": deposit.lot,
        "bidder_uscc": deposit.bidder_uscc, "bidder_name": deposit.bidder_name, "amount": rules.yuan(deposit.amount),
        "required": rules.yuan(required) if required is not None else None, "deposit_ok": _ok(deposit, required),
        "payer_account_no": deposit.payer_account_no, "payer_bank": deposit.payer_bank,
        "payer_account_name": deposit.payer_account_name, "is_basic_account": deposit.is_basic_account,
        "bank_reference": deposit.bank_reference, "paid_at": _iso(deposit.paid_at, tz),
        "recorded_by": deposit.recorded_by, "status": deposit.status, "refund_rule": deposit.refund_rule,
        "refund_event": deposit.refund_event, "refund_due_at": _iso(deposit.refund_due_at, tz),
        "interest_rate": deposit.interest_rate,
        "refund": None if refund is None else {
            "amount": rules.yuan(refund.amount), "interest": rules.yuan(refund.interest),
            "days_held": refund.days_held, "refunded_at": _iso(refund.refunded_at, tz),
            "bank_reference": refund.bank_reference, "recorded_by": refund.recorded_by, "late": refund.late},
    }


# --- service tasks ---------------------------------------------------------------------------------


@service_task("deposits.check_cap", "校验投标保证金上限")
def check_cap_task(call: ServiceCall) -> dict[str, Any]:
    """bond_amount ≤ the bond_cap_rule's percentage of its base, for every lot."""
    rule_id = str(call.data.get("bond_cap_rule") or rules.DEFAULT_CAP_RULE)
    variable, label = rules.cap_base(rule_id)
    bond, base = call.data.get("bond_amount"), call.data.get(variable)
    lots = sorted(bond) if isinstance(bond, dict) else [rules.DEFAULT_LOT]
    for lot in lots:
        amount = rules.money(rules.per_lot(bond, lot), "bond_amount")
        base_value = rules.per_lot(base, lot)
        if base_value is None:
            raise Invalid(f"缺少{label}（变量 {variable}），无法校验投标保证金上限")
        rules.check_bond_cap(rule_id, amount, rules.money(base_value, variable))
    return {"bond_cap_ok": True}


@service_task("deposits.qualify_bidders", "核验投标保证金缴纳情况")
def qualify_bidders_task(call: ServiceCall) -> dict[str, Any]:
    """Count the bidders of the lot whose bond covers the amount the documents require."""
    lot = rules.clean_lot(call.data.get("lot"))
    required = _required(call.data, lot)
    if required is None:
        raise Invalid("招标文件未设置投标保证金金额（变量 bond_amount）")
    rows = list(call.session.scalars(select(Deposit).where(
        Deposit.instance_id == call.instance.id, Deposit.lot == lot)))
    if _has_sealed_bids(call.session, call.instance.id, lot):
        # A bond counts only for a bidder whose bid is still in the competition (opened and decrypted).
        from services.trading.bids import valid_bidders

        valid = set(valid_bidders(call.session, call.instance.id, lot))
        rows = [d for d in rows if d.bidder_uscc in valid]
    return {"deposit_ok_count": sum(1 for d in rows if _ok(d, required))}


def _has_sealed_bids(session: Any, instance_id: str, lot: str) -> bool:
    from persistence.models_bids import Bid

    return session.scalar(select(Bid.id).where(Bid.instance_id == instance_id, Bid.lot == lot).limit(1)) is not None


@service_task("deposits.schedule_refunds", "安排保证金退还")
def schedule_refunds_task(call: ServiceCall) -> dict[str, Any]:
    """Schedule the refunds the event releases; the event date is its variable (e.g. contract_signed_at) or now."""
    rule_id = str(call.data.get("bond_refund_rule") or rules.DEFAULT_REFUND_RULE)
    event = str(call.data.get("refund_event") or rules.refund_policy(rule_id).default_event)
    tz = call.platform.tz
    on = _event_time(call.data.get(rules.EVENT_VARIABLES.get(event, "")), tz) or call.now
    # A trade with several winners (a capital increase's selected investors) names them in deposit_winners.
    winner = call.data.get("deposit_winners") or call.data.get("winner_uscc") or None
    rate = rules.interest_rate(call.data.get("deposit_interest_rate"))
    schedule_refunds(call.session, call.instance.id, event, on, winner, rule_id, tz=tz, now=call.now,
                     actor=call.actor, interest_rate=rate)
    latest = call.session.scalar(select(func.max(Deposit.refund_due_at)).where(
        Deposit.instance_id == call.instance.id, Deposit.status == rules.REFUND_DUE))
    return {"refunds_due_at": _iso(latest, tz)}


@service_task("deposits.check_overdue", "检查逾期未退还的保证金")
def check_overdue_task(call: ServiceCall) -> dict[str, Any]:
    """Raise alerts for this trade's overdue refunds; returns how many deposits are overdue."""
    overdue, _ = _alert_overdue(call.session, call.instance, call.now, call.actor, call.platform.tz)
    return {"overdue_refund_count": overdue}


# --- helpers ---------------------------------------------------------------------------------------


def _alert_instance(session: Session, p: Platform, instance_id: str) -> int:
    instance = steps.lock_instance(session, instance_id)
    _, raised = _alert_overdue(session, instance, p.clock.now(), None, p.tz)
    return raised


def _alert_overdue(session: Session, instance: ProcessInstance, now: datetime, actor: Actor | None,
                   tz: ZoneInfo) -> tuple[int, int]:
    """Link every overdue deposit of the instance to an open alert for its bidder: (overdue, alerts raised)."""
    overdue = session.scalars(select(Deposit).where(Deposit.instance_id == instance.id, *_overdue(now))
                              .order_by(Deposit.id)).all()
    raised = 0
    for deposit in overdue:
        alert, created = alerts.raise_alert(
            session, kind=OVERDUE_KIND, severity="warning", now=now, region=instance.region,
            instance_id=instance.id, subject=deposit.bidder_uscc, rule=deposit.refund_rule,
            message=f"{deposit.bidder_name}的保证金 {rules.yuan(deposit.amount)} 元应于"
                    f" {_iso(deposit.refund_due_at, tz)} 前退还，逾期未退还",
            evidence={"deposit_id": deposit.id, "lot": deposit.lot, "amount": rules.yuan(deposit.amount),
                      "refund_due_at": _iso(deposit.refund_due_at, tz), "paid_at": _iso(deposit.paid_at, tz),
                      "bank_reference": deposit.bank_reference, "checked_at": _iso(now, tz)})
        deposit.overdue_alert_id = alert.id
        if created:
            raised += 1
            audit.append(session, instance.id, "alert.raised", actor, now,
                         {"alert_id": alert.id, "kind": OVERDUE_KIND, "subject": deposit.bidder_uscc,
                          "rule": deposit.refund_rule, "deposit_id": deposit.id})
    still_due = session.scalar(select(func.count()).select_from(Deposit).where(
        Deposit.instance_id == instance.id, Deposit.status == rules.REFUND_DUE, Deposit.refund_due_at < now))
    return still_due or 0, raised


def _overdue(now: datetime) -> tuple[Any, ...]:
    # A deposit already linked to an alert is not raised again, even after a supervisor closed that alert.
    return (Deposit.status == rules.REFUND_DUE, Deposit.refund_due_at < now, Deposit.overdue_alert_id.is_(None))


def _instance(session: Session, actor: Actor, instance_id: str) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"交易 {instance_id} 不存在")
    if not actor.covers(instance.region):
        raise Forbidden("无权办理其他区域交易的保证金")
    return instance


def _bidder_name(session: Session, uscc: str, declared: str) -> str:
    """The registered name when the bidder is registered (a declared name must match it), else the declared one."""
    registered = session.get(Organisation, uscc)
    if registered is None:
        if not declared:
            raise Invalid("投标人尚未登记，须填写投标人名称", [{"field": "bidder_name", "message": "必填"}])
        return declared[:200]
    if declared and not rules.same_name(declared, registered.name):
        message = f"投标人名称与登记名称“{registered.name}”不一致"
        raise Invalid(message, [{"field": "bidder_name", "message": message}])
    return registered.name


def _required(variables: dict[str, Any], lot: str) -> Decimal | None:
    value = rules.per_lot(variables.get("bond_amount"), lot)
    if value in (None, "", 0):
        return None
    return rules.money(value, "bond_amount")


def _ok(deposit: Deposit, required: Decimal | None) -> bool:
    return required is None or deposit.amount >= required


def _refunds(session: Session, deposit_ids: list[int]) -> dict[int, DepositRefund]:
    if not deposit_ids:
        return {}
    rows = session.scalars(select(DepositRefund).where(DepositRefund.deposit_id.in_(deposit_ids)))
    return {r.deposit_id: r for r in rows}


def _winners(value: str | list[str] | None) -> str | list[str] | None:
    """One winner's USCC, or several (kept as a list for the audit record), normalized."""
    if not value:
        return None
    if isinstance(value, str):
        return uscc_rules.normalize(value)
    return [uscc_rules.normalize(str(v)) for v in value]


def _event_time(value: Any, tz: ZoneInfo) -> datetime | date | None:
    """A date ("2026-09-28") or a datetime (naive ones read in the statutory zone) from a variable."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return value
    text = str(value)
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"事件日期格式不正确：{text!r}（应为 YYYY-MM-DD 或 ISO 8601 时间）") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _text(data: dict[str, Any], field: str, limit: int) -> str:
    value = data.get(field)
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > limit:
        raise Invalid(f"{field} 必填，最长 {limit} 个字符", [{"field": field, "message": f"必填，最长 {limit} 个字符"}])
    return text


def _iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None
