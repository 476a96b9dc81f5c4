"""What every step shares: load an instance under lock, run the engine, project the result, audit it."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from domain import statutes
from domain.access import Actor
from domain.calendar import WorkingCalendar
from domain.errors import CalendarYearUnknown, NotFound
from engine.bpmn import Runner, StepResult
from persistence.db import shared
from persistence.models import ProcessDefinition, ProcessInstance, Task, Timer
from services import audit, service_tasks
from services import calendar as calendar_service
from services.platform import Platform
from services.scripting import engine_context


@dataclass(frozen=True)
class CompiledDefinition:
    """An immutable deployed version, cached per process."""

    id: int
    key: str
    version: int
    spec_json: str
    elements: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Projection:
    """An instance's ready tasks and pending timers as a step left them (its view needs no second query)."""

    tasks: list[Task]
    timers: list[Timer]


_definitions: dict[tuple[int, str], CompiledDefinition] = {}
_definitions_lock = threading.Lock()


def definition(session: Session, definition_id: int) -> CompiledDefinition:
    """A deployed version by id, cached by its checksum (ids can repeat when a database is recreated)."""
    # A deployed version never changes, so one look-up per session is enough (a step and its view share it).
    known: dict[int, CompiledDefinition] = session.info.setdefault("definitions", {})
    if definition_id in known:
        return known[definition_id]
    checksum = session.info.get("checksums", {}).get(definition_id) or session.scalar(
        select(ProcessDefinition.checksum).where(ProcessDefinition.id == definition_id))
    if checksum is None:
        raise NotFound(f"流程定义 {definition_id} 不存在")
    with _definitions_lock:
        cached = _definitions.get((definition_id, checksum))
    if cached is not None:
        known[definition_id] = cached
        return cached
    row = session.get(ProcessDefinition, definition_id)
    assert row is not None
    compiled = CompiledDefinition(row.id, row.key, row.version, row.spec_json, row.elements)
    with _definitions_lock:
        _definitions[(definition_id, checksum)] = compiled
    known[definition_id] = compiled
    return compiled


def clear_cache() -> None:
    """Forget cached definitions (tests that empty the database reuse ids)."""
    with _definitions_lock:
        _definitions.clear()


def locking(condition: Any) -> Any:
    """A statement reading the instance that matches condition under its row lock, with its version's checksum.

    Build it once per module (with bind parameters; persistence.db.shared): building a statement costs more than
    running it."""
    # One round trip for what every step needs first; the definition row never changes, so reading it in
    # the locking statement is as good as reading it after the lock.
    return (select(ProcessInstance, ProcessDefinition.checksum)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(condition).with_for_update(of=ProcessInstance)
            .execution_options(populate_existing=True))


_LOCK_BY_ID = shared(locking(ProcessInstance.id == bindparam("instance_id")))
# What a step brings in line with the engine: ready tasks and pending timers.
_OPEN: dict[Any, tuple[str, Any]] = {
    model: (status, shared(select(model).where(model.instance_id == bindparam("instance_id"), model.status == status)))
    for model, status in ((Task, "ready"), (Timer, "pending"))
}


_LOCK_MANY = shared(
    locking(ProcessInstance.id.in_(bindparam("instance_ids", expanding=True))).order_by(ProcessInstance.id))


def lock_many(session: Session, instance_ids: list[str]) -> dict[str, ProcessInstance]:
    """Load several instances holding their row locks, taken in id order (two such calls never deadlock)."""
    locked = {}
    for instance, checksum in session.execute(_LOCK_MANY, {"instance_ids": instance_ids}):
        _locked(session, instance, checksum)
        locked[instance.id] = instance
    return locked


def lock_instance(session: Session, instance_id: str) -> ProcessInstance:
    """Load an instance holding its row lock, so concurrent steps on it run one after another."""
    instance = lock_with(session, _LOCK_BY_ID, {"instance_id": instance_id})
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    return instance


def lock_with(session: Session, statement: Any, params: dict[str, Any]) -> ProcessInstance | None:
    """Run a statement built by locking(): the instance, now locked, or None."""
    row = session.execute(statement, params).first()
    if row is None:
        return None
    instance, checksum = row
    _locked(session, instance, checksum)
    return instance


def _locked(session: Session, instance: ProcessInstance, checksum: str) -> None:
    session.info.setdefault("checksums", {})[instance.definition_id] = checksum
    session.info.setdefault("locked_instances", set()).add(instance.id)
    audit.seed_head(session, instance)


class UnlockedWrite(RuntimeError):
    """An instance was changed by a transaction that does not hold its row lock (a programming error)."""


@sa_event.listens_for(Session, "before_flush")
def _count_locked_writes(session: Session, _flush: Any, _instances: Any) -> None:
    """Refuse a change to an instance whose row lock this transaction does not hold; count each changing
    transaction once in lock_version.

    The row lock is what serializes steps: an optimistic version check in every UPDATE would add nothing, and
    would make each instance's UPDATE a statement of its own (a batch of timer firings sends them as one)."""
    counted: set[str] = session.info.setdefault("versioned_instances", set())
    for row in session.new:
        if type(row) is ProcessInstance:  # nobody else sees the row before this transaction commits
            session.info.setdefault("locked_instances", set()).add(row.id)
            row.lock_version = 1
            counted.add(row.id)
    for row in session.dirty:
        if type(row) is not ProcessInstance or row.id in counted or not session.is_modified(row):
            continue
        if row.id not in session.info.get("locked_instances", ()):
            raise UnlockedWrite(f"process instance {row.id} changed without its row lock (steps.lock_instance)")
        row.lock_version = (row.lock_version or 0) + 1
        counted.add(row.id)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, transaction: SessionTransaction) -> None:
    """Row locks end with their transaction, and so does the count of its writes."""
    if transaction.parent is None:
        session.info.pop("locked_instances", None)
        session.info.pop("versioned_instances", None)


def runner(p: Platform, session: Session, compiled: CompiledDefinition, instance: ProcessInstance,
           actor: Actor | None, now: datetime) -> Runner:
    """An engine runner for one step: helpers read this transaction's calendar (loaded only when needed),
    service tasks run the platform's services in this transaction."""
    loaded: list[WorkingCalendar] = []

    def calendar() -> WorkingCalendar:
        if not loaded:
            loaded.append(calendar_service.load(session))
        return loaded[0]

    context = engine_context(calendar, p.clock.now, p.tz)
    context.call_service = service_tasks.caller(p, session, instance, compiled.elements, actor, now)
    return Runner(compiled.spec_json, context)


def apply(
    p: Platform,
    session: Session,
    instance: ProcessInstance,
    compiled: CompiledDefinition,
    result: StepResult,
    actor: Actor | None,
    now: datetime,
    *,
    ready_tasks: list[Task] | None = None,
    pending_timers: list[Timer] | None = None,
) -> Projection:
    """Store the engine's new state and bring the task queue, timers and audit chain in step with it.

    A caller that already read, in this transaction and under the lock, all of the instance's ready tasks or
    pending timers passes them, and apply() does not read them again."""
    instance.state = result.state
    merged = {**instance.variables, **result.changed}
    instance.variables = {k: v for k, v in merged.items() if k not in result.removed}
    instance.updated_at = now
    if instance.status in ("running", "suspended") and result.status != "running":
        instance.status = result.status
        instance.completed_at = now
    ran = {task_id for task_id, _, _ in result.ran}
    tasks = _sync_tasks(p, session, instance, compiled, result, actor, now, ran,
                        _rows(session, Task, instance.id, ready_tasks))
    timers = _sync_timers(session, instance, compiled, result, actor, now, ran,
                          _rows(session, Timer, instance.id, pending_timers))
    if instance.status in ("completed", "cancelled") and instance.completed_at == now:
        audit.append(session, instance.id, f"instance.{instance.status}", actor, now, {})
    return Projection(tasks, timers)


def _rows(session: Session, model: Any, instance_id: str, known: list[Any] | None) -> list[Any]:
    """An instance's open tasks or timers, as a flush would leave them, without flushing first."""
    status, statement = _OPEN[model]
    # Leaving the step's changes unflushed until commit lets the unit of work send them in a few batched
    # statements; the session's own new and changed rows are merged in, so the answer is the same. Only
    # steps write tasks and timers, so rows read earlier under the instance's lock are still all there is.
    if known is None:
        with session.no_autoflush:
            known = list(session.scalars(statement, {"instance_id": instance_id}))
    found = {id(r): r for r in known}
    for row in (*session.new, *session.dirty):
        if isinstance(row, model) and row.instance_id == instance_id:
            found[id(row)] = row
    return [r for r in found.values() if r.status == status and r not in session.deleted]


def _sync_tasks(p: Platform, session: Session, instance: ProcessInstance, compiled: CompiledDefinition,
                result: StepResult, actor: Actor | None, now: datetime, ran: set[str],
                current: list[Task]) -> list[Task]:
    open_rows: dict[str, Task] = {t.id: t for t in current}
    ready = {t.id: t for t in result.user_tasks}
    kept = []
    for task_id, row in open_rows.items():
        if task_id in ready:
            kept.append(row)
            continue
        row.status = "completed" if task_id in ran else "cancelled"
        row.completed_at = now
        if row.status == "cancelled":
            audit.append(session, instance.id, "task.cancelled", actor, now,
                         {"task_id": task_id, "element_id": row.element_id})
    cal: Callable[[], WorkingCalendar] = lambda: calendar_service.load(session)  # noqa: E731
    for task_id, task in ready.items():
        if task_id in open_rows:
            continue
        element = compiled.elements.get(task.element_id, {})
        rule = element.get("rule")
        row = Task(
            id=task_id, instance_id=instance.id, process_key=instance.process_key, element_id=task.element_id,
            name=task.name, role=element.get("role"), form_key=element.get("form_key"), rule=rule,
            region=instance.region, status="ready", created_at=now,
            due_at=_task_due(p, rule, now, cal),
        )
        session.add(row)
        kept.append(row)
        audit.append(session, instance.id, "task.created", actor, now,
                     {"task_id": task_id, "element_id": task.element_id, "role": row.role,
                      "due_at": row.due_at.isoformat() if row.due_at else None})
    return kept


def _task_due(p: Platform, rule_id: str | None, now: datetime, cal: Callable[[], WorkingCalendar]) -> datetime | None:
    """A user task tied to a MAX rule is due at 24:00 of the rule's last day, counted from its creation."""
    if not rule_id or not statutes.rule_exists(rule_id):
        return None
    rule = statutes.get_rule(rule_id)
    if rule.kind != "MAX":
        return None
    try:
        last_day = statutes.due(rule, now.astimezone(p.tz).date(), cal())
    except CalendarYearUnknown:
        return None
    return end_of_day(last_day, p)


def end_of_day(day: date, p: Platform) -> datetime:
    """24:00 of a day in the statutory zone."""
    return datetime.combine(day + timedelta(days=1), time.min, p.tz)


def _sync_timers(session: Session, instance: ProcessInstance, compiled: CompiledDefinition, result: StepResult,
                 actor: Actor | None, now: datetime, ran: set[str], current: list[Timer]) -> list[Timer]:
    # One engine task may wait on several timers (an event-based gateway), so a timer is task and name.
    pending: dict[tuple[str, str], Timer] = {(t.task_id, t.name): t for t in current}
    waiting = {(t.task_id, t.name): t for t in result.timers}
    kept = []
    for key, row in pending.items():
        timer = waiting.get(key)
        if timer is not None and timer.due_at == row.due_at:
            kept.append(row)
            continue
        # Gone from the engine, or a cycle that moved on: this occurrence either fired or was cancelled.
        fired = row.due_at <= now and (key[0] in ran or timer is not None)
        row.status = "fired" if fired else "cancelled"
        row.fired_at = now if fired else None
        audit.append(session, instance.id, f"timer.{row.status}", actor, now,
                     {"timer_id": row.id, "element_id": row.element_id, "rule": row.rule,
                      "due_at": row.due_at.isoformat()})
    for key, timer in waiting.items():
        existing = pending.get(key)
        if existing is not None and existing.due_at == timer.due_at:
            continue
        element = compiled.elements.get(timer.element_id, {})
        row = Timer(
            instance_id=instance.id, task_id=timer.task_id, element_id=timer.element_id, name=timer.name,
            kind=timer.kind, boundary=timer.boundary, rule=element.get("rule"), due_at=timer.due_at,
            status="pending", created_at=now,
        )
        session.add(row)
        session.flush()
        kept.append(row)
        audit.append(session, instance.id, "timer.scheduled", actor, now,
                     {"timer_id": row.id, "element_id": timer.element_id, "rule": row.rule,
                      "due_at": timer.due_at.isoformat()})
    return kept
