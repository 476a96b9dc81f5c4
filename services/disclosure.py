"""Publishing (信息公开): a task carrying ggzy:publish="KIND" writes an immutable public item when it completes.

The item is built from the task's own submitted form data minus the fields the form marks
`x-ggzy-confidential`, never from other process variables, and is written in the step's own transaction:
the completion and its publication commit together or not at all.

Corrections never edit a published row (the database refuses UPDATEs of `publications`): a correction is a
new item whose `supersedes_id` names the item it corrects, either explicitly (a form field `corrects` with the
id of an item of the same trade) or, for an item of kind `change`, implicitly the trade's latest current
announcement or change notice.

Feed order: every item gets `feed_seq` from the single `publication_feed` row, read and incremented under its
row lock (SELECT ... FOR UPDATE), which is held until the publishing transaction commits. A second publisher
waits for that commit before it can draw the next number, so sequence order is commit order: a reader that
sees item N has necessarily seen every item below N, and a cursor (the last feed_seq read) never skips an
item that commits later. On SQLite every writer already holds the database write lock (BEGIN IMMEDIATE).
"""
from __future__ import annotations

import logging
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from domain import disclosure
from domain.access import Actor
from domain.errors import Conflict, Invalid
from persistence.models import ProcessInstance
from persistence.models_publications import Publication, PublicationFeed
from persistence.models_tender import TradeRegistration
from services import audit
from services.forms import latest as latest_form

log = logging.getLogger(__name__)

FEED_ROW = 1
CORRECTS_FIELD = "corrects"
# What a change notice corrects when it names nothing itself.
_CHANGE_TARGETS = ("announcement", "change")
_SERVICE_LABELS = {
    "winner_uscc": "中标（成交）人统一社会信用代码", "winner_name": "中标（成交）人", "award_amount": "成交金额（元）",
    "budget_amount": "预算金额/起始价（元）", "bidder_count": "参与人数", "trade_failed": "交易失败",
    "failure_reason": "失败原因", "auction_outcome": "竞价结果", "bid_count": "报价次数",
}


# --- deploy check ---------------------------------------------------------------------------------------


def deploy_errors(session: Session, element: Any) -> list[str]:
    """Why an element's ggzy:publish cannot be deployed: unknown kind, wrong element, form without a title."""
    kind = getattr(element, "publish", None)
    if kind is None:
        return []
    form = latest_form(session, element.form_key) if element.form_key else None
    return disclosure.form_errors(kind, element.type, form.schema if form else None)


# --- hooks of a step ------------------------------------------------------------------------------------


def on_task_completed(session: Session, instance: ProcessInstance, element: dict[str, Any] | None,
                      task_id: str, form_key: str | None, data: dict[str, Any], actor: Actor | None,
                      now: datetime) -> Publication | None:
    """Publish a completed user task's form data when its element carries ggzy:publish."""
    kind = (element or {}).get("publish")
    if not kind:
        return None
    form = latest_form(session, form_key) if form_key else None
    schema = form.schema if form else None
    if not disclosure.should_publish(schema, data):
        return None
    public = disclosure.public_data(schema, data)
    return publish(session, instance, str((element or {}).get("id") or ""), kind, public,
                   disclosure.labels(schema, public), actor, now, task_id=task_id)


def on_service_completed(session: Session, instance: ProcessInstance, element: dict[str, Any] | None,
                         result: dict[str, Any] | None, actor: Actor | None, now: datetime) -> Publication | None:
    """Publish the trade outcome a service task returned, when its element carries ggzy:publish.

    A service sees every process variable, so only the outcome variables of the shared conventions are
    published, and only when the service returned some (an auction not yet closed returns none).
    """
    kind = (element or {}).get("publish")
    if not kind or not result:
        return None
    picked = {k: result[k] for k in disclosure.SERVICE_PUBLIC_KEYS if result.get(k) is not None}
    if not picked:
        return None
    labels = {k: _SERVICE_LABELS[k] for k in picked}
    return publish(session, instance, str((element or {}).get("id") or ""), kind, picked, labels, actor, now)


# --- publishing -----------------------------------------------------------------------------------------


def publish(session: Session, instance: ProcessInstance, element_id: str, kind: str, data: dict[str, Any],
            labels: dict[str, str], actor: Actor | None, now: datetime, task_id: str | None = None) -> Publication:
    """Write one published item in the caller's transaction, with its feed sequence number."""
    if kind not in disclosure.KINDS:
        raise Invalid(f"未知的公开类型 {kind!r}")
    registration = session.get(TradeRegistration, instance.id)
    if registration is None:
        raise Conflict("该交易尚未受理登记、没有统一交易编码，不能发布公开信息（请先运行 tender.register）")
    title, body, rest = disclosure.title_and_body(kind, registration.trade_code, data)
    supersedes = _superseded_item(session, instance.id, kind, rest.pop(CORRECTS_FIELD, None))
    labels = {k: v for k, v in labels.items() if k in rest}
    row = Publication(
        feed_seq=next_feed_seq(session), instance_id=instance.id, element_id=element_id, task_id=task_id,
        trade_code=registration.trade_code, category=registration.category, region=registration.region,
        process_key=instance.process_key, kind=kind, title=title, body=body, data=rest, labels=labels,
        supersedes_id=supersedes.id if supersedes else None, published_at=now,
        published_by=actor.username if actor else None,
    )
    session.add(row)
    session.flush()
    audit.append(session, instance.id, "publication.published", actor, now, {
        "publication_id": row.id, "feed_seq": row.feed_seq, "kind": kind, "title": title,
        "trade_code": row.trade_code, "supersedes": row.supersedes_id})
    log.info("publication published", extra={"publication_id": row.id, "kind": kind, "trade_code": row.trade_code})
    return row


def next_feed_seq(session: Session) -> int:
    """The next feed sequence number, drawn under the feed row's lock held to commit (see the module doc)."""
    counter = session.get(PublicationFeed, FEED_ROW, with_for_update=True, populate_existing=True)
    if counter is None:
        # The first publication of a database: a concurrent first publisher's insert waits for ours to commit,
        # then does nothing and locks the committed row instead of failing on the primary key.
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(PublicationFeed).values(id=FEED_ROW, last_seq=0).on_conflict_do_nothing())
        counter = session.get(PublicationFeed, FEED_ROW, with_for_update=True, populate_existing=True)
        assert counter is not None
    counter.last_seq += 1
    session.flush()
    return counter.last_seq


def _superseded_item(session: Session, instance_id: str, kind: str, corrects: Any) -> Publication | None:
    if corrects not in (None, ""):
        try:
            target_id = int(corrects)
        except (TypeError, ValueError):
            raise Invalid("corrects 应为被更正公告的编号", [{"field": "/corrects", "message": "整数"}]) from None
        target = session.get(Publication, target_id)
        if target is None or target.instance_id != instance_id:
            raise Invalid(f"被更正的公告 {target_id} 不属于本交易", [{"field": "/corrects", "message": "不属于本交易"}])
        if _successor(session, target.id) is not None:
            raise Invalid(f"公告 {target_id} 已被更正，请更正其最新的更正公告",
                          [{"field": "/corrects", "message": "已被更正"}])
        return target
    if kind != "change":
        return None
    later = aliased(Publication)
    corrected = select(later.id).where(later.supersedes_id == Publication.id).exists()
    return session.scalars(
        select(Publication).where(Publication.instance_id == instance_id, Publication.kind.in_(_CHANGE_TARGETS),
                                  ~corrected)
        .order_by(Publication.feed_seq.desc()).limit(1)
    ).first()


def _successor(session: Session, publication_id: int) -> int | None:
    return session.scalar(select(Publication.id).where(Publication.supersedes_id == publication_id))


# --- views ----------------------------------------------------------------------------------------------


def view(row: Publication, superseded_by: int | None, tz: tzinfo) -> dict[str, Any]:
    """A published item as the public API shows it (no publisher user name, nothing internal)."""
    return {
        "id": row.id,
        "feed_seq": row.feed_seq,
        "trade_code": row.trade_code,
        "ocid": disclosure.ocid(row.trade_code),
        "kind": row.kind,
        "kind_name": disclosure.KINDS.get(row.kind, row.kind),
        "title": row.title,
        "body": row.body,
        "data": row.data,
        "labels": row.labels,
        "category": row.category,
        "category_name": disclosure.CATEGORIES.get(row.category, row.category),
        "region": row.region,
        "process_key": row.process_key,
        "published_at": row.published_at.astimezone(tz).isoformat(),
        "supersedes": row.supersedes_id,
        "superseded_by": superseded_by,
        "status": "superseded" if superseded_by is not None else "current",
    }
