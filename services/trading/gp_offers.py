"""Offers of 竞争性谈判 and 询价 (财政部令第74号): per-round prices, the team's findings, the lowest qualified price.

A trade's offers are keyed by round: round 1 is the first response (竞争性谈判) or the one quote (询价) and is
due by `response_deadline`; in 竞争性谈判 the agency opens further rounds (`offer_round`, `round_open`,
set by gp.offers.open_round) and the last one is the final quote (`final_round`). A supplier may revise its
offer while a negotiation round is open; an inquiry quote is given once and cannot be changed (74号令 第四十八条).

Secrecy (74号令 第三十二条): a supplier sees only its own offers; the agency, purchaser, staff and supervisor
see a round's offers only once it is closed, so nobody can pass one supplier's price to another.
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models import ProcessInstance
from persistence.models_gp_offers import GpAssessment, GpOffer
from services import audit, steps
from services.platform import Platform
from services.service_tasks import ServiceCall, service_task
from services.trading import credit, supervision
from trading import uscc
from trading.bids import parse_deadline

INQUIRY = "gp_inquiry"
NEGOTIATION = "gp_competitive_negotiation"
PROCESSES = (INQUIRY, NEGOTIATION)
VIEWERS = ("staff", "supervisor", "purchaser", "agency", "expert")
ASSESSORS = ("agency", "expert", "staff")
MAX_CANDIDATES = 3
DEFAULT_LOT = "1"
_AMOUNT = re.compile(r"^\d{1,16}(\.\d{1,2})?$")


# --- pure rules ---------------------------------------------------------------------------------------


def parse_amount(value: Any) -> Decimal:
    """A price in yuan given as a decimal string with at most two decimals, above zero."""
    text = str(value).strip() if isinstance(value, str) else ""
    if not _AMOUNT.match(text) or Decimal(text) <= 0:
        raise Invalid("报价应为大于 0 的金额字符串（元，最多两位小数），如 \"980000.00\"",
                      [{"field": "/amount", "message": "金额字符串"}])
    return Decimal(text)


def money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


def current_round(variables: dict[str, Any]) -> int:
    return int(variables.get("offer_round") or 1)


def round_is_open(variables: dict[str, Any]) -> bool:
    return variables.get("round_open") is not False


def lowest_qualified(offers: list[GpOffer], qualified: set[str]) -> list[GpOffer]:
    """Offers of qualified suppliers, lowest price first; an equal price goes to the earlier offer."""
    return sorted((o for o in offers if o.supplier_uscc in qualified), key=lambda o: (o.amount, o.submitted_at))


# --- use cases ----------------------------------------------------------------------------------------


@supervision.alerts_blacklisted("报价")
def submit(p: Platform, actor: Actor, instance_id: str, round_no: int | None, amount_text: Any,
           supplier_name: str | None, lot: str | None = None) -> dict[str, Any]:
    """A supplier's offer for the open round: a revision replaces its earlier one; an inquiry quote is final."""
    org = _supplier(actor)
    amount = parse_amount(amount_text)
    lot = lot or DEFAULT_LOT

    def use_case(session: Session) -> dict[str, Any]:
        instance = steps.lock_instance(session, instance_id)
        now = p.clock.now()
        open_round = _open_round(instance, p, now)
        credit.require_not_blacklisted(session, org, now, p.tz, action="报价")
        asked = open_round if round_no is None else round_no
        if asked != open_round:
            raise Conflict(f"当前接受第 {open_round} 轮报价，不接受第 {asked} 轮报价")
        existing = session.scalar(select(GpOffer).where(
            GpOffer.instance_id == instance_id, GpOffer.lot == lot, GpOffer.round == asked,
            GpOffer.supplier_uscc == org))
        if asked > 1 and session.scalar(select(GpOffer.id).where(
                GpOffer.instance_id == instance_id, GpOffer.lot == lot, GpOffer.round == 1,
                GpOffer.supplier_uscc == org)) is None:
            raise Forbidden("未在截止时间前提交首次响应文件的供应商不得参加后续谈判和报价")
        if existing is not None and instance.process_key == INQUIRY:
            raise Conflict("询价采购中供应商一次报出不得更改的价格（《政府采购非招标采购方式管理办法》第四十八条），"
                           "不能再次报价")
        if existing is None:
            existing = GpOffer(instance_id=instance_id, lot=lot, round=asked, supplier_uscc=org)
            session.add(existing)
        existing.supplier_name = supplier_name or existing.supplier_name
        existing.amount = amount
        existing.submitted_at = now
        existing.submitted_by = actor.username
        existing.client_ip = actor.ip
        session.flush()
        # The chain records that an offer arrived, never its price or its supplier: both are secret for now.
        audit.append(session, instance_id, "gp.offer_received", Actor("sealed-supplier"), now,
                     {"round": asked, "lot": lot, "offer_id": existing.id})
        return _view(existing, p)

    return p.db.run(use_case)  # type: ignore[no-any-return]


def list_offers(p: Platform, actor: Actor, instance_id: str, lot: str | None = None) -> dict[str, Any]:
    """The offers the caller may see: a supplier its own, the others every offer of a closed round."""
    lot = lot or DEFAULT_LOT
    with p.db.sessions() as session:
        instance = _instance(session, instance_id)
        query = select(GpOffer).where(GpOffer.instance_id == instance_id, GpOffer.lot == lot)
        open_round = current_round(instance.variables) if round_is_open(instance.variables) else None
        if actor.has(*VIEWERS):
            if not actor.covers(instance.region):
                raise Forbidden("该交易不在您的管辖区域内")
            if open_round is not None:
                query = query.where(GpOffer.round != open_round)
        elif actor.has("bidder") and actor.org:
            query = query.where(GpOffer.supplier_uscc == actor.org)
        else:
            raise Forbidden("需要以下角色之一：bidder, " + ", ".join(VIEWERS))
        offers = session.scalars(query.order_by(GpOffer.round, GpOffer.amount, GpOffer.submitted_at)).all()
        return {"instance_id": instance_id, "lot": lot, "current_round": current_round(instance.variables),
                "round_open": open_round is not None, "offers": [_view(o, p) for o in offers]}


def assess(p: Platform, actor: Actor, instance_id: str, items: list[dict[str, Any]],
           lot: str | None = None) -> dict[str, Any]:
    """Record whether each supplier meets the procurement requirements (the team's finding), after round 1 closed."""
    lot = lot or DEFAULT_LOT

    def use_case(session: Session) -> dict[str, Any]:
        instance = steps.lock_instance(session, instance_id)
        if not actor.covers(instance.region):
            raise Forbidden("该交易不在您的管辖区域内")
        if instance.status != "running":
            raise Conflict(f"交易当前状态为 {instance.status}，不能记录评审结论")
        if current_round(instance.variables) == 1 and round_is_open(instance.variables):
            raise Conflict("响应文件提交截止前不能评审")
        now = p.clock.now()
        recorded = []
        for item in items:
            org = uscc.clean(str(item["supplier_uscc"]), "supplier_uscc")
            if session.scalar(select(GpOffer.id).where(GpOffer.instance_id == instance_id, GpOffer.lot == lot,
                                                       GpOffer.supplier_uscc == org).limit(1)) is None:
                raise Invalid(f"供应商 {org} 未在本项目报价", [{"field": "/assessments", "message": org}])
            row = session.get(GpAssessment, (instance_id, lot, org)) or GpAssessment(
                instance_id=instance_id, lot=lot, supplier_uscc=org)
            row.meets_requirements = bool(item["meets_requirements"])
            row.note = item.get("note")
            row.recorded_at, row.recorded_by = now, actor.username
            session.add(row)
            recorded.append({"supplier_uscc": org, "meets_requirements": row.meets_requirements, "note": row.note})
        audit.append(session, instance_id, "gp.suppliers_assessed", actor, now, {"lot": lot, "assessments": recorded})
        return {"instance_id": instance_id, "lot": lot, "assessments": recorded}

    return p.db.run(use_case)  # type: ignore[no-any-return]


# --- service tasks ------------------------------------------------------------------------------------


@service_task("gp.offers.close_round", "报价轮次截止")
def close_round_task(call: ServiceCall) -> dict[str, Any]:
    """Close the open round; from now on its offers can be read by the team."""
    round_no = current_round(call.data)
    count = len(_round_offers(call.session, call.instance.id, round_no))
    audit.append(call.session, call.instance.id, "gp.round_closed", call.actor, call.now,
                 {"round": round_no, "offer_count": count})
    return {"round_open": False, "round_offer_count": count, "offer_round": round_no,
            "final_round": call.data.get("final_round") is True}


@service_task("gp.offers.open_round", "开始新一轮报价（谈判后修正报价或最后报价）")
def open_round_task(call: ServiceCall) -> dict[str, Any]:
    """Open the next round; negotiation_decision "final_quotes" makes it the final quote (最后报价)."""
    round_no = current_round(call.data) + 1
    final = call.data.get("negotiation_decision") == "final_quotes"
    audit.append(call.session, call.instance.id, "gp.round_opened", call.actor, call.now,
                 {"round": round_no, "final": final})
    return {"offer_round": round_no, "round_open": True, "final_round": final}


@service_task("gp.offers.rank_lowest", "最低价成交：满足采购需求且报价最低的供应商")
def rank_lowest_task(call: ServiceCall) -> dict[str, Any]:
    """Rank the last round's offers of suppliers found to meet the requirements, lowest price first."""
    round_no = current_round(call.data)
    offers = _round_offers(call.session, call.instance.id, round_no)
    findings = {a.supplier_uscc: a.meets_requirements for a in call.session.scalars(select(GpAssessment).where(
        GpAssessment.instance_id == call.instance.id, GpAssessment.lot == DEFAULT_LOT))}
    missing = sorted(o.supplier_uscc for o in offers if o.supplier_uscc not in findings)
    if missing:
        raise Invalid("尚有供应商未记录是否满足采购需求：" + "、".join(missing),
                      [{"field": "/assessments", "message": m} for m in missing])
    ranked = lowest_qualified(offers, {org for org, ok in findings.items() if ok})[:MAX_CANDIDATES]
    candidates = [o.supplier_uscc for o in ranked]
    audit.append(call.session, call.instance.id, "gp.ranked", call.actor, call.now, {
        "round": round_no, "offer_count": len(offers),
        "candidates": [{"supplier_uscc": o.supplier_uscc, "amount": money(o.amount)} for o in ranked]})
    return {"candidates": candidates, "winner_candidate": candidates[0] if candidates else None,
            "lowest_price": money(ranked[0].amount) if ranked else None}


@service_task("gp.offers.check_award", "核验成交供应商：满足采购需求且报价最低")
def check_award_task(call: ServiceCall) -> dict[str, Any]:
    """The purchaser picks the first candidate, or a later one with a reason (74号令 第三十六条、第四十九条)."""
    winner = uscc.clean(str(call.data.get("winner_uscc") or ""), "winner_uscc")
    candidates = [str(c) for c in call.data.get("candidates") or []]
    if winner not in candidates:
        raise Invalid("成交供应商应当从评审报告提出的成交候选人中确定（《政府采购非招标采购方式管理办法》第三十六条、第四十九条）",
                      [{"field": "/winner_uscc", "message": f"不在成交候选人 {', '.join(candidates) or '（无）'} 之中"}])
    rank = candidates.index(winner) + 1
    reason = str(call.data.get("award_reason") or "").strip()
    if rank > 1 and not reason:
        raise Invalid("应当按照满足采购需求且报价最低的原则确定成交供应商；确定其他候选人须说明理由",
                      [{"field": "/award_reason", "message": "确定非排名第一的成交候选人须说明理由"}])
    offer = call.session.scalar(select(GpOffer).where(
        GpOffer.instance_id == call.instance.id, GpOffer.round == current_round(call.data),
        GpOffer.supplier_uscc == winner))
    price = money(offer.amount) if offer is not None else None
    audit.append(call.session, call.instance.id, "gp.supplier_decided", call.actor, call.now,
                 {"winner_uscc": winner, "rank": rank, "reason": reason or None, "award_price": price})
    return {"winner_uscc": winner, "winner_rank": rank, "award_price": price}


# --- helpers ------------------------------------------------------------------------------------------


def _supplier(actor: Actor) -> str:
    if not actor.has("bidder"):
        raise Forbidden("只有供应商可以报价")
    if not actor.org:
        raise Forbidden("您的账号未关联供应商单位（统一社会信用代码），不能报价")
    return actor.org


def _instance(session: Session, instance_id: str) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or instance.process_key not in PROCESSES:
        raise NotFound(f"竞争性谈判或询价交易 {instance_id} 不存在")
    return instance


def _open_round(instance: ProcessInstance, p: Platform, now: datetime) -> int:
    """The round that takes offers now, by the process variables and the server clock; else Conflict."""
    if instance.process_key not in PROCESSES:
        raise NotFound(f"竞争性谈判或询价交易 {instance.id} 不存在")
    if instance.status != "running":
        raise Conflict(f"交易当前状态为 {instance.status}，不接受报价")
    variables = instance.variables
    round_no = current_round(variables)
    if not round_is_open(variables):
        raise Conflict(f"第 {round_no} 轮报价已截止")
    if round_no == 1:
        if not variables.get("response_deadline"):
            raise Conflict("采购文件尚未发出，不接受报价")
        deadline = parse_deadline(variables["response_deadline"], p.tz)
        if now >= deadline:
            raise Conflict(f"响应文件提交截止时间 {deadline.astimezone(p.tz).isoformat()} 已过，不接受报价")
    return round_no


def _round_offers(session: Session, instance_id: str, round_no: int) -> list[GpOffer]:
    return list(session.scalars(select(GpOffer).where(
        GpOffer.instance_id == instance_id, GpOffer.lot == DEFAULT_LOT, GpOffer.round == round_no)))


def _view(offer: GpOffer, p: Platform) -> dict[str, Any]:
    return {"id": offer.id, "round": offer.round, "lot": offer.lot, "supplier_uscc": offer.supplier_uscc,
            "supplier_name": offer.supplier_name, "amount": money(offer.amount),
            "submitted_at": offer.submitted_at.astimezone(p.tz).isoformat()}
