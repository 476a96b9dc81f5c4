"""Public disclosure (信息公开, no token): published items, trades, the change feed and OCDS 1.1."""
from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import platform
from api.schemas import Open
from domain.disclosure import KINDS
from services import ocds, public

blp = Blueprint("public_disclosure", __name__, url_prefix="/api/v1/public",
                description="信息公开：公告、交易、变更订阅与 OCDS（无需令牌）")

REGION = validate.Regexp(r"^\d{6}$", error="行政区划代码应为 6 位数字")
CATEGORY = validate.Regexp(r"^[A-Z]$", error="交易类别应为一个大写字母")


class PublicationQuery(Schema):
    category = fields.String(validate=CATEGORY, metadata={"description": "G 工程建设, Z/D 政府采购, L 土地, K 矿业权, P 产权"})
    region = fields.String(validate=REGION, metadata={"description": "省级代码包括其下各市县"})
    kind = fields.String(validate=validate.OneOf(list(KINDS)))
    trade_code = fields.String(validate=validate.Length(min=1, max=40))
    from_ = fields.Date(data_key="from", metadata={"description": "发布日期起（含），YYYY-MM-DD"})
    to = fields.Date(metadata={"description": "发布日期止（含），YYYY-MM-DD"})
    status = fields.String(validate=validate.OneOf(list(public.STATUSES)))
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "标题检索"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class FeedQuery(Schema):
    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0),
                            metadata={"description": "上次读到的 feed_seq；0 从头重放"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=public.FEED_MAX))


class ReleasesQuery(Schema):
    ocid = fields.String(validate=validate.Length(min=1, max=80))
    category = fields.String(validate=CATEGORY)
    region = fields.String(validate=REGION)
    since = fields.Integer(validate=validate.Range(min=0), metadata={"description": "只含 feed_seq 大于此值的发布"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class PublicationOut(Open):
    id = fields.Integer(required=True)
    feed_seq = fields.Integer()
    trade_code = fields.String()
    ocid = fields.String()
    kind = fields.String()
    kind_name = fields.String()
    title = fields.String()
    body = fields.String(allow_none=True)
    data = fields.Dict()
    labels = fields.Dict()
    category = fields.String()
    category_name = fields.String()
    region = fields.String()
    process_key = fields.String()
    published_at = fields.String()
    supersedes = fields.Integer(allow_none=True)
    superseded_by = fields.Integer(allow_none=True)
    status = fields.String()


class PublicationPage(Schema):
    items = fields.List(fields.Nested(PublicationOut))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class FeedOut(Schema):
    items = fields.List(fields.Nested(PublicationOut))
    cursor = fields.Integer()
    next_cursor = fields.Integer()
    has_more = fields.Boolean()


class TradeOut(Open):
    trade_code = fields.String(required=True)
    ocid = fields.String()
    category = fields.String()
    category_name = fields.String()
    region = fields.String()
    process_key = fields.String()
    registered_at = fields.String(allow_none=True)
    status = fields.String(allow_none=True, metadata={"description": "running, completed, cancelled, ..."})
    latest_kind = fields.String()
    publications = fields.List(fields.Nested(PublicationOut))


def _base_url() -> str:
    return request.host_url.rstrip("/")


@blp.route("/publications")
class Publications(MethodView):
    @blp.arguments(PublicationQuery, location="query")
    @blp.response(200, PublicationPage)
    @blp.doc(security=[])
    def get(self, query: dict[str, Any]) -> Any:
        """Published items, newest first: by category, region, kind, dates, status (current/superseded), title."""
        return public.list_publications(platform(), query, query.pop("page"), query.pop("per_page"))


@blp.route("/publications/<int:publication_id>")
class PublicationResource(MethodView):
    @blp.response(200, PublicationOut)
    @blp.doc(security=[])
    def get(self, publication_id: int) -> Any:
        """One published item, with what it supersedes and what superseded it."""
        return public.get_publication(platform(), publication_id)


@blp.route("/trades/<trade_code>")
class Trade(MethodView):
    @blp.response(200, TradeOut)
    @blp.doc(security=[])
    def get(self, trade_code: str) -> Any:
        """A trade by its unified trading code, with the timeline of its published items."""
        return public.trade(platform(), trade_code)


@blp.route("/feed")
class Feed(MethodView):
    @blp.arguments(FeedQuery, location="query")
    @blp.response(200, FeedOut)
    @blp.doc(security=[])
    def get(self, query: dict[str, Any]) -> Any:
        """Published items after the cursor in commit order; resume from next_cursor, replay from 0."""
        return public.feed(platform(), query["cursor"], query["limit"])


@blp.route("/ocds/releases")
class OcdsReleases(MethodView):
    @blp.arguments(ReleasesQuery, location="query")
    @blp.response(200)
    @blp.doc(security=[])
    def get(self, query: dict[str, Any]) -> Any:
        """OCDS 1.1 release package: one release per published item, in feed order, paged (links.next)."""
        page, per_page = query.pop("page"), query.pop("per_page")
        return ocds.release_package(platform(), query, page, per_page, _base_url(),
                                    request.query_string.decode("utf-8", "replace"))


@blp.route("/ocds/<ocid>")
class OcdsRecord(MethodView):
    @blp.response(200)
    @blp.doc(security=[])
    def get(self, ocid: str) -> Any:
        """OCDS 1.1 record package of one trade: its releases and the compiled release."""
        return ocds.record_package(platform(), ocid, _base_url())
