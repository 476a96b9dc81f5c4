"""Append to and verify the per-instance audit hash chains."""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables

from domain.access import Actor
from domain.audit import GENESIS, event_hash
from persistence.models import Event, ProcessInstance

PLATFORM_CHAIN = "platform"


@dataclass(frozen=True, slots=True)
class Link:
    """An event appended in this transaction, as its row will be written (the columns of Event)."""

    instance_id: str
    seq: int
    at: datetime
    type: str
    actor: str | None
    client_ip: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


def append(session: Session, instance_id: str, type_: str, actor: Actor | None, at: datetime,
           data: dict[str, Any] | None = None) -> Link:
    """Add the next link of an instance's chain (the caller holds the instance's lock)."""
    # The chain's head is read once per transaction and then kept in the session: a step appends several
    # events, and the caller's lock on the instance keeps the head from moving under us.
    heads: dict[str, tuple[int, str]] = session.info.setdefault("audit_heads", {})
    if instance_id not in heads:
        last = session.execute(
            select(Event.seq, Event.hash).where(Event.instance_id == instance_id).order_by(Event.seq.desc()).limit(1)
        ).first()
        heads[instance_id] = (last[0], last[1]) if last else (0, GENESIS)
    seq, prev = heads[instance_id]
    seq += 1
    clean = json.loads(json.dumps(data or {}, ensure_ascii=False, default=str))
    username = actor.username if actor else None
    ip = actor.ip if actor else None
    event = Link(instance_id, seq, at, type_, username, ip, clean, prev,
                 event_hash(prev, instance_id, seq, at, type_, username, ip, clean))
    # Not an ORM object in the session: the transaction's events are written in one multi-row INSERT just
    # before it commits (_write_pending), without the unit of work's per-object bookkeeping (or even its
    # per-object state). Nothing reads an instance's events in the transaction that appends them.
    session.info.setdefault("audit_pending", []).append(event)
    heads[instance_id] = (seq, event.hash)
    return event


def seed_head(session: Session, instance: ProcessInstance) -> None:
    """Take an instance's chain head from its row, just read under its lock, so append() need not query it."""
    # Rows from before the head columns existed (or copied without them) keep the query in append().
    if instance.event_seq is not None and instance.event_head is not None:
        session.info.setdefault("audit_heads", {}).setdefault(instance.id, (instance.event_seq, instance.event_head))


EVENTS: Table = Event.__table__  # type: ignore[assignment]
_LINK_COLUMNS = tuple(f.name for f in fields(Link))


@sa_event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    """Insert the transaction's new events, all in one statement, and store each chain's new head."""
    _insert_pending(session)
    _store_heads(session)


@sa_event.listens_for(Session, "do_orm_execute")
def _write_before_reading(state: ORMExecuteState) -> None:
    """A query on events sees those of its own transaction: they are written first (rare; one INSERT)."""
    statement = state.statement
    if (state.session.info.get("audit_pending") and isinstance(statement, ClauseElement)
            and EVENTS in find_tables(statement, include_crud=True)):
        _insert_pending(state.session)


def _insert_pending(session: Session) -> None:
    pending: list[Link] = session.info.pop("audit_pending", [])
    if pending:
        session.connection().execute(insert(EVENTS), [{c: getattr(e, c) for c in _LINK_COLUMNS} for e in pending])


@sa_event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    """A rolled-back transaction's events and chain heads are gone with it."""
    session.info.pop("audit_pending", None)
    session.info.pop("audit_heads", None)


def _store_heads(session: Session) -> None:
    """Write each instance chain's new head once per transaction, just before it commits."""
    heads = session.info.pop("audit_heads", {})
    for instance_id, (seq, head) in heads.items():
        if instance_id == PLATFORM_CHAIN:
            continue
        instance = session.identity_map.get(identity_key(ProcessInstance, instance_id))
        if instance is not None and sa_inspect(instance).modified:
            # The row is written at commit anyway: the head goes into the same UPDATE.
            if (instance.event_seq, instance.event_head) != (seq, head):
                instance.event_seq, instance.event_head = seq, head
            continue
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                        .values(event_seq=seq, event_head=head)
                        .execution_options(synchronize_session=False))


def verify(session: Session, instance_id: str | None = None) -> tuple[int, dict[str, Any] | None]:
    """Recompute every chain (or one); return (events checked, first broken link or None)."""
    query = select(Event).order_by(Event.instance_id, Event.seq)
    if instance_id:
        query = query.where(Event.instance_id == instance_id)
    checked = 0
    current, prev, expected_seq = None, GENESIS, 1
    for event in session.scalars(query).yield_per(1000):
        if event.instance_id != current:
            current, prev, expected_seq = event.instance_id, GENESIS, 1
        problem = None
        if event.seq != expected_seq:
            problem = f"缺少第 {expected_seq} 条事件"
        elif event.prev_hash != prev:
            problem = "prev_hash 与上一条事件的哈希不一致"
        elif event.hash != event_hash(prev, event.instance_id, event.seq, event.at, event.type, event.actor,
                                      event.client_ip, event.data):
            problem = "事件内容与其哈希不一致（记录被篡改）"
        if problem:
            return checked, {"instance_id": event.instance_id, "seq": event.seq, "problem": problem}
        checked += 1
        prev, expected_seq = event.hash, expected_seq + 1
    heads = select(ProcessInstance.id, ProcessInstance.event_seq, ProcessInstance.event_head).where(
        ProcessInstance.event_seq.is_not(None))
    if instance_id:
        heads = heads.where(ProcessInstance.id == instance_id)
    for found_id, seq, head in session.execute(heads):
        last = session.execute(select(Event.seq, Event.hash).where(Event.instance_id == found_id)
                               .order_by(Event.seq.desc()).limit(1)).first()
        if last is None or (last[0], last[1]) != (seq, head):
            return checked, {"instance_id": found_id, "seq": seq,
                             "problem": "事件链末尾与流程实例记录的链头不一致（末尾事件被删除或替换）"}
    return checked, None


def to_dict(event: Event) -> dict[str, Any]:
    """An event as the API shows it."""
    return {
        "seq": event.seq, "at": event.at.isoformat(), "type": event.type, "actor": event.actor,
        "client_ip": event.client_ip, "data": event.data, "hash": event.hash, "prev_hash": event.prev_hash,
    }
