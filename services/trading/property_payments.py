"""The price of a property trade: the payment plan its contract sets, payments received, overdue alerts, the voucher.

32号令 第二十八条: the price is paid in full within 5 working days of the contract taking effect, or in
instalments (first ≥ 30% within those 5 working days, the rest guaranteed, with interest, within one year).
The exchange issues the transaction voucher (交易凭证) once the price is paid in full.

A capital increase does not use this module: a plan has one payer per trade (uq_property_plans_instance) and the
32号令 28 deadlines, while a capital increase may select several investors, each paying on the agreement's terms.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models import ProcessInstance
from persistence.models_property import PaymentPlan, PlanInstalment, PricePayment, TransactionVoucher
from services import audit, steps
from services import calendar as calendar_service
from services.platform import Platform
from services.service_tasks import ServiceCall, service_task
from services.trading import alerts
from services.trading.tender import parse_day
from trading import deposits as money_rules
from trading import property as rules
from trading import uscc as uscc_rules

OVERDUE_KIND = "property_payment_overdue"
RECORDERS = ("staff", "integrator")
OVERSEERS = ("staff", "supervisor")
# How often the process looks at the payments; the voucher itself is issued by the payment that completes them.
CHECK_EVERY = timedelta(days=1)
DUE, PAID = "due", "paid"
DEAL_METHODS = {"online": "网络竞价", "agreement": "协议转让", "selection": "择优遴选"}


# --- service tasks -------------------------------------------------------------------------------------


@service_task("property.payment_plan", "登记交易价款支付计划（分期付款首期不低于30%、一年内付清）")
def payment_plan_task(call: ServiceCall) -> dict[str, Any]:
    """Create the contract's payment plan from the contract form; the same trade again keeps its plan."""
    session, instance = call.session, call.instance
    plan = session.scalar(select(PaymentPlan).where(PaymentPlan.instance_id == instance.id))
    if plan is None:
        plan = _new_plan(call)
    return {"payment_plan_id": plan.id, "fully_paid": plan.status == PAID,
            "payment_check_at": (call.now + CHECK_EVERY).astimezone(call.platform.tz).isoformat()}


def _new_plan(call: ServiceCall) -> PaymentPlan:
    data = call.data
    mode = str(data.get("payment_mode") or rules.LUMP_SUM)
    if mode == rules.INSTALMENTS and data.get("instalments_allowed") is False:
        raise Invalid("本交易的价款应当一次性付清，不接受分期付款", [{"field": "/payment_mode", "message": "应为一次付清"}])
    winner = uscc_rules.clean(str(data.get("winner_uscc") or ""), "winner_uscc")
    total = money_rules.money(data.get("award_amount"), "award_amount")
    effective_on = parse_day(data.get("contract_effective_on"), "contract_effective_on")
    guarantee = str(data.get("guarantee") or "").strip()[:500] or None
    entries = list(data.get("instalments") or [])
    plan_rows = rules.payment_plan(total, effective_on, mode, entries, guarantee,
                                   calendar_service.load(call.session))
    rate = data.get("interest_rate")
    plan = PaymentPlan(
        instance_id=call.instance.id, transferee_uscc=winner, transferee_name=str(data.get("winner_name") or winner),
        total=total, mode=mode, contract_no=str(data.get("contract_no") or "")[:100], effective_on=effective_on,
        guarantee=guarantee, interest_rate=None if rate in (None, "") else str(rate)[:20], status=DUE,
        created_at=call.now, created_by=call.actor.username if call.actor else None)
    call.session.add(plan)
    call.session.flush()
    call.session.add_all(PlanInstalment(plan_id=plan.id, seq=i.seq, amount=i.amount, due_on=i.due_on,
                                        paid=Decimal("0.00"), status=DUE) for i in plan_rows)
    call.session.flush()
    audit.append(call.session, call.instance.id, "property.payment_plan", call.actor, call.now, {
        "plan_id": plan.id, "mode": mode, "total": money_rules.yuan(total), "effective_on": effective_on.isoformat(),
        "guarantee": guarantee, "instalments": [
            {"seq": i.seq, "amount": money_rules.yuan(i.amount), "due_on": i.due_on.isoformat()} for i in plan_rows]})
    return plan


@service_task("property.check_payments", "核对交易价款到账情况（逾期预警；付清出具交易凭证）")
def check_payments_task(call: ServiceCall) -> dict[str, Any]:
    """Raise alerts for overdue instalments; report whether the price is paid and the voucher issued."""
    plan = _plan(call.session, call.instance.id)
    _alert_overdue(call.session, call.instance, plan, call.now, call.actor, call.platform.tz)
    voucher = _voucher(call.session, call.instance.id)
    if plan.status == PAID and voucher is None:
        voucher = _issue_voucher(call.session, call.instance, plan, call.now, call.actor, call.platform.tz)
    return {"fully_paid": plan.status == PAID, "voucher_no": voucher.voucher_no if voucher else None,
            "payment_check_at": (call.now + CHECK_EVERY).astimezone(call.platform.tz).isoformat()}


# --- use cases -----------------------------------------------------------------------------------------


def record_payment(p: Platform, actor: Actor, instance_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Record money received from the transferee (staff, bank interface); the same bank reference again is a no-op."""
    if not actor.has(*RECORDERS):
        raise Forbidden("只有交易中心工作人员或银行接口可以登记交易价款")
    amount = money_rules.money(data.get("amount"))
    fields = {f: _text(data, f, limit) for f, limit in
              (("bank_reference", 100), ("payer_account_name", 200), ("payer_account_no", 64))}

    def use_case(session: Session) -> tuple[dict[str, Any], bool]:
        instance = steps.lock_instance(session, instance_id)
        if not actor.covers(instance.region):
            raise Forbidden("无权登记其他区域交易的价款")
        plan = _plan(session, instance_id)
        existing = session.scalar(select(PricePayment).where(
            PricePayment.plan_id == plan.id, PricePayment.bank_reference == fields["bank_reference"]))
        if existing is not None:
            if existing.amount == amount:
                return plan_view(session, plan, p.tz, _today(p)), False
            raise Conflict(f"银行流水 {existing.bank_reference} 已登记，金额为 {money_rules.yuan(existing.amount)} 元")
        if plan.status == PAID:
            raise Conflict("交易价款已全部付清")
        if not money_rules.same_name(fields["payer_account_name"], plan.transferee_name):
            message = f"付款账户名称“{fields['payer_account_name']}”与受让方“{plan.transferee_name}”不一致"
            raise Invalid(message, [{"field": "payer_account_name", "message": message}])
        instalments = _instalments(session, plan.id)
        paid_before = _paid(session, plan.id)
        if amount > plan.total - paid_before:
            message = f"付款金额超过未付价款 {money_rules.yuan(plan.total - paid_before)} 元"
            raise Invalid(message, [{"field": "amount", "message": message}])
        now = p.clock.now()
        payment = PricePayment(plan_id=plan.id, amount=amount, paid_at=now, recorded_by=actor.username,
                               recorded_at=now, **fields)
        session.add(payment)
        covered = rules.allocate([i.amount for i in instalments], paid_before + amount)
        for instalment, part in zip(instalments, covered, strict=True):
            instalment.paid = part
            if part == instalment.amount and instalment.status != PAID:
                instalment.status, instalment.paid_at = PAID, now
        session.flush()
        audit.append(session, instance_id, "property.payment_recorded", actor, now, {
            "plan_id": plan.id, "payment_id": payment.id, "amount": money_rules.yuan(amount),
            "bank_reference": payment.bank_reference, "paid_total": money_rules.yuan(paid_before + amount)})
        if paid_before + amount == plan.total:
            plan.status, plan.paid_at = PAID, now
            if _voucher(session, instance_id) is None:
                _issue_voucher(session, instance, plan, now, actor, p.tz)
        return plan_view(session, plan, p.tz, _today(p)), True

    return p.db.run(use_case)


def get_plan(p: Platform, actor: Actor, instance_id: str) -> dict[str, Any]:
    """The payment plan with its instalments and payments (staff and supervisors of the region, the two parties)."""
    with p.db.sessions() as session:
        instance = _readable(session, actor, instance_id)
        return plan_view(session, _plan(session, instance.id), p.tz, _today(p))


def get_voucher(p: Platform, actor: Actor, instance_id: str) -> dict[str, Any]:
    """The transaction voucher once issued (the same readers as the plan)."""
    with p.db.sessions() as session:
        instance = _readable(session, actor, instance_id)
        voucher = _voucher(session, instance.id)
        if voucher is None:
            raise NotFound("交易价款尚未付清，交易凭证尚未出具")
        return {"voucher_no": voucher.voucher_no, "instance_id": instance.id,
                "issued_at": voucher.issued_at.astimezone(p.tz).isoformat(), **voucher.content}


def check_overdue_instalments(p: Platform) -> int:
    """One scan: raise an alert for every instalment past its last day and not covered; returns alerts raised."""
    today = p.clock.now().astimezone(p.tz).date()
    with p.db.sessions() as session:
        instance_ids = list(session.scalars(
            select(PaymentPlan.instance_id).join(PlanInstalment, PlanInstalment.plan_id == PaymentPlan.id)
            .where(*_overdue(today)).distinct()))
    return sum(p.db.run(_alert_instance, p, instance_id) for instance_id in instance_ids)


def plan_view(session: Session, plan: PaymentPlan, tz: ZoneInfo, today: date) -> dict[str, Any]:
    """A plan as the API shows it; amounts are decimal strings in yuan."""
    payments = session.scalars(select(PricePayment).where(PricePayment.plan_id == plan.id)
                               .order_by(PricePayment.paid_at, PricePayment.id))
    paid = _paid(session, plan.id)
    return {
        "id": plan.id, "instance_id": plan.instance_id, "transferee_uscc": plan.transferee_uscc,
        "transferee_name": plan.transferee_name, "total": money_rules.yuan(plan.total), "mode": plan.mode,
        "contract_no": plan.contract_no, "effective_on": plan.effective_on.isoformat(), "guarantee": plan.guarantee,
        "interest_rate": plan.interest_rate, "status": plan.status, "paid_total": money_rules.yuan(paid),
        "outstanding": money_rules.yuan(plan.total - paid), "paid_at": _iso(plan.paid_at, tz),
        "instalments": [{"seq": i.seq, "amount": money_rules.yuan(i.amount), "due_on": i.due_on.isoformat(),
                         "paid": money_rules.yuan(i.paid), "status": i.status, "paid_at": _iso(i.paid_at, tz),
                         "overdue": i.status == DUE and i.due_on < today, "alert_id": i.overdue_alert_id}
                        for i in _instalments(session, plan.id)],
        "payments": [{"id": x.id, "amount": money_rules.yuan(x.amount), "paid_at": _iso(x.paid_at, tz),
                      "bank_reference": x.bank_reference, "payer_account_name": x.payer_account_name,
                      "recorded_by": x.recorded_by} for x in payments],
    }


# --- helpers -------------------------------------------------------------------------------------------


def _issue_voucher(session: Session, instance: ProcessInstance, plan: PaymentPlan, now: datetime,
                   actor: Actor | None, tz: ZoneInfo) -> TransactionVoucher:
    v = instance.variables
    code = str(v.get("trade_code") or instance.id)
    content = {
        "trade_code": v.get("trade_code"), "process_key": instance.process_key, "project_name": v.get("project_name"),
        "subject": v.get("subject_name"), "transferor_name": v.get("purchaser_name"),
        "transferor_uscc": v.get("purchaser_uscc"), "transferee_name": plan.transferee_name,
        "transferee_uscc": plan.transferee_uscc, "price": money_rules.yuan(plan.total),
        "listing_price": v.get("listing_price"), "deal_method": DEAL_METHODS.get(str(v.get("deal_method")), None),
        "contract_no": plan.contract_no, "contract_effective_on": plan.effective_on.isoformat(),
        "payment_mode": plan.mode, "paid_at": _iso(plan.paid_at, tz),
    }
    voucher = TransactionVoucher(instance_id=instance.id, voucher_no=f"{code}-PZ"[:40], issued_at=now, content=content)
    session.add(voucher)
    session.flush()
    audit.append(session, instance.id, "property.voucher_issued", actor, now,
                 {"voucher_no": voucher.voucher_no, **content})
    return voucher


def _alert_instance(session: Session, p: Platform, instance_id: str) -> int:
    instance = steps.lock_instance(session, instance_id)
    return _alert_overdue(session, instance, _plan(session, instance_id), p.clock.now(), None, p.tz)


def _alert_overdue(session: Session, instance: ProcessInstance, plan: PaymentPlan, now: datetime,
                   actor: Actor | None, tz: ZoneInfo) -> int:
    """Link every overdue instalment of the plan to an open alert; returns how many alerts were raised."""
    today = now.astimezone(tz).date()
    raised = 0
    for i in session.scalars(select(PlanInstalment).where(PlanInstalment.plan_id == plan.id, *_overdue(today))
                             .order_by(PlanInstalment.seq)):
        rule = rules.PAYMENT_FIRST_RULE if plan.mode == rules.INSTALMENTS and i.seq > 1 else rules.PAYMENT_RULE
        alert, created = alerts.raise_alert(
            session, kind=OVERDUE_KIND, severity="warning", now=now, region=instance.region,
            instance_id=instance.id, subject=f"{plan.transferee_uscc}#{i.seq}", rule=rule,
            message=f"{plan.transferee_name}第 {i.seq} 期交易价款 {money_rules.yuan(i.amount)} 元应于"
                    f" {i.due_on.isoformat()} 前支付，已到账 {money_rules.yuan(i.paid)} 元，逾期未付清",
            evidence={"plan_id": plan.id, "seq": i.seq, "amount": money_rules.yuan(i.amount),
                      "paid": money_rules.yuan(i.paid), "due_on": i.due_on.isoformat(),
                      "contract_no": plan.contract_no, "guarantee": plan.guarantee, "checked_on": today.isoformat()})
        i.overdue_alert_id = alert.id
        if created:
            raised += 1
            audit.append(session, instance.id, "alert.raised", actor, now,
                         {"alert_id": alert.id, "kind": OVERDUE_KIND, "subject": alert.subject, "rule": rule})
    return raised


def _overdue(today: date) -> tuple[Any, ...]:
    # An instalment already linked to an alert is not raised again, even after a supervisor closed that alert.
    return (PlanInstalment.status == DUE, PlanInstalment.due_on < today, PlanInstalment.overdue_alert_id.is_(None))


def _readable(session: Session, actor: Actor, instance_id: str) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"交易 {instance_id} 不存在")
    if actor.has(*OVERSEERS) and actor.covers(instance.region):
        return instance
    org = (actor.org or "").strip().upper()
    plan_party = session.scalar(select(PaymentPlan.transferee_uscc).where(PaymentPlan.instance_id == instance_id))
    if org and ((actor.has("bidder") and org == plan_party)
                or (actor.has("purchaser") and org == str(instance.variables.get("purchaser_uscc") or "").upper())):
        return instance
    raise Forbidden("无权查看该交易的价款与交易凭证")


def _plan(session: Session, instance_id: str) -> PaymentPlan:
    plan = session.scalar(select(PaymentPlan).where(PaymentPlan.instance_id == instance_id))
    if plan is None:
        raise NotFound("该交易尚未签订交易合同、登记价款支付计划")
    return plan


def _instalments(session: Session, plan_id: int) -> list[PlanInstalment]:
    return list(session.scalars(select(PlanInstalment).where(PlanInstalment.plan_id == plan_id)
                                .order_by(PlanInstalment.seq)))


def _paid(session: Session, plan_id: int) -> Decimal:
    total = session.scalar(select(func.coalesce(func.sum(PricePayment.amount), 0)).where(
        PricePayment.plan_id == plan_id))
    return Decimal(total or 0).quantize(money_rules.CENT)


def _voucher(session: Session, instance_id: str) -> TransactionVoucher | None:
    return session.scalar(select(TransactionVoucher).where(TransactionVoucher.instance_id == instance_id))


def _text(data: dict[str, Any], field: str, limit: int) -> str:
    text = str(data.get(field) or "").strip()
    if not text or len(text) > limit:
        raise Invalid(f"{field} 必填，最长 {limit} 个字符", [{"field": field, "message": f"必填，最长 {limit} 个字符"}])
    return text


def _today(p: Platform) -> date:
    return p.clock.now().astimezone(p.tz).date()


def _iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None
