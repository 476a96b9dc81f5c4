"""Overdue deadlines for the supervisor's dashboard."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from api.auth import actor, platform
from api.schemas import TaskOut
from services import deadlines

blp = Blueprint("deadlines", __name__, url_prefix="/api/v1/deadlines", description="超期督办")


class OverdueOut(TaskOut):
    overdue_hours = fields.Float()


@blp.route("/overdue")
class Overdue(MethodView):
    @blp.response(200, OverdueOut(many=True))
    def get(self) -> Any:
        """Ready tasks past their due time in the caller's region, most overdue first (supervisor, staff)."""
        return deadlines.overdue_tasks(platform(), actor())
