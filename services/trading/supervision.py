"""Supervision findings (监督预警): collusion screening of a lot's bids, blacklisted entities trying to take part,
and purchasers or projects whose trades keep failing. Every finding is an alert with evidence and a score for
a supervisor's review; none of them refuses or rejects anything by itself.

Alerts about bidders name them only in their evidence (read by supervisors and staff): their subject is a
digest, because reviews go into the trade's audit chain, which the tenderer reads.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import and_, func, literal, select
from sqlalchemy.orm import Session

from domain import statutes
from domain.access import Actor
from persistence.models import ProcessInstance, Task, Timer
from persistence.models_alerts import Alert
from persistence.models_bids import Bid, BidEvent
from persistence.models_deposits import Deposit
from persistence.models_entities import Organisation, OrganisationContact
from persistence.models_experts import Evaluation
from persistence.models_gp_offers import GpOffer
from persistence.models_trades import TradeResult
from services import audit, steps
from services.platform import Platform
from services.service_tasks import ServiceCall, service_task
from services.trading import alerts, credit
from trading import bids as bid_rules
from trading import collusion

log = logging.getLogger(__name__)

COLLUSION = "collusion."  # kind prefix: collusion.same_device, collusion.price_progression, ...
BLACKLISTED = "blacklisted_attempt"
REPEATED_FAILURES = "repeated_failures"
DEADLINE = "deadline_overdue"
PROJECT_FAILURES = 2  # the same project failing twice
PURCHASER_FAILURES = 3  # the same purchaser failing three times within the window
PURCHASER_WINDOW = timedelta(days=365)
UseCase = TypeVar("UseCase", bound=Callable[..., Any])
_IN_PLAY = (bid_rules.SUBMITTED, bid_rules.DECRYPTED, bid_rules.NOT_DECRYPTED)


# --- collusion screening ----------------------------------------------------------------------------------


@service_task("supervision.screen_bids", "串通投标筛查：保证金账户、设备与IP、文件雷同、报价规律、联系人")
def screen_bids_task(call: ServiceCall) -> None:
    """Screen the lot's bidders for collusion indicators and raise an alert per finding (never refuses)."""
    lot = bid_rules.clean_lot(call.data.get("lot"))
    findings = screen(call.session, call.instance.id, lot)
    record_findings(call.session, call.instance, lot, findings, call.now, call.actor)
    # Nothing goes back into the process: its variables are read by the tenderer and the bidders.
    return None


def screen(session: Session, instance_id: str, lot: str) -> list[collusion.Finding]:
    """Every collusion indicator found among the bidders of a lot, with what they share."""
    bids = list(session.scalars(select(Bid).where(Bid.instance_id == instance_id, Bid.lot == lot)))
    bidders = {b.bidder_org for b in bids if b.status in _IN_PLAY}
    offers = list(session.scalars(select(GpOffer).where(GpOffer.instance_id == instance_id, GpOffer.lot == lot)))
    bidders |= {o.supplier_uscc for o in offers}
    deposits = list(session.scalars(select(Deposit).where(Deposit.instance_id == instance_id, Deposit.lot == lot)))
    if bidders:  # bond payers who did not bid are not bidders (保证金 of 投标人)
        deposits = [d for d in deposits if d.bidder_uscc in bidders]
    ids = [b.id for b in bids if b.bidder_org in bidders]
    events = list(session.scalars(select(BidEvent).where(BidEvent.bid_id.in_(ids)))) if ids else []
    mine = [b for b in bids if b.bidder_org in bidders]
    contacts = list(session.scalars(select(OrganisationContact).where(OrganisationContact.uscc.in_(bidders))))
    findings = [
        *_one_per_group(collusion.shared("identical_document", [(b.bidder_org, b.sha256) for b in mine]
                                         + [(b.bidder_org, b.plain_sha256) for b in mine])),
        *collusion.shared("same_deposit_account", [(d.bidder_uscc, _account(d.payer_account_no)) for d in deposits]),
        *collusion.shared("same_device", [(e.bidder_org, e.device_fingerprint) for e in events]),
        *collusion.shared("same_ip", [(e.bidder_org, collusion.ip_key(e.client_ip)) for e in events]
                          + [(o.supplier_uscc, collusion.ip_key(o.client_ip)) for o in offers]),
        *collusion.shared("same_contact", [(c.uscc, collusion.phone_key(c.phone)) for c in contacts]
                          + [(c.uscc, collusion.email_key(c.email)) for c in contacts]),
        *collusion.progressions(_prices(session, instance_id, lot, offers)),
    ]
    return findings


def record_findings(session: Session, instance: ProcessInstance, lot: str, findings: list[collusion.Finding],
                    now: datetime, actor: Actor | None) -> int:
    """Raise (or bring up to date) one alert per finding; returns how many alerts were new."""
    names = _names(session, {b for f in findings for b in f.bidders}, instance.id)
    procurement = instance.process_key.startswith("gp_")
    raised = 0
    for finding in findings:
        label = collusion.INDICATORS[finding.indicator][2]
        cited = collusion.citation(finding.indicator, procurement)
        who = "、".join(names.get(b) or b for b in finding.bidders)
        evidence = {
            "indicator": finding.indicator, "lot": lot, "value": finding.value, "citation": cited,
            "bidders": [{"uscc": b, "name": names.get(b)} for b in finding.bidders],
            "details": dict(finding.details), "screened_at": now.isoformat(),
        }
        alert, created = alerts.raise_alert(
            session, kind=COLLUSION + finding.indicator, now=now, region=_region(session, instance),
            instance_id=instance.id, subject=f"{lot}:{finding.digest}", score=finding.score,
            severity=collusion.severity(finding.score), evidence=evidence,
            message=f"疑似串通投标（{label}）：标段 {lot} 的 {len(finding.bidders)} 家投标人 {who}。依据：{cited}。"
                    "请核查，本预警不自动否决任何投标")
        if created:
            raised += 1
            audit.append(session, audit.PLATFORM_CHAIN, "alert.raised", actor, now,
                         {"alert_id": alert.id, "kind": alert.kind, "instance_id": instance.id, "lot": lot,
                          "score": finding.score})
        elif alert.evidence.get("bidders") != evidence["bidders"]:
            alert.evidence, alert.score, alert.updated_at = evidence, finding.score, now
            alert.severity = collusion.severity(finding.score)
    if findings:
        log.info("collusion screening", extra={"instance_id": instance.id, "lot": lot, "findings": len(findings)})
    return raised


def _one_per_group(findings: list[collusion.Finding]) -> list[collusion.Finding]:
    # The same file shows as the same ciphertext and the same plaintext: one finding per group of bidders.
    kept: dict[tuple[str, ...], collusion.Finding] = {}
    for finding in findings:
        kept.setdefault(finding.bidders, finding)
    return list(kept.values())


def _prices(session: Session, instance_id: str, lot: str, offers: list[GpOffer]) -> dict[str, Decimal]:
    """The lot's prices: the evaluation's bid prices, else the last round of negotiated offers."""
    evaluation = session.scalars(select(Evaluation).where(Evaluation.instance_id == instance_id,
                                                          Evaluation.lot == lot).order_by(Evaluation.id)).first()
    if evaluation is not None and evaluation.bidders:
        return {str(b["uscc"]): Decimal(str(b["price"])) for b in evaluation.bidders if b.get("price")}
    if not offers:
        return {}
    last = max(o.round for o in offers)
    return {o.supplier_uscc: Decimal(o.amount) for o in offers if o.round == last}


def _account(number: str | None) -> str | None:
    # Banks print account numbers with spaces or dashes; the digits are the account.
    digits = "".join(ch for ch in number or "" if ch.isalnum())
    return digits or None


# --- blacklisted entities -----------------------------------------------------------------------------------


@contextmanager
def watch_blacklist(p: Platform, actor: Actor, instance_id: str | None, action: str) -> Iterator[None]:
    """Around a use case: a refusal because the caller's organisation is blacklisted also raises an alert."""
    try:
        yield
    except credit.Blacklisted as refusal:
        try:  # the refused transaction rolled back; the alert gets its own
            p.db.run(blacklist_attempt, p, actor, instance_id, refusal, action)
        except Exception:  # the refusal stands even when the alert cannot be written
            log.exception("blacklist alert failed", extra={"instance_id": instance_id, "uscc": refusal.uscc})
        raise


def alerts_blacklisted(action: str) -> Callable[[UseCase], UseCase]:
    """Decorate a use case f(p, actor, instance_id, ...) so that a blacklist refusal also raises an alert."""

    def decorate(use_case: UseCase) -> UseCase:
        @functools.wraps(use_case)
        def run(p: Platform, actor: Actor, instance_id: str, *args: Any, **kwargs: Any) -> Any:
            with watch_blacklist(p, actor, instance_id, action):
                return use_case(p, actor, instance_id, *args, **kwargs)

        return cast(UseCase, run)

    return decorate


def blacklist_attempt(session: Session, p: Platform, actor: Actor, instance_id: str | None,
                      refusal: credit.Blacklisted, action: str) -> dict[str, Any]:
    """Raise, or count another attempt on, the open alert for a blacklisted organisation on this trade."""
    now = p.clock.now()
    instance = session.get(ProcessInstance, instance_id) if instance_id else None
    attempt = {"at": now.isoformat(), "action": action, "username": actor.username, "client_ip": actor.ip}
    evidence = {"uscc": refusal.uscc, "name": refusal.name, "listings": refusal.errors, "attempts": [attempt]}
    alert, created = alerts.raise_alert(
        session, kind=BLACKLISTED, now=now, region=_region(session, instance) if instance else None,
        instance_id=instance_id, subject=_digest(refusal.uscc), score=80, severity="critical", evidence=evidence,
        message=f"失信被执行人/黑名单主体 {refusal.name or refusal.uscc}（{refusal.uscc}）试图{action}，已被拒绝")
    if created:
        audit.append(session, audit.PLATFORM_CHAIN, "alert.raised", actor, now,
                     {"alert_id": alert.id, "kind": BLACKLISTED, "instance_id": instance_id, "uscc": refusal.uscc,
                      "action": action})
    else:
        previous = list(alert.evidence.get("attempts") or [])
        alert.evidence = {**alert.evidence, "attempts": [*previous, attempt][-50:]}
        alert.updated_at = now
    return alerts.view(alert)


# --- repeated failed trades ---------------------------------------------------------------------------------


def check_repeated_failures(session: Session, row: TradeResult, now: datetime) -> list[int]:
    """After a failed trade: alert when its project has failed PROJECT_FAILURES times or its purchaser
    PURCHASER_FAILURES times within a year; returns the ids of the alerts raised or brought up to date."""
    touched: list[int] = []
    project = row.project_code or row.project_name
    if project and row.purchaser_uscc:
        column = TradeResult.project_code if row.project_code else TradeResult.project_name
        failures = _failures(session, column == project, TradeResult.purchaser_uscc == row.purchaser_uscc)
        if len(failures) >= PROJECT_FAILURES:
            touched.append(_repeated(session, row, now, f"项目 {project}", "project:" + project, failures,
                                     50 + 15 * (len(failures) - PROJECT_FAILURES)))
    if row.purchaser_uscc:
        failures = _failures(session, TradeResult.purchaser_uscc == row.purchaser_uscc,
                             TradeResult.closed_at >= now - PURCHASER_WINDOW)
        if len(failures) >= PURCHASER_FAILURES:
            who = row.purchaser_name or row.purchaser_uscc
            touched.append(_repeated(session, row, now, f"采购人/招标人 {who} 一年内", "purchaser:" + row.purchaser_uscc,
                                     failures, 40 + 10 * (len(failures) - PURCHASER_FAILURES)))
    return touched


def _failures(session: Session, *where: Any) -> list[TradeResult]:
    return list(session.scalars(select(TradeResult).where(TradeResult.outcome == "failed", *where)
                                .order_by(TradeResult.closed_at, TradeResult.id)))


def _repeated(session: Session, row: TradeResult, now: datetime, what: str, subject: str,
              failures: list[TradeResult], score: int) -> int:
    score = min(100, score)
    evidence = {"purchaser_uscc": row.purchaser_uscc, "purchaser_name": row.purchaser_name,
                "project_name": row.project_name, "project_code": row.project_code, "count": len(failures),
                "trades": [{"instance_id": f.instance_id, "lot": f.lot, "trade_code": f.trade_code,
                            "process_key": f.process_key, "failure_reason": f.failure_reason,
                            "closed_at": f.closed_at.isoformat()} for f in failures]}
    message = f"{what}已 {len(failures)} 次交易失败（流标/废标），请关注是否存在规避招标、排斥潜在投标人等情形"
    alert, created = alerts.raise_alert(
        session, kind=REPEATED_FAILURES, now=now, region=row.region, subject=subject[:100], score=score,
        severity=collusion.severity(score), evidence=evidence, message=message)
    if created:
        audit.append(session, audit.PLATFORM_CHAIN, "alert.raised", None, now,
                     {"alert_id": alert.id, "kind": REPEATED_FAILURES, "subject": alert.subject, "count": len(failures)})
    elif alert.evidence.get("count") != len(failures):
        alert.evidence, alert.message, alert.updated_at = evidence, message, now
        alert.score, alert.severity = score, collusion.severity(score)
    return alert.id


# --- statutory deadlines overdue ------------------------------------------------------------------------------


def check_overdue_deadlines(p: Platform) -> int:
    """One scan: an alert for every open task of a MAX rule past its due instant; returns the alerts raised."""
    now = p.clock.now()
    with p.db.sessions() as session:
        found = overdue_tasks(session, now)
    by_instance: dict[str, list[str]] = defaultdict(list)
    for task_id, instance_id in found:
        by_instance[instance_id].append(task_id)
    return sum(p.db.run(_alert_overdue_tasks, p, instance_id, ids) for instance_id, ids in sorted(by_instance.items()))


def overdue_tasks(session: Session, now: datetime) -> list[tuple[str, str]]:
    """(task, instance) of ready tasks of running trades that are past their own due time, or past the due time of
    a fired timer of the same rule (a boundary timer counts the period from the event, not from the task), and
    that were never alerted before (a dismissed alert is not raised again)."""
    alerted = select(Alert.id).where(Alert.kind == DEADLINE, Alert.subject == literal("task:") + Task.id).exists()
    base = (select(Task.id, Task.instance_id, Task.rule)
            .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
            .where(Task.status == "ready", Task.rule.is_not(None), ProcessInstance.status == "running", ~alerted))
    own = session.execute(base.where(Task.due_at < now)).all()
    by_timer = session.execute(base.join(Timer, and_(
        Timer.instance_id == Task.instance_id, Timer.rule == Task.rule, Timer.status == "fired",
        Timer.created_at >= Task.created_at, Timer.due_at < now))).all()
    found = {(task_id, instance_id) for task_id, instance_id, rule in [*own, *by_timer] if _is_max(rule)}
    return sorted(found)


def _alert_overdue_tasks(session: Session, p: Platform, instance_id: str, task_ids: list[str]) -> int:
    instance = steps.lock_instance(session, instance_id)
    now = p.clock.now()
    raised = 0
    for task in session.scalars(select(Task).where(Task.id.in_(task_ids), Task.status == "ready").order_by(Task.id)):
        fired = session.scalars(select(Timer).where(
            Timer.instance_id == instance_id, Timer.rule == task.rule, Timer.status == "fired",
            Timer.created_at >= task.created_at).order_by(Timer.due_at)).first()
        dues = [d for d in (task.due_at, fired.due_at if fired else None) if d is not None]
        if not dues or min(dues) >= now or not _is_max(task.rule):
            continue
        due, rule = min(dues), statutes.get_rule(str(task.rule))
        days = max(1, math.ceil((now - due) / timedelta(days=1)))
        score = min(100, 40 + 10 * days)
        local_due = due.astimezone(p.tz)
        alert, created = alerts.raise_alert(
            session, kind=DEADLINE, now=now, region=instance.region, instance_id=instance_id,
            subject=f"task:{task.id}", rule=rule.id, score=score, severity=collusion.severity(score),
            message=f"「{task.name}」超过法定期限未办理：{rule.title}，应于 {local_due:%Y-%m-%d %H:%M} 前完成，"
                    f"已逾期 {days} 日（{rule.citation_full}）",
            evidence={"task_id": task.id, "element_id": task.element_id, "task_name": task.name, "role": task.role,
                      "assignee": task.assignee, "rule": rule.id, "citation": rule.citation,
                      "due_at": local_due.isoformat(), "due_from": "timer" if fired and fired.due_at == due else "task",
                      "overdue_days": days, "checked_at": now.astimezone(p.tz).isoformat()})
        if created:
            raised += 1
            audit.append(session, instance_id, "alert.raised", None, now,
                         {"alert_id": alert.id, "kind": DEADLINE, "subject": alert.subject, "rule": rule.id})
    return raised


def _is_max(rule_id: str | None) -> bool:
    return bool(rule_id) and statutes.rule_exists(str(rule_id)) and statutes.get_rule(str(rule_id)).kind == "MAX"


# --- helpers ------------------------------------------------------------------------------------------------


def _names(session: Session, usccs: set[str], instance_id: str) -> dict[str, str | None]:
    if not usccs:
        return {}
    names: dict[str, str | None] = {code: name for code, name in session.execute(
        select(Organisation.uscc, Organisation.name).where(Organisation.uscc.in_(usccs)))}
    for code, name in session.execute(select(Deposit.bidder_uscc, func.min(Deposit.bidder_name)).where(
            Deposit.instance_id == instance_id, Deposit.bidder_uscc.in_(usccs)).group_by(Deposit.bidder_uscc)):
        names.setdefault(code, name)
    return names


def _region(session: Session, instance: ProcessInstance | None) -> str | None:
    from services.trading.trades import instance_region

    return instance_region(session, instance.id) if instance else None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]
