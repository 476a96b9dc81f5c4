"""Deadlines for overseers: ready tasks past their due time, most overdue first."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from domain.access import Actor, region_prefix
from domain.errors import Forbidden
from persistence.models import ProcessInstance, Task
from services.instances import task_view
from services.platform import Platform

OVERSEERS = ("supervisor", "staff", "admin")


def overdue_tasks(p: Platform, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """Ready tasks of running instances in the caller's region whose due time has passed."""
    if not actor.has(*OVERSEERS):
        raise Forbidden("只有监督人员、交易中心工作人员或管理员可以查看超期事项")
    now = p.clock.now()
    query = (select(Task, ProcessInstance.business_key)
             .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
             .where(Task.status == "ready", ProcessInstance.status == "running",
                    Task.due_at.is_not(None), Task.due_at < now))
    if actor.region:
        query = query.where(Task.region.like(region_prefix(actor.region) + "%"))
    with p.db.sessions() as session:
        rows = session.execute(query.order_by(Task.due_at, Task.id).limit(limit)).all()
        return [{**task_view(task), "business_key": business_key,
                 "overdue_hours": round((now - task.due_at).total_seconds() / 3600, 1)}
                for task, business_key in rows if task.due_at is not None]
