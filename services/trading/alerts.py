"""Alerts for supervisors: raise idempotently, list by region, review or dismiss."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.access import Actor, region_prefix
from domain.errors import BadRequest, Conflict, Forbidden, NotFound
from persistence.models_alerts import Alert
from services import audit, steps
from services.platform import Platform

SEVERITIES = ("info", "warning", "critical")
STATUSES = ("open", "reviewed", "dismissed")
READERS = ("supervisor", "staff")
# Which statuses each supervisor action may leave from.
_ACTIONS = {"review": (("open",), "reviewed", "已核查"), "dismiss": (("open", "reviewed"), "dismissed", "已撤销")}


def raise_alert(session: Session, *, kind: str, message: str, now: datetime, region: str | None,
                instance_id: str | None = None, subject: str | None = None, rule: str | None = None,
                severity: str = "warning", evidence: dict[str, Any] | None = None,
                score: int | None = None) -> tuple[Alert, bool]:
    """Open an alert, or return the one already open for (kind, instance, subject) and False."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    if score is not None and not 0 <= score <= 100:
        raise ValueError(f"score {score} outside 0-100")
    key = _open_key(kind, instance_id, subject)
    existing = session.scalar(select(Alert).where(Alert.open_key == key))
    if existing is not None:
        return existing, False
    alert = Alert(kind=kind, severity=severity, score=score, instance_id=instance_id, region=region, subject=subject,
                  rule=rule, message=message, evidence=evidence or {}, status="open", open_key=key,
                  created_at=now, updated_at=now)
    session.add(alert)
    # A racing scan that inserted the same key first fails here; Database.run retries and finds its row.
    session.flush()
    return alert, True


def list_alerts(p: Platform, actor: Actor, status: str | None = None, kind: str | None = None,
                instance_id: str | None = None, limit: int = 500, min_score: int | None = None,
                by_score: bool = False) -> list[dict[str, Any]]:
    """Alerts of the caller's region, newest (or highest scored) first (supervisor, staff)."""
    if not actor.has(*READERS):
        raise Forbidden("只有行政监督人员或交易中心工作人员可以查看预警")
    if status and status not in STATUSES:
        raise BadRequest(f"status 只能是：{', '.join(STATUSES)}")
    query = select(Alert)
    if status:
        query = query.where(Alert.status == status)
    if kind:  # "collusion.*" selects every collusion indicator
        query = query.where(Alert.kind.like(kind[:-1] + "%") if kind.endswith("*") else Alert.kind == kind)
    if instance_id:
        query = query.where(Alert.instance_id == instance_id)
    if min_score is not None:
        query = query.where(Alert.score >= min_score)
    if actor.region:
        query = query.where(Alert.region.like(region_prefix(actor.region) + "%"))
    order = (Alert.score.desc().nulls_last(),) if by_score else ()
    with p.db.sessions() as session:
        rows = session.scalars(query.order_by(*order, Alert.created_at.desc(), Alert.id.desc()).limit(limit))
        return [view(a) for a in rows]


def review(p: Platform, actor: Actor, alert_id: int, note: str | None = None) -> dict[str, Any]:
    """Mark an open alert as looked into (supervisor)."""
    return _handle(p, actor, alert_id, "review", note)


def dismiss(p: Platform, actor: Actor, alert_id: int, note: str | None = None) -> dict[str, Any]:
    """Close an alert as unfounded or settled (supervisor)."""
    return _handle(p, actor, alert_id, "dismiss", note)


def view(alert: Alert) -> dict[str, Any]:
    """An alert as the API shows it."""
    return {
        "id": alert.id, "kind": alert.kind, "severity": alert.severity, "score": alert.score,
        "instance_id": alert.instance_id,
        "region": alert.region, "subject": alert.subject, "rule": alert.rule, "message": alert.message,
        "evidence": alert.evidence, "status": alert.status, "handled_by": alert.handled_by, "note": alert.note,
        "created_at": alert.created_at.isoformat(), "updated_at": alert.updated_at.isoformat(),
    }


def _handle(p: Platform, actor: Actor, alert_id: int, action: str, note: str | None) -> dict[str, Any]:
    if not actor.has("supervisor"):
        raise Forbidden("只有行政监督人员可以处理预警")
    allowed, target, label = _ACTIONS[action]

    def use_case(session: Session) -> dict[str, Any]:
        instance_id = session.scalar(select(Alert.instance_id).where(Alert.id == alert_id))
        if instance_id is not None:
            # The action goes into the instance's audit chain, whose appends run under its lock.
            steps.lock_instance(session, instance_id)
        alert = session.get(Alert, alert_id, with_for_update=True, populate_existing=True)
        if alert is None:
            raise NotFound(f"预警 {alert_id} 不存在")
        if not actor.covers(alert.region):
            raise Forbidden("无权处理其他区域的预警")
        if alert.status not in allowed:
            raise Conflict(f"预警当前状态为 {alert.status}，不能标记为{label}")
        now = p.clock.now()
        alert.status, alert.open_key = target, None
        alert.handled_by, alert.note, alert.updated_at = actor.username, note, now
        audit.append(session, alert.instance_id or audit.PLATFORM_CHAIN, f"alert.{target}", actor, now,
                     {"alert_id": alert.id, "kind": alert.kind, "subject": alert.subject, "note": note})
        return view(alert)

    return p.db.run(use_case)


def _open_key(kind: str, instance_id: str | None, subject: str | None) -> str:
    return f"{kind}|{instance_id or ''}|{subject or ''}"
