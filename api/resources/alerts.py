"""Alerts for supervisors: list by region, review, dismiss."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import platform, require
from api.schemas import Open
from services.trading import alerts

blp = Blueprint("alerts", __name__, url_prefix="/api/v1/alerts", description="预警")


class AlertQuery(Schema):
    status = fields.String(validate=validate.OneOf(alerts.STATUSES))
    kind = fields.String(validate=validate.Length(max=60))
    instance_id = fields.String(validate=validate.Length(max=36))
    min_score = fields.Integer(validate=validate.Range(min=0, max=100))
    sort = fields.String(load_default="newest", validate=validate.OneOf(("newest", "score")))


class AlertActionIn(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class AlertOut(Open):
    id = fields.Integer(required=True)
    kind = fields.String()
    severity = fields.String()
    score = fields.Integer(allow_none=True)
    instance_id = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    subject = fields.String(allow_none=True)
    rule = fields.String(allow_none=True)
    message = fields.String()
    evidence = fields.Dict()
    status = fields.String()
    handled_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


@blp.route("")
class Alerts(MethodView):
    @blp.arguments(AlertQuery, location="query")
    @blp.response(200, AlertOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """Alerts of the caller's region, newest first (supervisor, staff)."""
        caller = require(*alerts.READERS)
        return alerts.list_alerts(platform(), caller, query.get("status"), query.get("kind"),
                                  query.get("instance_id"), min_score=query.get("min_score"),
                                  by_score=query.get("sort") == "score")


@blp.route("/<int:alert_id>/review")
class Review(MethodView):
    @blp.arguments(AlertActionIn, required=False)
    @blp.response(200, AlertOut)
    def post(self, body: dict[str, Any], alert_id: int) -> Any:
        """Mark an open alert as reviewed (supervisor)."""
        return alerts.review(platform(), require("supervisor"), alert_id, body.get("note"))


@blp.route("/<int:alert_id>/dismiss")
class Dismiss(MethodView):
    @blp.arguments(AlertActionIn, required=False)
    @blp.response(200, AlertOut)
    def post(self, body: dict[str, Any], alert_id: int) -> Any:
        """Dismiss an alert (supervisor)."""
        return alerts.dismiss(platform(), require("supervisor"), alert_id, body.get("note"))
