"""State-owned property trades: the price payment plan, payments received, the transaction voucher."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import platform, require
from api.schemas import Open
from services.trading import property_payments

blp = Blueprint("property", __name__, url_prefix="/api/v1/property-trades", description="企业国有资产交易：价款与交易凭证")

PARTIES = ("staff", "supervisor", "purchaser", "bidder")


class PricePaymentIn(Schema):
    amount = fields.Decimal(required=True, metadata={"description": "元，最多两位小数"})
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=100))
    payer_account_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    payer_account_no = fields.String(required=True, validate=validate.Length(min=1, max=64))


class InstalmentOut(Schema):
    seq = fields.Integer(required=True)
    amount = fields.String()
    due_on = fields.String()
    paid = fields.String()
    status = fields.String()
    paid_at = fields.String(allow_none=True)
    overdue = fields.Boolean()
    alert_id = fields.Integer(allow_none=True)


class PricePaymentOut(Schema):
    id = fields.Integer(required=True)
    amount = fields.String()
    paid_at = fields.String()
    bank_reference = fields.String()
    payer_account_name = fields.String()
    recorded_by = fields.String()


class PaymentPlanOut(Open):
    id = fields.Integer(required=True)
    instance_id = fields.String()
    transferee_uscc = fields.String()
    transferee_name = fields.String()
    total = fields.String()
    mode = fields.String(metadata={"description": "lump_sum 一次付清 / instalments 分期付款"})
    contract_no = fields.String()
    effective_on = fields.String()
    guarantee = fields.String(allow_none=True)
    interest_rate = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "due 未付清 / paid 已付清"})
    paid_total = fields.String()
    outstanding = fields.String()
    paid_at = fields.String(allow_none=True)
    instalments = fields.List(fields.Nested(InstalmentOut))
    payments = fields.List(fields.Nested(PricePaymentOut))


class TransactionVoucherOut(Open):
    voucher_no = fields.String(required=True)
    instance_id = fields.String()
    issued_at = fields.String()
    trade_code = fields.String(allow_none=True)
    process_key = fields.String()
    project_name = fields.String(allow_none=True)
    subject = fields.String(allow_none=True)
    transferor_name = fields.String(allow_none=True)
    transferor_uscc = fields.String(allow_none=True)
    transferee_name = fields.String()
    transferee_uscc = fields.String()
    price = fields.String()
    listing_price = fields.String(allow_none=True)
    deal_method = fields.String(allow_none=True)
    contract_no = fields.String()
    contract_effective_on = fields.String()
    payment_mode = fields.String()
    paid_at = fields.String(allow_none=True)


@blp.route("/<instance_id>/payment-plan")
class PaymentPlan(MethodView):
    @blp.response(200, PaymentPlanOut)
    def get(self, instance_id: str) -> Any:
        """The price payment plan with instalments and payments (staff, supervisors, the transferor, the transferee)."""
        caller = require(*PARTIES)
        return property_payments.get_plan(platform(), caller, instance_id)


@blp.route("/<instance_id>/payments")
class Payments(MethodView):
    @blp.arguments(PricePaymentIn)
    @blp.response(201, PaymentPlanOut)
    @blp.alt_response(200, schema=PaymentPlanOut, description="the same payment was already recorded")
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """Record price money received from the transferee's account (staff, bank interface)."""
        caller = require("staff", "integrator")
        view, created = property_payments.record_payment(platform(), caller, instance_id, body)
        return view, 201 if created else 200


@blp.route("/<instance_id>/voucher")
class Voucher(MethodView):
    @blp.response(200, TransactionVoucherOut)
    def get(self, instance_id: str) -> Any:
        """The transaction voucher (交易凭证), issued once the price is paid in full."""
        caller = require(*PARTIES)
        return property_payments.get_voucher(platform(), caller, instance_id)
