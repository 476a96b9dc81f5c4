"""Challenges (质疑) and complaints (投诉) a supplier files against a government procurement."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import platform, require
from api.schemas import InstanceOut
from services.trading import challenges

blp = Blueprint("challenges", __name__, url_prefix="/api/v1/trades", description="政府采购质疑与投诉")


class ChallengeIn(Schema):
    knew_on = fields.Date(required=True, metadata={"description": "知道或者应当知道权益受到损害之日"})
    grounds = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    challenger_name = fields.String(load_default=None, validate=validate.Length(max=200))


class ComplaintIn(Schema):
    challenge_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    grounds = fields.String(required=True, validate=validate.Length(min=1, max=5000))


@blp.route("/<instance_id>/challenges")
class Challenges(MethodView):
    @blp.arguments(ChallengeIn)
    @blp.response(201, InstanceOut)
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """A supplier files a challenge (质疑); starts a gp_challenge instance linked to the procurement."""
        caller = require("bidder")
        return challenges.file_challenge(platform(), caller, instance_id, body)


@blp.route("/<instance_id>/complaints")
class Complaints(MethodView):
    @blp.arguments(ComplaintIn)
    @blp.response(201, InstanceOut)
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """A supplier not satisfied with the reply files a complaint (投诉); starts a complaint instance."""
        caller = require("bidder")
        return challenges.file_complaint(platform(), caller, instance_id, body)
