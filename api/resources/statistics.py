"""Trade statistics for supervisors and staff: JSON, or CSV for Excel (format=csv or Accept: text/csv)."""
from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import platform, require
from api.schemas import Open
from services.trading import statistics

blp = Blueprint("statistics", __name__, url_prefix="/api/v1/statistics", description="交易统计")


class TradeStatsQuery(Schema):
    group_by = fields.String(load_default="", validate=validate.Length(max=60),
                             metadata={"description": "category, region, month 的组合，逗号分隔"})
    from_ = fields.String(data_key="from", load_default=None, validate=validate.Length(max=10),
                          metadata={"description": "YYYY-MM-DD 或 YYYY-MM（含）"})
    to = fields.String(load_default=None, validate=validate.Length(max=10),
                       metadata={"description": "YYYY-MM-DD 或 YYYY-MM（含）"})
    category = fields.String(load_default=None, validate=validate.Length(max=40))
    region = fields.String(load_default=None, validate=validate.Regexp(r"^\d{2,6}$"))
    format = fields.String(load_default=None, validate=validate.OneOf(("json", "csv")))


class TradeStatsOut(Open):
    group_by = fields.List(fields.String())
    from_ = fields.String(data_key="from", allow_none=True)
    to = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    scope = fields.String(allow_none=True, metadata={"description": "the caller's region; none: platform-wide"})
    rows = fields.List(fields.Dict())
    total = fields.Dict()


@blp.route("/trades")
class TradeStatistics(MethodView):
    @blp.arguments(TradeStatsQuery, location="query")
    @blp.response(200, TradeStatsOut)
    @blp.alt_response(200, description="CSV（UTF-8 带 BOM）", content_type="text/csv", success=True)
    def get(self, query: dict[str, Any]) -> Any:
        """Trades by category, region and month: counts, amounts, savings, bidders, failure rate (region-scoped)."""
        caller = require(*statistics.READERS)
        stats = statistics.trade_statistics(
            platform(), caller, [query["group_by"]], query["from_"], query["to"], query["category"], query["region"])
        if _wants_csv(query.get("format")):
            return Response(statistics.to_csv(stats), headers={"Content-Disposition": 'attachment; filename="trade-statistics.csv"'},
                            content_type="text/csv; charset=utf-8")
        return stats


def _wants_csv(fmt: str | None) -> bool:
    if fmt:
        return fmt == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv" and request.accept_mimetypes["text/csv"] > request.accept_mimetypes["application/json"]
