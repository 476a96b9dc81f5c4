"""Fire due timers: the one use case the embedded worker and Celery both call."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from domain.access import SYSTEM
from domain.errors import Conflict, DomainError
from persistence.db import shared
from persistence.models import ProcessInstance, Task, Timer
from services import audit, steps
from services.platform import Platform

log = logging.getLogger(__name__)


def due_instances(p: Platform, limit: int = 500) -> list[str]:
    """Ids of running instances with a pending timer due by the platform clock, most overdue first."""
    now = p.clock.now()
    with p.db.sessions() as session:
        rows = session.execute(
            select(Timer.instance_id, Timer.due_at)
            .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
            .where(Timer.status == "pending", Timer.due_at <= now, ProcessInstance.status == "running")
            .order_by(Timer.due_at).limit(limit)
        ).all()
    seen: dict[str, None] = {}
    for instance_id, _ in rows:
        seen.setdefault(instance_id, None)
    return list(seen)


def fire_instance(p: Platform, instance_id: str) -> int:
    """Fire every due timer of one instance in one step; a second call for the same timers does nothing."""
    try:
        return int(p.db.run(_fire_many, p, [instance_id]).get(instance_id, 0))
    except (SQLAlchemyError, Conflict):
        raise  # the database or a concurrent step, not the instance: the next scan retries
    except Exception as exc:  # noqa: BLE001 - any other failure is the instance's, see below
        # A broken script, expression or model: the instance cannot go on by itself, so it is marked
        # failed (in its own transaction) rather than retried on every scan.
        message = exc.message if isinstance(exc, DomainError) else f"{exc.__class__.__name__}: {exc}"
        p.db.run(_fail, p, instance_id, message)
        log.warning("timer step failed", extra={"instance_id": instance_id, "error": message})
        return 0


# The pending timers and the ready tasks of the instances a step fires (what apply() would read).
_PENDING_OF = shared(select(Timer).where(Timer.instance_id.in_(bindparam("instance_ids", expanding=True)),
                                         Timer.status == "pending"))
_READY_OF = shared(select(Task).where(Task.instance_id.in_(bindparam("instance_ids", expanding=True)),
                                      Task.status == "ready"))
# Instances fired together in one transaction (fire_due here, a firing task of the Celery workers): one lock
# statement, flush and COMMIT per instance would cost more than the engine step of a simple timer, and 25 keeps
# a transaction short (tens of milliseconds), so the recorded firing time and the commit stay close.
BATCH = 25


def fire_instances(p: Platform, instance_ids: list[str], strict: bool = True) -> dict[str, int]:
    """Fire the due timers of several instances; {instance id: timers fired} for those that went through.

    All in one transaction when every step succeeds: a timer's step is small, and one lock statement, one read
    of timers and tasks, one flush and one COMMIT for the lot cost far less than one each. When anything fails
    (a broken model, a conflict), that transaction is rolled back and each instance is fired on its own
    (fire_instance), so a failure stays with its instance. strict: re-raise the first database error or
    conflict of those single steps after trying them all (a scan's caller sees it); else they are only logged.
    """
    ids = list(dict.fromkeys(instance_ids))
    if len(ids) > 1:
        try:
            fired: dict[str, int] = p.db.run(_fire_many, p, ids)
            return fired
        except Exception:  # noqa: BLE001 - any failure: one step per instance below, which sorts it out
            log.info("batch firing fell back to single steps", extra={"instances": len(ids)}, exc_info=True)
    results: dict[str, int] = {}
    first_error: Exception | None = None
    for instance_id in ids:
        try:
            results[instance_id] = fire_instance(p, instance_id)
        except (SQLAlchemyError, Conflict) as exc:  # the next scan retries this one
            log.warning("timer firing failed", extra={"instance_id": instance_id}, exc_info=True)
            first_error = first_error or exc
    if strict and first_error is not None:
        raise first_error
    return results


def _fire_many(session: Session, p: Platform, instance_ids: list[str]) -> dict[str, int]:
    instances = steps.lock_many(session, instance_ids)
    params = {"instance_ids": list(instances)}
    pending: dict[str, list[Timer]] = {i: [] for i in instances}
    for timer in session.scalars(_PENDING_OF, params):
        pending[timer.instance_id].append(timer)
    ready: dict[str, list[Task]] = {i: [] for i in instances}
    for task in session.scalars(_READY_OF, params):
        ready[task.instance_id].append(task)
    fired = {}
    for instance_id, instance in instances.items():
        now = p.clock.now()
        due = [t for t in pending[instance_id] if t.due_at <= now]
        if not due or instance.status != "running":
            fired[instance_id] = 0
            continue
        compiled = steps.definition(session, instance.definition_id)
        result = steps.runner(p, session, compiled, instance, SYSTEM, now).fire_timers(instance.state)
        steps.apply(p, session, instance, compiled, result, SYSTEM, now, pending_timers=pending[instance_id],
                    ready_tasks=ready[instance_id])
        fired[instance_id] = len(due)
    return fired


def _fail(session: Session, p: Platform, instance_id: str, message: str) -> None:
    instance = steps.lock_instance(session, instance_id)
    if instance.status != "running":
        return
    now = p.clock.now()
    instance.status = "failed"
    instance.error = message
    instance.updated_at = now
    audit.append(session, instance_id, "instance.failed", SYSTEM, now, {"error": message})


def fire_due(p: Platform, limit: int = 500) -> dict[str, Any]:
    """One scan: fire every instance with due timers; returns counts for logs and tests."""
    fired = 0
    instances = due_instances(p, limit)
    for start in range(0, len(instances), BATCH):
        fired += sum(fire_instances(p, instances[start:start + BATCH]).values())
    return {"instances": len(instances), "timers": fired}


def next_due_in(p: Platform) -> float | None:
    """Seconds until the earliest pending timer of a running instance, for the poller's sleep."""
    with p.db.sessions() as session:
        due = session.scalar(
            select(Timer.due_at).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
            .where(Timer.status == "pending", ProcessInstance.status == "running")
            .order_by(Timer.due_at).limit(1))
    if due is None:
        return None
    return (due - p.clock.now()).total_seconds()
