"""Live bidding: the auction's state, bids, the listing's request to continue, long polling and SSE."""
from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import platform, require
from services.trading import auction_feed, auctions

blp = Blueprint("auctions", __name__, url_prefix="/api/v1/auctions", description="网络竞价（拍卖/挂牌/网络竞价）")
by_instance = Blueprint("instance_auctions", __name__, url_prefix="/api/v1/process-instances",
                        description="交易的竞价")
extra_blueprints = (by_instance,)

VIEWERS = ("staff", "supervisor", "purchaser", "bidder")


class BidIn(Schema):
    amount = fields.Decimal(required=True, as_string=True, metadata={"description": "元，最多两位小数"})


class EventsQuery(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    wait = fields.Float(load_default=0, validate=validate.Range(min=0, max=auction_feed.MAX_WAIT_SECONDS))


class StreamQuery(Schema):
    after = fields.Integer(load_default=None, validate=validate.Range(min=0))
    seconds = fields.Float(load_default=auction_feed.STREAM_SECONDS,
                           validate=validate.Range(min=1, max=auction_feed.STREAM_SECONDS))


class AuctionOut(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.String()
    lot = fields.String()
    kind = fields.String(metadata={"description": "auction 拍卖, listing 挂牌, online 网络竞价"})
    kind_name = fields.String()
    status = fields.String(metadata={"description": "open or closed"})
    phase = fields.String(metadata={"description": "scheduled, free_quote, open, closing or closed"})
    start_price = fields.String()
    increment = fields.String()
    has_reserve = fields.Boolean()
    starts_at = fields.String()
    ends_at = fields.String(allow_none=True)
    quiet_seconds = fields.Integer(allow_none=True)
    free_quote_until = fields.String(allow_none=True)
    extend_window_seconds = fields.Integer(allow_none=True)
    extend_seconds = fields.Integer(allow_none=True)
    closes_at = fields.String(metadata={"description": "the effective close time after the bids so far"})
    server_time = fields.String()
    seq = fields.Integer()
    bid_count = fields.Integer()
    participant_count = fields.Integer(metadata={"description": "organisers only"})
    current_price = fields.String(allow_none=True)
    leader_paddle = fields.String(allow_none=True)
    minimum_bid = fields.String(allow_none=True)
    previous_id = fields.Integer(allow_none=True)
    me = fields.Dict(allow_none=True, metadata={"description": "a bidder's paddle, my_highest, leading"})
    result = fields.Dict(allow_none=True, metadata={"description": "after close: outcome, winner, reserve_met"})


class BidOut(Schema):
    seq = fields.Integer(required=True)
    type = fields.String()
    id = fields.Integer()
    auction_id = fields.Integer()
    amount = fields.String()
    paddle = fields.String()
    at = fields.String(metadata={"description": "server time of the bid"})
    closes_at = fields.String()
    carried = fields.Boolean()
    mine = fields.Boolean()


class ContinueOut(Schema):
    auction_id = fields.Integer()
    paddle = fields.String()
    continue_requested_at = fields.String()


class EventsOut(Schema):
    auction = fields.Nested(AuctionOut)
    events = fields.List(fields.Dict())
    last_seq = fields.Integer()
    more = fields.Boolean()
    retry_after = fields.Integer(allow_none=True)


@blp.route("/<int:auction_id>")
class AuctionResource(MethodView):
    @blp.response(200, AuctionOut)
    def get(self, auction_id: int) -> Any:
        """The auction's state; a participating bidder also sees its own paddle and standing."""
        caller = require(*VIEWERS)
        return auction_feed.get_auction(platform(), caller, auction_id)


@blp.route("/<int:auction_id>/bids")
class Bids(MethodView):
    @blp.arguments(BidIn)
    @blp.response(201, BidOut)
    def post(self, body: dict[str, Any], auction_id: int) -> Any:
        """Place a bid (qualified bidders); 201 once it is persisted, with its seq and server time."""
        caller = require("bidder")
        return auctions.place_bid(platform(), caller, auction_id, body["amount"]), 201


@blp.route("/<int:auction_id>/continue")
class Continue(MethodView):
    @blp.response(200, ContinueOut)
    def post(self, auction_id: int) -> Any:
        """Listing: a bidder who has quoted asks to continue to an on-site auction at listing close."""
        caller = require("bidder")
        return auctions.request_continue(platform(), caller, auction_id)


@blp.route("/<int:auction_id>/events")
class Events(MethodView):
    @blp.arguments(EventsQuery, location="query")
    @blp.response(200, EventsOut)
    def get(self, query: dict[str, Any], auction_id: int) -> Any:
        """Long poll: the events after seq `after`, waiting up to `wait` seconds (≤ 25) for one."""
        p = platform()
        follower = auction_feed.follower(p, require(*VIEWERS), auction_id)
        result = auction_feed.wait(p, follower, query["after"], query["wait"])
        headers = {"Retry-After": str(result["retry_after"])} if result["retry_after"] else {}
        return result, 200, headers


@blp.route("/<int:auction_id>/stream")
class Stream(MethodView):
    @blp.arguments(StreamQuery, location="query")
    @blp.response(200, description="text/event-stream: bid and closed events (id = seq), state, end")
    def get(self, query: dict[str, Any], auction_id: int) -> Any:
        """Server-sent events of the auction for up to 60 s; reconnect with Last-Event-ID."""
        p = platform()
        follower = auction_feed.follower(p, require(*VIEWERS), auction_id)
        after = query["after"]
        if after is None:
            last_id = request.headers.get("Last-Event-ID", "").strip()
            after = int(last_id) if last_id.isdigit() else 0
        body = auction_feed.stream(p, follower, after, query["seconds"])
        return Response(body, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@by_instance.route("/<instance_id>/auctions")
class InstanceAuctions(MethodView):
    @by_instance.response(200, AuctionOut(many=True))
    def get(self, instance_id: str) -> Any:
        """The auctions of a trade the caller may see, oldest first."""
        caller = require(*VIEWERS)
        return auction_feed.list_auctions(platform(), caller, instance_id)
