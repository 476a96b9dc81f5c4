"""Evaluation of a trade: open (staff), the experts' scores, close with the ranking, read."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import platform, require
from services.trading import evaluation
from trading import evaluation as rules

blp = Blueprint("evaluation", __name__, url_prefix="/api/v1/trades", description="评标")


class CriterionIn(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = fields.String(load_default=None, validate=validate.Length(max=100))
    kind = fields.String(required=True, validate=validate.OneOf(list(rules.KINDS)))
    max = fields.Raw(required=True)


class AdjustmentIn(Schema):
    amount = fields.Raw(required=True)
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


class BidderIn(Schema):
    uscc = fields.String(required=True)
    price = fields.Raw(required=True)
    adjustments = fields.List(fields.Nested(AdjustmentIn), load_default=list)


class OpenIn(Schema):
    method = fields.String(required=True, validate=validate.OneOf(list(rules.METHODS)))
    criteria = fields.List(fields.Nested(CriterionIn), load_default=list)
    bidders = fields.List(fields.Nested(BidderIn), required=True, validate=validate.Length(min=1))
    base = fields.String(load_default="lowest", validate=validate.OneOf(list(rules.BASES)))
    drop_extremes = fields.Boolean(load_default=False)
    lot = fields.String(load_default=None, validate=validate.Length(max=40))


class ScoreIn(Schema):
    bidder = fields.String(required=True)
    criterion = fields.String(required=True)
    score = fields.Raw(required=True)


class ReviewIn(Schema):
    bidder = fields.String(required=True)
    passed = fields.Boolean(required=True)


class ScoresIn(Schema):
    scores = fields.List(fields.Nested(ScoreIn), load_default=list)
    reviews = fields.List(fields.Nested(ReviewIn), load_default=list)
    lot = fields.String(load_default=None, validate=validate.Length(max=40))


class LotIn(Schema):
    lot = fields.String(load_default=None, validate=validate.Length(max=40))


class EvaluationOut(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.String()
    lot = fields.String()
    method = fields.String()
    method_name = fields.String()
    status = fields.String()
    criteria = fields.List(fields.Dict())
    params = fields.Dict()
    bidders = fields.List(fields.Dict())
    opened_at = fields.String()
    closed_at = fields.String(allow_none=True)
    result = fields.Dict(allow_none=True, metadata={"description": "ranking, up to three candidates"})
    scores = fields.List(fields.Dict(), metadata={"description": "staff and supervisors: all; an expert: own"})


@blp.route("/<instance_id>/evaluation")
class EvaluationResource(MethodView):
    @blp.arguments(OpenIn)
    @blp.response(201, EvaluationOut)
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """Open the evaluation with its method (composite or lowest_evaluated_price), criteria and bidders (staff)."""
        return evaluation.open_evaluation(platform(), require("staff"), instance_id, body["method"],
                                          body["criteria"], body["bidders"], body["base"], body["drop_extremes"],
                                          body["lot"])

    @blp.arguments(LotIn, location="query")
    @blp.response(200, EvaluationOut)
    def get(self, query: dict[str, Any], instance_id: str) -> Any:
        """The evaluation: in full to staff and supervisors, the own marks to experts, to parties after the result."""
        return evaluation.get_evaluation(
            platform(), require("staff", "supervisor", "admin", "expert", "purchaser", "agency", "bidder"),
            instance_id, query["lot"])


@blp.route("/<instance_id>/evaluation/scores")
class Scores(MethodView):
    @blp.arguments(ScoresIn)
    @blp.response(200, EvaluationOut)
    def put(self, body: dict[str, Any], instance_id: str) -> Any:
        """An expert's marks (composite) or pass/fail reviews (lowest evaluated price); resubmitting replaces."""
        return evaluation.submit_scores(platform(), require("expert"), instance_id, body["scores"], body["reviews"],
                                        body["lot"])


@blp.route("/<instance_id>/evaluation/close")
class Close(MethodView):
    @blp.arguments(LotIn)
    @blp.response(200, EvaluationOut)
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """Close the evaluation and rank the bidders; up to three candidates (staff)."""
        return evaluation.close_evaluation(platform(), require("staff"), instance_id, body["lot"])
