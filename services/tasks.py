"""Task queues: list what the caller may work, claim, unclaim, complete through the form."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, exists, null, select, union_all
from sqlalchemy.orm import Session, aliased

from domain import forms
from domain.access import Actor, region_prefix
from domain.errors import BadRequest, Conflict, Forbidden, NotFound
from persistence.db import shared
from persistence.models import ProcessInstance, Task, Timer
from services import audit, disclosure, sealing, steps
from services import calendar as calendar_service
from services import forms as forms_service
from services.forms import latest as latest_form
from services.instances import task_view
from services.instances import view as instance_view
from services.platform import Platform

TASK_STATUSES = ("ready", "completed", "cancelled")


def queue(p: Platform, actor: Actor, role: str | None, assignee: str | None, status: str | None,
          process_key: str | None, limit: int = 200) -> list[dict[str, Any]]:
    """The caller's queue: only tasks of roles and region the caller holds."""
    roles = sorted(actor.roles)
    if role:
        if role not in actor.roles:
            raise Forbidden(f"您不具有角色 {role}")
        roles = [role]
    status = status or "ready"
    if status not in TASK_STATUSES:
        raise BadRequest(f"status 只能是：{', '.join(TASK_STATUSES)}")
    query = select(Task).where(Task.role.in_(roles), Task.status == status)
    if actor.region:
        query = query.where(Task.region.like(region_prefix(actor.region) + "%"))
    if assignee == "me":
        query = query.where(Task.assignee == actor.username)
    elif assignee:
        raise BadRequest("assignee 只支持 me")
    if process_key:
        query = query.where(Task.process_key == process_key)
    with p.db.sessions() as session:
        rows = session.scalars(query.order_by(Task.due_at.is_(None), Task.due_at, Task.created_at).limit(limit))
        return [task_view(t) for t in rows]


def get(p: Platform, actor: Actor, task_id: str) -> dict[str, Any]:
    """A task with its form and the instance data it needs."""
    with p.db.sessions() as session:
        task = _load(session, actor, task_id)
        form = latest_form(session, task.form_key) if task.form_key else None
        instance = session.get(ProcessInstance, task.instance_id)
        return {
            **task_view(task),
            "form": form.schema if form else None,
            "form_version": form.version if form else None,
            "variables": sealing.mask(instance.variables, sealing.names(session, instance)) if instance else {},
            "instance_status": instance.status if instance else None,
            "business_key": instance.business_key if instance else None,
        }


def claim(p: Platform, actor: Actor, task_id: str) -> dict[str, Any]:
    """Take a task; 409 when another user holds it."""
    def use_case(session: Session) -> dict[str, Any]:
        _lock_instance_of(session, task_id)
        task = _load(session, actor, task_id)
        _require_ready(task)
        if task.assignee and task.assignee != actor.username:
            raise Conflict(f"任务已被 {task.assignee} 认领")
        if task.assignee != actor.username:
            task.assignee = actor.username
            audit.append(session, task.instance_id, "task.claimed", actor, p.clock.now(), {"task_id": task.id})
        return task_view(task)

    return p.db.run(use_case)


def unclaim(p: Platform, actor: Actor, task_id: str) -> dict[str, Any]:
    """Give a task back to the queue; 409 when another user holds it."""
    def use_case(session: Session) -> dict[str, Any]:
        _lock_instance_of(session, task_id)
        task = _load(session, actor, task_id)
        _require_ready(task)
        if task.assignee and task.assignee != actor.username:
            raise Conflict(f"任务由 {task.assignee} 认领，不能由您退回")
        if task.assignee:
            task.assignee = None
            audit.append(session, task.instance_id, "task.unclaimed", actor, p.clock.now(), {"task_id": task.id})
        return task_view(task)

    return p.db.run(use_case)


def complete(p: Platform, actor: Actor, task_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate the data against the task's form, complete it, and run the process to its next wait state."""
    if not isinstance(data, dict):
        raise BadRequest("data 必须是 JSON 对象")

    def use_case(session: Session) -> dict[str, Any]:
        instance = _lock_instance_of(session, task_id)
        # In one read after the lock: the task with its form's latest version, and what the step's projection
        # needs: every ready task of the instance, and whether it has pending timers.
        found = session.execute(_TASK_AND_READY, {"task_id": task_id, "instance_id": instance.id}).all()
        mine = next((row for row in found if row[0].id == task_id), None)
        task = _check(actor, task_id, mine[0] if mine else None)
        ready = [row[0] for row in found if row[0].instance_id == instance.id and row[0].status == "ready"]
        timers: list[Timer] | None = None if found[0][1] else []
        _require_ready(task)
        if task.assignee and task.assignee != actor.username:
            raise Conflict(f"任务已被 {task.assignee} 认领")
        if instance.status != "running":
            raise Conflict(f"流程实例状态为 {instance.status}，不能办理任务")
        clean = data
        if task.form_key:
            assert mine is not None
            if mine[2] is None:
                raise NotFound(f"表单 {task.form_key} 未部署")
            clean = forms.validate(forms_service.schema_of(session, mine[2], mine[3]), data, context=instance.variables,
                                   calendar=calendar_service.LazyCalendar(session))
        now = p.clock.now()
        compiled = steps.definition(session, instance.definition_id)
        # Before the engine runs: what the task publishes precedes, in the feed, what the tasks it leads to do.
        disclosure.on_task_completed(session, instance, compiled.elements.get(task.element_id), task.id,
                                     task.form_key, clean, actor, now)
        result = steps.runner(p, session, compiled, instance, actor, now).complete(instance.state, task.id, clean)
        task.completed_by = actor.username
        audit.append(session, instance.id, "task.completed", actor, now,
                     {"task_id": task.id, "element_id": task.element_id, "data": clean})
        return instance_view(session, instance, steps.apply(p, session, instance, compiled, result, actor, now,
                                                            ready_tasks=ready, pending_timers=timers))

    return p.db.run(use_case)


# Built once: these run on every completion, and building a statement costs more than running it.
_LOCK_OWNER = shared(steps.locking(
    ProcessInstance.id == select(Task.instance_id).where(Task.id == bindparam("task_id")).scalar_subquery()))


def _task_and_ready() -> Any:
    """The task (with its form's latest version) and the other ready tasks of its instance, as one UNION ALL.

    Each half keeps a plain index scan (an OR of the two would be a bitmap scan, which never marks the
    index entries of completed tasks dead, so its cost would grow with the history until a vacuum)."""
    timers = exists().where(Timer.instance_id == bindparam("instance_id"), Timer.status == "pending")
    form_id, form_checksum = forms_service.latest_version_columns(Task.form_key)
    mine = select(Task, timers.label("timers_pending"), form_id.label("form_id"),
                  form_checksum.label("form_checksum")).where(Task.id == bindparam("task_id"))
    others = select(Task, timers.label("timers_pending"), cast(null(), Integer).label("form_id"),
                    cast(null(), String).label("form_checksum")).where(
        Task.instance_id == bindparam("instance_id"), Task.status == "ready", Task.id != bindparam("task_id"))
    both = union_all(mine, others).subquery()
    return shared(select(aliased(Task, both), both.c.timers_pending, both.c.form_id, both.c.form_checksum)
                  .execution_options(populate_existing=True))


_TASK_AND_READY = _task_and_ready()


def _lock_instance_of(session: Session, task_id: str) -> ProcessInstance:
    """Find a task's instance and take its row lock in one round trip."""
    instance = steps.lock_with(session, _LOCK_OWNER, {"task_id": task_id})
    if instance is None:
        raise NotFound(f"任务 {task_id} 不存在")
    return instance


def _load(session: Session, actor: Actor, task_id: str) -> Task:
    return _check(actor, task_id, session.get(Task, task_id, populate_existing=True))


def _check(actor: Actor, task_id: str, task: Task | None) -> Task:
    """The task, when it exists and the caller may work it."""
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在")
    if task.role not in actor.roles:
        raise Forbidden(f"该任务需由角色 {task.role} 办理")
    if not actor.covers(task.region):
        raise Forbidden("无权办理其他区域的任务")
    return task


def _require_ready(task: Task) -> None:
    if task.status != "ready":
        raise Conflict(f"任务状态为 {task.status}，不能再办理")
