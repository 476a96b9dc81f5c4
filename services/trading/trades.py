"""Trade results (交易结果): one row per trade and lot when it is awarded or fails, for statistics and exports.

Every trading process ends through the service task `trades.record_result`, which reads the outcome variables
agreed in the brief (winner_uscc, winner_name, award_amount, budget_amount, bidder_count, trade_failed,
failure_reason) and writes or rewrites the lot's row; running it again gives the same row.

What a process does not set, the platform fills in from its own records when it has them: the winner's name
from the organisation register, its deposit or its offer; the award amount from the winner's evaluated bid
price or its last negotiated offer; the bidder count from the bids counted at opening or the suppliers that
made offers.
"""
from __future__ import annotations

import logging
from datetime import tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.errors import Invalid
from persistence.models import ProcessInstance
from persistence.models_bids import BidOpening
from persistence.models_deposits import Deposit
from persistence.models_entities import Organisation
from persistence.models_experts import Evaluation
from persistence.models_gp_offers import GpOffer
from persistence.models_tender import TradeRegistration
from persistence.models_trades import TradeResult
from services import audit
from services.service_tasks import ServiceCall, service_task
from trading import deposits as money_rules
from trading import uscc

log = logging.getLogger(__name__)

AWARDED, FAILED = "awarded", "failed"
DEFAULT_LOT = "1"
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
# The category letter of the unified trading code when the trade was never registered (tender.register).
_CATEGORY_BY_PREFIX = (("construction", "G"), ("gp_", "Z"), ("land_", "L"), ("mining", "K"),
                       ("property_", "P"), ("asset_", "P"))
_TRUE = ("true", "1", "yes", "是")
_FALSE = ("false", "0", "no", "否", "")


@service_task("trades.record_result", "登记交易结果（成交或失败），用于统计与信息公开")
def record_result_task(call: ServiceCall) -> dict[str, Any]:
    """Write the lot's trade result from the outcome variables; the same step again rewrites the same row."""
    outcome = parse_outcome(call.data)
    session, instance = call.session, call.instance
    registration = session.get(TradeRegistration, instance.id)
    lot = outcome["lot"]
    winner = outcome["winner_uscc"]
    winner_name = outcome["winner_name"] or (_known_name(session, instance.id, winner) if winner else None)
    award = outcome["award_amount"]
    if winner and award is None:
        award = _known_price(session, instance.id, lot, winner)
    bidder_count = outcome["bidder_count"]
    if bidder_count is None:
        bidder_count = _known_bidders(session, instance.id, lot)
    facts = {
        "process_key": instance.process_key,
        "trade_code": registration.trade_code if registration else _text(call.data.get("trade_code"), 40),
        "category": registration.category if registration else _category(call.data, instance.process_key),
        "region": registration.region if registration else instance.region,
        "project_name": _text(call.data.get("project_name"), 200),
        "project_code": _text(call.data.get("project_code"), 50),
        "purchaser_uscc": _code(call.data.get("purchaser_uscc")),
        "purchaser_name": _text(call.data.get("purchaser_name"), 200),
        "outcome": FAILED if outcome["trade_failed"] else AWARDED,
        "winner_uscc": winner, "winner_name": winner_name,
        "award_amount": award, "budget_amount": outcome["budget_amount"],
        "bidder_count": bidder_count, "failure_reason": outcome["failure_reason"],
    }
    row = session.scalar(select(TradeResult).where(TradeResult.instance_id == instance.id, TradeResult.lot == lot))
    created = row is None
    if row is None:  # added only now, complete: an autoflush must never see it half filled
        row = TradeResult(instance_id=instance.id, lot=lot, recorded_at=call.now, **facts)
    changed = created or any(getattr(row, k) != v for k, v in facts.items())
    for key, value in facts.items():
        setattr(row, key, value)
    if changed:
        row.closed_at, row.updated_at = call.now, call.now
        row.closed_month = call.now.astimezone(call.platform.tz).strftime("%Y-%m")
    if created:
        session.add(row)
    session.flush()
    if changed:
        audit.append(session, instance.id, "trade.result_recorded", call.actor, call.now,
                     view(row, call.platform.tz))
        log.info("trade result recorded", extra={"instance_id": instance.id, "lot": lot, "outcome": row.outcome})
    if row.outcome == FAILED:
        from services.trading import supervision  # imported late: supervision reads trade results too

        supervision.check_repeated_failures(session, row, call.now)
    return {"trade_result_id": row.id, "trade_outcome": row.outcome}


def parse_outcome(data: dict[str, Any]) -> dict[str, Any]:
    """The outcome variables, checked: an awarded trade names its winner, a failed one names no winner."""
    failed = _flag(data.get("trade_failed"))
    winner = _code(data.get("winner_uscc"), "winner_uscc") if not failed else None
    if not failed and not winner:
        raise Invalid("交易成交须有中标（成交）人统一社会信用代码 winner_uscc；未成交的请设 trade_failed = True",
                      [{"field": "/winner_uscc", "message": "必填"}])
    reason = _text(data.get("failure_reason"), 2000)
    if failed and not reason:
        reason = "未说明原因"
    return {
        "lot": _text(data.get("lot"), 50) or DEFAULT_LOT,
        "trade_failed": failed,
        "winner_uscc": winner,
        "winner_name": _text(data.get("winner_name"), 200) if not failed else None,
        "award_amount": _amount(data.get("award_amount"), "award_amount") if not failed else None,
        "budget_amount": _amount(data.get("budget_amount"), "budget_amount"),
        "bidder_count": _count(data.get("bidder_count")),
        "failure_reason": reason if failed else None,
    }


def result_for(session: Session, instance_id: str, lot: str | None = None,
               tz: tzinfo = DEFAULT_TZ) -> dict[str, Any] | None:
    """The recorded result of a trade's lot (the first lot when none is named), or None while it runs."""
    query = select(TradeResult).where(TradeResult.instance_id == instance_id)
    if lot is not None:
        query = query.where(TradeResult.lot == lot)
    row = session.scalars(query.order_by(TradeResult.lot, TradeResult.id)).first()
    return view(row, tz) if row else None


def results_for(session: Session, instance_id: str, tz: tzinfo = DEFAULT_TZ) -> list[dict[str, Any]]:
    """Every lot's recorded result of a trade."""
    rows = session.scalars(select(TradeResult).where(TradeResult.instance_id == instance_id)
                           .order_by(TradeResult.lot, TradeResult.id))
    return [view(r, tz) for r in rows]


def view(row: TradeResult, tz: tzinfo = DEFAULT_TZ) -> dict[str, Any]:
    """A trade result as services and the API show it (amounts as yuan strings)."""
    return {
        "instance_id": row.instance_id, "lot": row.lot, "process_key": row.process_key,
        "trade_code": row.trade_code, "category": row.category, "region": row.region,
        "project_name": row.project_name, "project_code": row.project_code,
        "purchaser_uscc": row.purchaser_uscc, "purchaser_name": row.purchaser_name,
        "outcome": row.outcome, "trade_failed": row.outcome == FAILED,
        "winner_uscc": row.winner_uscc, "winner_name": row.winner_name,
        "award_amount": _yuan(row.award_amount), "budget_amount": _yuan(row.budget_amount),
        "bidder_count": row.bidder_count, "failure_reason": row.failure_reason,
        "closed_at": row.closed_at.astimezone(tz).isoformat() if row.closed_at else None,
        "closed_month": row.closed_month,
    }


def instance_region(session: Session, instance_id: str) -> str | None:
    """The region a trade belongs to (its registration's, else the instance's)."""
    registration = session.get(TradeRegistration, instance_id)
    if registration is not None:
        return registration.region
    instance = session.get(ProcessInstance, instance_id)
    return instance.region if instance else None


# --- what the platform knows ---------------------------------------------------------------------------


def _known_name(session: Session, instance_id: str, code: str) -> str | None:
    org = session.get(Organisation, code)
    if org is not None:
        return org.name
    deposit = session.scalars(select(Deposit.bidder_name).where(
        Deposit.instance_id == instance_id, Deposit.bidder_uscc == code)).first()
    if deposit:
        return deposit
    return session.scalars(select(GpOffer.supplier_name).where(
        GpOffer.instance_id == instance_id, GpOffer.supplier_uscc == code, GpOffer.supplier_name.is_not(None))
        .order_by(GpOffer.round.desc())).first()


def _known_price(session: Session, instance_id: str, lot: str, code: str) -> Decimal | None:
    """The winner's evaluated bid price, else its offer in the last round it made one."""
    evaluation = session.scalars(select(Evaluation).where(
        Evaluation.instance_id == instance_id, Evaluation.lot == lot).order_by(Evaluation.id.desc())).first()
    if evaluation is not None:
        price = next((b.get("price") for b in evaluation.bidders or [] if b.get("uscc") == code), None)
        if price:
            return money_rules.money(price, "award_amount")
    offer = session.scalars(select(GpOffer.amount).where(
        GpOffer.instance_id == instance_id, GpOffer.lot == lot, GpOffer.supplier_uscc == code)
        .order_by(GpOffer.round.desc())).first()
    return Decimal(offer).quantize(Decimal("0.01")) if offer is not None else None


def _known_bidders(session: Session, instance_id: str, lot: str) -> int | None:
    """Bids counted at the opening, else the suppliers that made offers; None when the platform saw neither."""
    opened = session.scalar(select(BidOpening.bid_count).where(
        BidOpening.instance_id == instance_id, BidOpening.lot == lot))
    if opened is not None:
        return opened
    offered = session.scalar(select(func.count(func.distinct(GpOffer.supplier_uscc))).where(
        GpOffer.instance_id == instance_id, GpOffer.lot == lot))
    return offered or None


# --- parsing --------------------------------------------------------------------------------------------


def _flag(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Invalid(f"trade_failed 应为 true 或 false，而不是 {value!r}", [{"field": "/trade_failed", "message": "布尔值"}])


def _code(value: Any, field: str = "purchaser_uscc") -> str | None:
    if value is None or str(value).strip() == "":
        return None
    return uscc.clean(str(value), field)


def _amount(value: Any, field: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return money_rules.money(value, field)


def _count(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        count = int(str(value).strip())
    except ValueError:
        raise Invalid(f"bidder_count 应为非负整数，而不是 {value!r}",
                      [{"field": "/bidder_count", "message": "非负整数"}]) from None
    if count < 0 or isinstance(value, bool):
        raise Invalid("bidder_count 应为非负整数", [{"field": "/bidder_count", "message": "非负整数"}])
    return count


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


def _category(data: dict[str, Any], process_key: str) -> str | None:
    declared = _text(data.get("trade_category"), 2)
    if declared:
        return declared
    return next((letter for prefix, letter in _CATEGORY_BY_PREFIX if process_key.startswith(prefix)), None)


def _yuan(amount: Decimal | None) -> str | None:
    return money_rules.yuan(amount) if amount is not None else None
