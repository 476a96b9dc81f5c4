"""Forms, the working-day calendar and the statutory rules."""
from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, platform, require
from api.schemas import DueOut, DueQuery, FormOut, RuleOut, WorkingDaysOut, WorkingDaysQuery, YearIn
from domain import statutes
from domain.errors import BadRequest, Invalid
from services import calendar as calendar_service
from services import forms

blp = Blueprint("reference", __name__, url_prefix="/api/v1", description="表单、工作日历与法定时限")


@blp.route("/forms/<key>")
class FormResource(MethodView):
    @blp.response(200, FormOut)
    def get(self, key: str) -> Any:
        """The latest JSON Schema of a form."""
        actor()
        return forms.get_form(platform(), key)

    @blp.response(201, FormOut)
    @blp.alt_response(200, schema=FormOut, description="the same schema was already deployed")
    def put(self, key: str) -> Any:
        """Deploy a form (a JSON Schema); 422 when it is not a valid schema."""
        require("designer", "admin")
        schema = request.get_json(silent=True)
        if schema is None:
            raise BadRequest("请求体必须是 JSON Schema 对象")
        form, created = forms.put_form(platform(), key, schema)
        return form, 201 if created else 200


@blp.route("/calendar/working-days")
class WorkingDays(MethodView):
    @blp.arguments(WorkingDaysQuery, location="query")
    @blp.response(200, WorkingDaysOut)
    def get(self, query: dict[str, Any]) -> Any:
        """N working days after start, with the rest days skipped."""
        actor()
        return calendar_service.working_days(platform(), query["start"], query["add"])


@blp.route("/calendar/<int:year>")
class CalendarYear(MethodView):
    @blp.arguments(YearIn)
    @blp.response(200)
    def put(self, body: dict[str, Any], year: int) -> Any:
        """Publish a year's weekday holidays and make-up working weekend days (admin)."""
        require("admin")
        return calendar_service.put_year(platform(), year, body["holidays"], body["workdays"])


@blp.route("/statutes")
class Statutes(MethodView):
    @blp.response(200, RuleOut(many=True))
    def get(self) -> Any:
        """Every statutory deadline rule with its citation."""
        return [statutes.rule_to_dict(r) for r in statutes.load_rules().values()]


@blp.route("/statutes/<rule_id>")
class Statute(MethodView):
    @blp.response(200, RuleOut)
    def get(self, rule_id: str) -> Any:
        """One statutory rule."""
        return statutes.rule_to_dict(statutes.get_rule(rule_id))


@blp.route("/statutes/<rule_id>/due")
class StatuteDue(MethodView):
    @blp.arguments(DueQuery, location="query")
    @blp.response(200, DueOut)
    def get(self, query: dict[str, Any], rule_id: str) -> Any:
        """MIN: the earliest allowed date of the closing event; MAX: the last allowed date."""
        actor()
        rule = statutes.get_rule(rule_id)
        if rule.kind not in ("MIN", "MAX"):
            raise Invalid(f"规则 {rule_id} 是 {rule.kind} 类规则，没有期限")
        with platform().db.sessions() as session:
            cal = calendar_service.load(session)
        due = statutes.due(rule, query["from_"], cal)
        return {"rule": rule.id, "from_": query["from_"].isoformat(), "due": due.isoformat(),
                "citation": rule.citation, "kind": rule.kind}
