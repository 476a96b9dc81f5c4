"""Bid bonds and deposits of a trade: record payments, list them, record refunds."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import platform, require
from api.schemas import Open
from services.trading import deposits

blp = Blueprint("deposits", __name__, url_prefix="/api/v1/trades", description="投标保证金/竞买保证金")


class PaymentIn(Schema):
    bidder_uscc = fields.String(required=True, validate=validate.Length(min=18, max=18))
    bidder_name = fields.String(load_default=None, validate=validate.Length(max=200))
    lot = fields.String(load_default="1", validate=validate.Length(min=1, max=50))
    amount = fields.Decimal(required=True, metadata={"description": "元，最多两位小数"})
    payer_account_no = fields.String(required=True, validate=validate.Length(min=1, max=64))
    payer_bank = fields.String(required=True, validate=validate.Length(min=1, max=200))
    payer_account_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    is_basic_account = fields.Boolean(required=True)
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=100))


class DepositQuery(Schema):
    lot = fields.String(validate=validate.Length(min=1, max=50))


class RefundIn(Schema):
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=100))


class DepositOut(Open):
    id = fields.Integer(required=True)
    instance_id = fields.String()
    lot = fields.String()
    bidder_uscc = fields.String()
    bidder_name = fields.String()
    amount = fields.String()
    required = fields.String(allow_none=True)
    deposit_ok = fields.Boolean()
    status = fields.String()
    paid_at = fields.String()
    refund_due_at = fields.String(allow_none=True)
    refund = fields.Dict(allow_none=True)


@blp.route("/<instance_id>/deposits")
class Deposits(MethodView):
    @blp.arguments(PaymentIn)
    @blp.response(201, DepositOut)
    @blp.alt_response(200, schema=DepositOut, description="the same payment was already recorded")
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """Record a bond payment from a bidder's account (staff, bank interface)."""
        caller = require("staff", "integrator")
        view, created = deposits.record_payment(platform(), caller, instance_id, body)
        return view, 201 if created else 200

    @blp.arguments(DepositQuery, location="query")
    @blp.response(200, DepositOut(many=True))
    def get(self, query: dict[str, Any], instance_id: str) -> Any:
        """The trade's deposits: all for staff and supervisors of the region, its own for a bidder."""
        caller = require("staff", "supervisor", "bidder")
        return deposits.list_deposits(platform(), caller, instance_id, query.get("lot"))


@blp.route("/<instance_id>/deposits/<int:deposit_id>/refund")
class Refund(MethodView):
    @blp.arguments(RefundIn)
    @blp.response(200, DepositOut)
    def post(self, body: dict[str, Any], instance_id: str, deposit_id: int) -> Any:
        """Record that a deposit was refunded, with the bank reference of the transfer (staff)."""
        caller = require("staff")
        return deposits.mark_refunded(platform(), caller, instance_id, deposit_id, body["bank_reference"])
