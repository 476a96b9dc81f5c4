"""The expert pool, the committee draw of a trade, the drawn experts' answers, and draw replays."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import platform, require
from services.trading import expert_pool, experts

blp = Blueprint("experts", __name__, url_prefix="/api/v1/experts", description="评标专家库")
committees = Blueprint("expert_committees", __name__, url_prefix="/api/v1/trades", description="评标委员会")
extra_blueprints = (committees,)


class PeriodIn(Schema):
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    reason = fields.String(load_default=None, validate=validate.Length(max=200))


class ExpertIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    id_number = fields.String(required=True, validate=validate.Length(equal=18))
    specialties = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=50))
    region = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$"))
    employer_uscc = fields.String(load_default=None)
    username = fields.String(load_default=None)
    available = fields.Boolean(load_default=True)


class ExpertOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String()
    id_number_masked = fields.String()
    region = fields.String()
    employer_uscc = fields.String(allow_none=True)
    username = fields.String(allow_none=True)
    specialties = fields.List(fields.String())
    available = fields.Boolean()
    blacklisted = fields.Boolean()
    blacklist_reason = fields.String(allow_none=True)
    unavailable_periods = fields.List(fields.Dict())
    created_at = fields.String()


class ExpertPage(Schema):
    items = fields.List(fields.Nested(ExpertOut))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class ExpertQuery(Schema):
    specialty = fields.String()
    region = fields.String(validate=validate.Regexp(r"^\d{6}$"))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class AvailabilityIn(Schema):
    available = fields.Boolean(load_default=None)
    unavailable_periods = fields.List(fields.Nested(PeriodIn), load_default=None)


class BlacklistIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class DrawIn(Schema):
    specialties = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=50))
    size = fields.Integer(load_default=None)
    owner_reps = fields.Integer(load_default=0, validate=validate.Range(min=0))
    reserves = fields.Integer(load_default=experts.DEFAULT_RESERVES, validate=validate.Range(min=0, max=20))
    region = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6}$"))
    exclusions = fields.List(fields.String(), load_default=list)
    lot = fields.String(load_default=None, validate=validate.Length(max=40))
    rule = fields.String(load_default=experts.DEFAULT_RULE)
    budget = fields.Decimal(load_default=None, as_string=True)
    evaluation_date = fields.Date(load_default=None)


class AnswerIn(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=1000))


class LotQuery(Schema):
    lot = fields.String(validate=validate.Length(max=40))


class CommitteeOut(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.String()
    lot = fields.String()
    rule = fields.String()
    size = fields.Integer()
    owner_reps = fields.Integer()
    experts_needed = fields.Integer()
    confirmed = fields.Integer()
    pending = fields.Integer()
    vacant = fields.Integer()
    formed = fields.Boolean()
    members = fields.List(fields.Dict(), metadata={"description": "names masked (专家1…) to non-staff before the result"})
    draws = fields.List(fields.Dict(), metadata={"description": "staff and supervisors only"})


class ReplayOut(Schema):
    draw_id = fields.Integer(required=True)
    matches = fields.Boolean(required=True)


@blp.route("")
class Experts(MethodView):
    @blp.arguments(ExpertIn)
    @blp.response(201, ExpertOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Register an expert in the pool (admin, staff)."""
        return expert_pool.create_expert(platform(), require("admin", "staff"), body)

    @blp.arguments(ExpertQuery, location="query")
    @blp.response(200, ExpertPage)
    def get(self, query: dict[str, Any]) -> Any:
        """A page of the pool, by specialty code and region (admin, staff, supervisor)."""
        return expert_pool.list_experts(platform(), require(*expert_pool.READERS), query.get("specialty"),
                                        query.get("region"), query["page"], query["per_page"])


@blp.route("/<int:expert_id>")
class ExpertResource(MethodView):
    @blp.response(200, ExpertOut)
    def get(self, expert_id: int) -> Any:
        """One expert (admin, staff, supervisor); the ID number only masked."""
        return expert_pool.get_expert(platform(), require(*expert_pool.READERS), expert_id)


@blp.route("/<int:expert_id>/availability")
class Availability(MethodView):
    @blp.arguments(AvailabilityIn)
    @blp.response(200, ExpertOut)
    def put(self, body: dict[str, Any], expert_id: int) -> Any:
        """Switch an expert on or off and/or replace their unavailable periods (admin, staff)."""
        periods = body["unavailable_periods"]
        return expert_pool.set_availability(platform(), require(*expert_pool.MANAGERS), expert_id,
                                            body["available"], None if periods is None else list(periods))


@blp.route("/<int:expert_id>/blacklist")
class Blacklist(MethodView):
    @blp.arguments(BlacklistIn)
    @blp.response(200, ExpertOut)
    def post(self, body: dict[str, Any], expert_id: int) -> Any:
        """Blacklist an expert with a reason (admin, staff): never drawn again."""
        return expert_pool.set_blacklist(platform(), require(*expert_pool.MANAGERS), expert_id, True, body["reason"])

    @blp.response(200, ExpertOut)
    def delete(self, expert_id: int) -> Any:
        """Lift an expert's blacklisting (admin, staff)."""
        return expert_pool.set_blacklist(platform(), require(*expert_pool.MANAGERS), expert_id, False, None)


@blp.route("/draws/<int:draw_id>/replay")
class Replay(MethodView):
    @blp.response(200, ReplayOut)
    def post(self, draw_id: int) -> Any:
        """Replay a draw from its audited seed and candidate list (supervisor, staff)."""
        return {"draw_id": draw_id, "matches": experts.replay_draw(platform(), require(*experts.REPLAYERS), draw_id)}


@committees.route("/<instance_id>/committee/draw")
class Draw(MethodView):
    @committees.arguments(DrawIn)
    @committees.response(201, CommitteeOut)
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """Draw the trade's committee at random, or fill its vacant seats (staff)."""
        return experts.draw_committee(
            platform(), require("staff"), instance_id, body["specialties"], body["size"], body["owner_reps"],
            body["reserves"], body["region"], body["exclusions"], body["lot"], body["rule"], body["budget"],
            body["evaluation_date"])


@committees.route("/<instance_id>/committee")
class CommitteeResource(MethodView):
    @committees.arguments(LotQuery, location="query")
    @committees.response(200, CommitteeOut)
    def get(self, query: dict[str, Any], instance_id: str) -> Any:
        """The committee: names to staff and supervisors, masked to others until the result is published."""
        return experts.get_committee(platform(), require(*experts.VIEWERS), instance_id, query.get("lot"))


@committees.route("/<instance_id>/committee/<int:member_id>/confirm")
class Confirm(MethodView):
    @committees.response(200, CommitteeOut)
    def post(self, instance_id: str, member_id: int) -> Any:
        """The drawn expert confirms attendance (expert)."""
        return experts.confirm(platform(), require("expert"), instance_id, member_id)


@committees.route("/<instance_id>/committee/<int:member_id>/decline")
class Decline(MethodView):
    @committees.arguments(AnswerIn)
    @committees.response(200, CommitteeOut)
    def post(self, body: dict[str, Any], instance_id: str, member_id: int) -> Any:
        """The drawn expert declines; a reserve or a fresh draw takes the seat (expert)."""
        return experts.decline(platform(), require("expert"), instance_id, member_id, body["reason"])


@committees.route("/<instance_id>/committee/<int:member_id>/recuse")
class Recuse(MethodView):
    @committees.arguments(AnswerIn)
    @committees.response(200, CommitteeOut)
    def post(self, body: dict[str, Any], instance_id: str, member_id: int) -> Any:
        """The drawn expert declares a conflict of interest (回避) and leaves the trade (expert)."""
        return experts.recuse(platform(), require("expert"), instance_id, member_id, body["reason"])
