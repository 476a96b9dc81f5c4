"""Task queues: list, read with form, claim, unclaim, complete."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, platform
from api.schemas import CompleteIn, InstanceOut, TaskOut, TaskQuery
from services import tasks

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="待办任务")


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(TaskQuery, location="query")
    @blp.response(200, TaskOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """The caller's task queue: only roles and region the caller holds."""
        return tasks.queue(platform(), actor(), query.get("role"), query.get("assignee"), query.get("status"),
                           query.get("process_key"))


@blp.route("/<task_id>")
class TaskResource(MethodView):
    @blp.response(200, TaskOut)
    def get(self, task_id: str) -> Any:
        """A task with its form (JSON Schema) and the instance data it needs."""
        return tasks.get(platform(), actor(), task_id)


@blp.route("/<task_id>/claim")
class Claim(MethodView):
    @blp.response(200, TaskOut)
    def post(self, task_id: str) -> Any:
        """Claim a task; 409 when another user holds it."""
        return tasks.claim(platform(), actor(), task_id)


@blp.route("/<task_id>/unclaim")
class Unclaim(MethodView):
    @blp.response(200, TaskOut)
    def post(self, task_id: str) -> Any:
        """Return a claimed task to the queue."""
        return tasks.unclaim(platform(), actor(), task_id)


@blp.route("/<task_id>/complete")
class Complete(MethodView):
    @blp.arguments(CompleteIn)
    @blp.response(200, InstanceOut)
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """Complete a task with form data; returns the instance at its next wait state."""
        return tasks.complete(platform(), actor(), task_id, body["data"])
