"""Process instances: start (idempotent by business key), read, list, cancel, suspend, resume."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domain import forms
from domain.access import Actor, is_valid_region, region_prefix
from domain.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from persistence.models import Event, ProcessInstance, Task, Timer
from services import audit, sealing, steps
from services import calendar as calendar_service
from services import definitions as definitions_service
from services.forms import latest as latest_form
from services.platform import Platform

STARTERS = ("integrator", "staff", "purchaser", "agency", "admin")
OVERSEERS = ("staff", "supervisor", "admin")
PARTY_ORGS = "party_orgs"  # variable: USCCs of organisations that are parties to an instance started for them
STATUSES = ("running", "completed", "cancelled", "suspended", "failed")


def start(p: Platform, actor: Actor, process_key: str, business_key: str, variables: dict[str, Any],
          region: str | None = None) -> tuple[dict[str, Any], bool]:
    """Start the latest version of a process; the same (process, business key) returns the existing one."""
    if not actor.has(*STARTERS):
        raise Forbidden("无权发起流程（需要 integrator、staff、purchaser、agency 或 admin 角色）")
    if not business_key or len(business_key) > 200:
        raise Invalid("业务编号不合法", [{"field": "business_key", "message": "必填，最长 200 个字符"}])
    if not isinstance(variables, dict):
        raise BadRequest("variables 必须是 JSON 对象")
    region = region or actor.region
    if region is not None and not is_valid_region(region):
        raise Invalid("行政区划代码不合法", [{"field": "region", "message": "应为 6 位数字"}])
    if not actor.covers(region):
        raise Forbidden(f"无权在区域 {region} 发起流程")

    def use_case(session: Session) -> tuple[dict[str, Any], bool]:
        existing = session.scalar(select(ProcessInstance).where(
            ProcessInstance.process_key == process_key, ProcessInstance.business_key == business_key))
        if existing is not None:
            _check_view(session, actor, existing)
            return view(session, existing), False
        row = definitions_service.latest(session, process_key)
        compiled = steps.definition(session, row.id)
        data = _validate_start(session, compiled, variables)
        now = p.clock.now()
        instance = ProcessInstance(
            id=str(uuid.uuid4()), definition_id=row.id, process_key=row.key, version=row.version,
            business_key=business_key, region=region, status="running", variables=data, state={},
            created_by=actor.username, created_at=now, updated_at=now,
        )
        session.add(instance)
        session.flush()
        audit.append(session, instance.id, "instance.started", actor, now,
                     {"process_key": row.key, "version": row.version, "business_key": business_key,
                      "variables": data})
        result = steps.runner(p, session, compiled, instance, actor, now).start(data)
        return view(session, instance, steps.apply(p, session, instance, compiled, result, actor, now)), True

    return p.db.run(use_case)


def _validate_start(session: Session, compiled: steps.CompiledDefinition, variables: dict[str, Any]) -> dict[str, Any]:
    for element in compiled.elements.values():
        if element["type"] == "startEvent" and element.get("form_key"):
            form = latest_form(session, element["form_key"])
            if form is None:
                raise Invalid(f"开始表单 {element['form_key']} 未部署")
            return forms.validate(form.schema, variables, calendar=calendar_service.LazyCalendar(session))
    return variables


def get(p: Platform, actor: Actor, instance_id: str) -> dict[str, Any]:
    """One instance with variables, ready tasks and pending timers."""
    with p.db.sessions() as session:
        instance = _load(session, instance_id)
        _check_view(session, actor, instance)
        return view(session, instance)


def list_instances(p: Platform, actor: Actor, process_key: str | None, status: str | None,
                   business_key: str | None, page: int, per_page: int) -> dict[str, Any]:
    """A page of instances in the caller's region."""
    if not actor.has("staff", "supervisor", "integrator", "admin"):
        raise Forbidden("无权查询流程实例列表")
    if status and status not in STATUSES:
        raise BadRequest(f"status 只能是：{', '.join(STATUSES)}")
    query = select(ProcessInstance)
    if process_key:
        query = query.where(ProcessInstance.process_key == process_key)
    if status:
        query = query.where(ProcessInstance.status == status)
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    if actor.region:
        query = query.where(ProcessInstance.region.like(region_prefix(actor.region) + "%"))
    with p.db.sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(ProcessInstance.created_at.desc(), ProcessInstance.id)
                               .offset((page - 1) * per_page).limit(per_page))
        return {"items": [summary(r) for r in rows], "page": page, "per_page": per_page, "total": total}


def events(p: Platform, actor: Actor, instance_id: str) -> list[dict[str, Any]]:
    """The instance's audit chain."""
    with p.db.sessions() as session:
        instance = _load(session, instance_id)
        _check_view(session, actor, instance)
        rows = session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.seq))
        sealed = sealing.names(session, instance)
        return [{**event, "data": sealing.mask(event["data"], sealed)} for event in map(audit.to_dict, rows)]


_TRANSITIONS = {
    "cancel": (("running", "suspended"), "撤销"),
    "suspend": (("running",), "挂起"),
    "resume": (("suspended",), "恢复"),
}


def change_status(p: Platform, actor: Actor, instance_id: str, action: str, reason: str | None = None) -> dict[str, Any]:
    """cancel, suspend or resume an instance (staff, admin)."""
    if not actor.has("staff", "admin"):
        raise Forbidden("只有交易中心工作人员或管理员可以变更流程状态")
    allowed, verb = _TRANSITIONS[action]

    def use_case(session: Session) -> dict[str, Any]:
        instance = steps.lock_instance(session, instance_id)
        if not actor.covers(instance.region):
            raise Forbidden("无权操作其他区域的流程实例")
        if instance.status not in allowed:
            raise Conflict(f"流程实例当前状态为 {instance.status}，不能{verb}")
        now = p.clock.now()
        if action == "cancel":
            compiled = steps.definition(session, instance.definition_id)
            result = steps.runner(p, session, compiled, instance, actor, now).cancel(instance.state)
            return view(session, instance, steps.apply(p, session, instance, compiled, result, actor, now))
        instance.status = "suspended" if action == "suspend" else "running"
        instance.updated_at = now
        audit.append(session, instance.id, f"instance.{'suspended' if action == 'suspend' else 'resumed'}",
                     actor, now, {"reason": reason})
        return view(session, instance)

    return p.db.run(use_case)


def _load(session: Session, instance_id: str) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    return instance


def _check_view(session: Session, actor: Actor, instance: ProcessInstance) -> None:
    """Parties, staff and supervisors of the region may read an instance."""
    if actor.has(*OVERSEERS, "integrator") and actor.covers(instance.region):
        return
    if instance.created_by == actor.username:
        return
    if _named_party(actor, instance):
        return
    party = session.scalar(select(Task.id).where(
        Task.instance_id == instance.id,
        or_(Task.assignee == actor.username, Task.completed_by == actor.username,
            (Task.status == "ready") & Task.role.in_(sorted(actor.roles))),
    ).limit(1))
    if party is not None and actor.covers(instance.region):
        return
    raise Forbidden("无权查看该流程实例")


def _named_party(actor: Actor, instance: ProcessInstance) -> bool:
    """An organisation named in the instance's `party_orgs` (a challenger started by the platform on its behalf)."""
    if not actor.org or not actor.covers(instance.region):
        return False
    parties = (instance.variables or {}).get(PARTY_ORGS) or []
    return isinstance(parties, list) and actor.org.strip().upper() in parties


def summary(instance: ProcessInstance) -> dict[str, Any]:
    """An instance without its tasks and timers."""
    return {
        "id": instance.id, "process_key": instance.process_key, "version": instance.version,
        "business_key": instance.business_key, "region": instance.region, "status": instance.status,
        "created_at": instance.created_at.isoformat(), "updated_at": instance.updated_at.isoformat(),
        "completed_at": instance.completed_at.isoformat() if instance.completed_at else None,
        "error": instance.error,
    }


def view(session: Session, instance: ProcessInstance, step: steps.Projection | None = None) -> dict[str, Any]:
    """An instance with variables, ready tasks and pending timers (as `step` left them, when given)."""
    if step is not None:
        tasks: Any = sorted(step.tasks, key=lambda t: (t.created_at, t.id))
        timers: Any = sorted(step.timers, key=lambda t: (t.due_at, t.id))
    else:
        tasks = session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "ready")
                                .order_by(Task.created_at, Task.id))
        timers = session.scalars(select(Timer).where(Timer.instance_id == instance.id, Timer.status == "pending")
                                 .order_by(Timer.due_at, Timer.id))
    return {
        **summary(instance),
        "variables": sealing.mask(instance.variables, sealing.names(session, instance)),
        "tasks": [task_view(t) for t in tasks],
        "timers": [timer_view(t) for t in timers],
    }


def task_view(task: Task) -> dict[str, Any]:
    """A task as the queue shows it."""
    return {
        "id": task.id, "instance_id": task.instance_id, "process_key": task.process_key, "name": task.name,
        "element_id": task.element_id, "role": task.role, "form_key": task.form_key, "rule": task.rule,
        "region": task.region, "status": task.status, "assignee": task.assignee,
        "created_at": task.created_at.isoformat(), "due_at": task.due_at.isoformat() if task.due_at else None,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "completed_by": task.completed_by,
    }


def timer_view(timer: Timer) -> dict[str, Any]:
    """A pending timer with its statutory rule."""
    return {"id": timer.id, "element_id": timer.element_id, "name": timer.name, "kind": timer.kind,
            "boundary": timer.boundary, "rule": timer.rule, "due_at": timer.due_at.isoformat(),
            "status": timer.status}
