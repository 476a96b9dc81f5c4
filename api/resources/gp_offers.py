"""Offers of 竞争性谈判 and 询价 trades: a supplier's offer per round, the list it may see, the team's findings."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import actor, platform, require
from api.schemas import Open
from services.trading import gp_offers

blp = Blueprint("gp_offers", __name__, url_prefix="/api/v1/trades/<instance_id>/offers",
                description="竞争性谈判、询价报价")


class RoundQuery(Schema):
    round = fields.Integer(load_default=None, validate=validate.Range(min=1, max=99))
    lot = fields.String(load_default="1", validate=validate.Length(min=1, max=40))


class LotQuery(Schema):
    lot = fields.String(load_default="1", validate=validate.Length(min=1, max=40))


class OfferIn(Schema):
    amount = fields.String(required=True, metadata={"description": "yuan as a decimal string, e.g. \"980000.00\""})
    supplier_name = fields.String(load_default=None, validate=validate.Length(max=200))


class OfferOut(Open):
    id = fields.Integer()
    round = fields.Integer()
    lot = fields.String()
    supplier_uscc = fields.String()
    supplier_name = fields.String(allow_none=True)
    amount = fields.String()
    submitted_at = fields.String()


class OfferListOut(Open):
    instance_id = fields.String()
    lot = fields.String()
    current_round = fields.Integer()
    round_open = fields.Boolean()
    offers = fields.List(fields.Nested(OfferOut))


class AssessmentIn(Schema):
    supplier_uscc = fields.String(required=True, validate=validate.Length(equal=18))
    meets_requirements = fields.Boolean(required=True)
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class AssessmentsIn(Schema):
    assessments = fields.List(fields.Nested(AssessmentIn), required=True, validate=validate.Length(min=1, max=200))


@blp.route("")
class Offers(MethodView):
    @blp.arguments(LotQuery, location="query")
    @blp.response(200, OfferListOut)
    def get(self, query: dict[str, Any], instance_id: str) -> Any:
        """The offers the caller may see: a supplier its own; staff, agency, purchaser those of closed rounds."""
        return gp_offers.list_offers(platform(), actor(), instance_id, query["lot"])

    @blp.arguments(RoundQuery, location="query")
    @blp.arguments(OfferIn)
    @blp.response(200, OfferOut)
    @blp.alt_response(409, description="no round is open, another round is open, or an inquiry quote was given")
    def put(self, query: dict[str, Any], payload: dict[str, Any], instance_id: str) -> Any:
        """Submit (or, in an open negotiation round, revise) the caller's offer for the round."""
        caller = require("bidder")
        return gp_offers.submit(platform(), caller, instance_id, query["round"], payload["amount"],
                                payload["supplier_name"], query["lot"])


@blp.route("/assessments")
class Assessments(MethodView):
    @blp.arguments(LotQuery, location="query")
    @blp.arguments(AssessmentsIn)
    @blp.response(200, Open)
    def put(self, query: dict[str, Any], payload: dict[str, Any], instance_id: str) -> Any:
        """Record for each supplier whether it meets the procurement requirements (谈判小组、询价小组)."""
        caller = require(*gp_offers.ASSESSORS)
        return gp_offers.assess(platform(), caller, instance_id, payload["assessments"], query["lot"])
