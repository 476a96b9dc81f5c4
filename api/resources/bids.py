"""Sealed electronic bids of a trade: upload (streamed), withdraw, receipts, the list after the deadline, decrypt."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import actor, platform
from api.errors import body
from api.schemas import Open
from domain.errors import BadRequest
from services.trading import bids
from trading.bids import BidTooLarge

blp = Blueprint("bids", __name__, url_prefix="/api/v1/trades/<instance_id>/bids", description="电子投标文件")

FINGERPRINT = "X-Device-Fingerprint"
_BINARY = {"requestBody": {"required": True, "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary"}}},
    "description": "the encrypted bid: nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)"}}
# flask-smorest's manual doc replaces the generated parameter list, so the query parameter is repeated here.
_LOT = {"in": "query", "name": "lot", "required": False, "schema": {"type": "string", "default": "1"},
        "description": "the lot (标段)"}
_DEVICE = {"parameters": [{"in": "header", "name": FINGERPRINT, "required": True, "schema": {"type": "string"},
                           "description": "the client's device fingerprint, recorded with the client IP"}]}


class LotQuery(Schema):
    lot = fields.String(load_default="1", validate=validate.Length(min=1, max=40))


class DecryptIn(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ReceiptOut(Open):
    bid_id = fields.String(required=True)
    receipt_no = fields.String(required=True)
    instance_id = fields.String()
    lot = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    received_at = fields.String()
    status = fields.String()
    status_name = fields.String()
    status_reason = fields.String(allow_none=True)
    plain_sha256 = fields.String(allow_none=True)
    plain_size = fields.Integer(allow_none=True)


class MineOut(Open):
    instance_id = fields.String()
    lot = fields.String()
    bid_deadline = fields.String(allow_none=True)
    current = fields.Nested(ReceiptOut, allow_none=True)
    receipts = fields.List(fields.Nested(ReceiptOut))


class BidListOut(Open):
    instance_id = fields.String()
    lot = fields.String()
    bid_deadline = fields.String()
    bids = fields.List(fields.Dict())
    valid_count = fields.Integer()
    opening = fields.Dict(allow_none=True)


@blp.errorhandler(BidTooLarge)
def too_large(exc: BidTooLarge) -> Any:
    """413 in the contract's error document."""
    response = jsonify(body(exc.code, exc.message, exc.errors))
    response.status_code = 413
    return response


@blp.route("")
class Bids(MethodView):
    @blp.arguments(LotQuery, location="query")
    @blp.response(200, BidListOut)
    def get(self, query: dict[str, Any], instance_id: str) -> Any:
        """The bids of a lot (bidder, receipt, status): after the deadline only, to staff, supervisor, owner, agency."""
        return bids.list_bids(platform(), actor(), instance_id, query["lot"])

    @blp.arguments(LotQuery, location="query")
    @blp.doc(**_BINARY, parameters=[*_DEVICE["parameters"], _LOT])
    @blp.response(201, ReceiptOut)
    @blp.alt_response(409, description="the bid deadline has passed or the trade is not running")
    @blp.alt_response(413, description="the file is over the size limit")
    def put(self, query: dict[str, Any], instance_id: str) -> Any:
        """Upload or replace the caller's encrypted bid (raw body, streamed); returns the receipt."""
        caller = actor()
        if request.mimetype not in ("", "application/octet-stream"):
            raise BadRequest("请以 application/octet-stream 上传加密后的投标文件")
        stream, length = _body()
        return bids.upload(platform(), caller, instance_id, query["lot"], stream, length,
                           request.headers.get(FINGERPRINT)), 201

    @blp.arguments(LotQuery, location="query")
    @blp.response(200, ReceiptOut)
    def delete(self, query: dict[str, Any], instance_id: str) -> Any:
        """Withdraw (撤回) the caller's bid before the deadline."""
        return bids.withdraw(platform(), actor(), instance_id, query["lot"], request.headers.get(FINGERPRINT))


def _body() -> tuple[Any, int | None]:
    """The raw body to stream and its declared length, which the bid service reads no further than."""
    length = request.content_length
    if length is None and not request.environ.get("wsgi.input_terminated"):
        return request.stream, None  # a body of unknown end on a raw socket: werkzeug hands an empty stream
    # The server's own input rather than request.stream: werkzeug's wrapper copies every block twice, and
    # the app's general body limit is far below a bid's (the bid service enforces its own, with its message).
    return request.environ["wsgi.input"], length


@blp.route("/mine")
class MyBid(MethodView):
    @blp.arguments(LotQuery, location="query")
    @blp.response(200, MineOut)
    def get(self, query: dict[str, Any], instance_id: str) -> Any:
        """The caller's own receipts on this trade and lot."""
        return bids.mine(platform(), actor(), instance_id, query["lot"])


@blp.route("/<bid_id>/decrypt")
class Decrypt(MethodView):
    @blp.arguments(DecryptIn)
    @blp.doc(**_DEVICE)
    @blp.response(200, ReceiptOut)
    @blp.alt_response(422, description="the key does not open the file; retry within the window")
    def post(self, payload: dict[str, Any], instance_id: str, bid_id: str) -> Any:
        """Decrypt the caller's bid with its Base64 AES-256 key within the decryption window."""
        return bids.decrypt(platform(), actor(), instance_id, bid_id, payload["key"],
                            request.headers.get(FINGERPRINT))
