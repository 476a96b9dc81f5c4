"""Process instances: start, read, list, audit events, cancel, suspend, resume."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, platform
from api.schemas import EventOut, InstanceOut, InstancePage, InstanceQuery, StartIn, StatusChangeIn
from services import instances

blp = Blueprint("process_instances", __name__, url_prefix="/api/v1/process-instances", description="流程实例")


@blp.route("")
class Instances(MethodView):
    @blp.arguments(StartIn)
    @blp.response(201, InstanceOut)
    @blp.alt_response(200, schema=InstanceOut, description="an instance with this business key exists")
    def post(self, body: dict[str, Any]) -> Any:
        """Start a process instance (idempotent by process key and business key)."""
        view, created = instances.start(platform(), actor(), body["process_key"], body["business_key"],
                                        body["variables"], body["region"])
        return view, 201 if created else 200

    @blp.arguments(InstanceQuery, location="query")
    @blp.response(200, InstancePage)
    def get(self, query: dict[str, Any]) -> Any:
        """A page of instances, filtered by process key, status and business key."""
        return instances.list_instances(platform(), actor(), query.get("process_key"), query.get("status"),
                                        query.get("business_key"), query["page"], query["per_page"])


@blp.route("/<instance_id>")
class Instance(MethodView):
    @blp.response(200, InstanceOut)
    def get(self, instance_id: str) -> Any:
        """An instance with its variables, ready tasks and pending timers."""
        return instances.get(platform(), actor(), instance_id)


@blp.route("/<instance_id>/events")
class Events(MethodView):
    @blp.response(200, EventOut(many=True))
    def get(self, instance_id: str) -> Any:
        """The instance's audit events, a hash chain."""
        return instances.events(platform(), actor(), instance_id)


@blp.route("/<instance_id>/cancel")
class InstanceCancel(MethodView):
    @blp.arguments(StatusChangeIn, required=False)
    @blp.response(200, InstanceOut)
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """Cancel an instance: every open task and timer ends."""
        return instances.change_status(platform(), actor(), instance_id, "cancel", body.get("reason"))


@blp.route("/<instance_id>/suspend")
class InstanceSuspend(MethodView):
    @blp.arguments(StatusChangeIn, required=False)
    @blp.response(200, InstanceOut)
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """Suspend an instance: no task completes and no timer fires until it resumes."""
        return instances.change_status(platform(), actor(), instance_id, "suspend", body.get("reason"))


@blp.route("/<instance_id>/resume")
class InstanceResume(MethodView):
    @blp.arguments(StatusChangeIn, required=False)
    @blp.response(200, InstanceOut)
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """Resume a suspended instance; timers that fell due meanwhile fire at once."""
        return instances.change_status(platform(), actor(), instance_id, "resume", body.get("reason"))
