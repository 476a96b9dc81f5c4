"""The web pages (Chinese UI): Jinja shells whose ES modules call the REST API; bpmn-js served from npm."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, send_from_directory
from flask.typing import ResponseReturnValue

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
# Only bpmn-js's browser bundles and their assets leave node_modules; nothing else in there is served.
VENDOR = {"bpmn-js": NODE_MODULES / "bpmn-js" / "dist"}

# Scripts only from this server (no inline code); bpmn-js sets inline styles and uses data: images and fonts.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")


@bp.app_context_processor
def _page_context() -> dict[str, Any]:
    """Every page knows the platform clock (fake in tests) and zone, to mark overdue dates correctly."""
    platform = current_app.extensions["ggzy"]
    now = platform.clock.now().astimezone(platform.tz)
    offset = now.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 480
    return {"platform_now": now.isoformat(), "tz_offset_minutes": minutes}


def _page(template: str, title: str, **context: Any) -> ResponseReturnValue:
    response = current_app.make_response(render_template(template, title=title, **context))
    # The pages hold no data of their own (the API does), but a token lives in their storage: no framing.
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def portal() -> ResponseReturnValue:
    """The public portal: announcements and results by category and region, search."""
    return _page("portal.html", "交易信息公开")


@bp.get("/publications/<publication_id>")
def publication(publication_id: str) -> ResponseReturnValue:
    """One published announcement or result."""
    return _page("publication.html", "公告详情", publication_id=publication_id)


@bp.get("/trades/<trade_code>")
def trade(trade_code: str) -> ResponseReturnValue:
    """A trade's page: its unified code and the timeline of what was published."""
    return _page("trade.html", "交易项目", trade_code=trade_code)


@bp.get("/login")
def login() -> ResponseReturnValue:
    """Sign in with username and password, or with an API token."""
    return _page("login.html", "登录")


@bp.get("/inbox")
def inbox() -> ResponseReturnValue:
    """My tasks and my roles' queue, with the selected task's form, history and documents."""
    return _page("inbox.html", "待办任务")


@bp.get("/instances/<instance_id>")
def instance(instance_id: str) -> ResponseReturnValue:
    """A running instance: its diagram with the current steps highlighted, history and documents."""
    return _page("instance.html", "流程实例", instance_id=instance_id)


@bp.get("/bids/<instance_id>")
def bids(instance_id: str) -> ResponseReturnValue:
    """A bidder's sealed bid for a trade: encrypted in the browser, uploaded with progress, receipts."""
    return _page("bids.html", "递交投标文件", instance_id=instance_id)


@bp.get("/auctions")
def auctions() -> ResponseReturnValue:
    """The auctions of a trade (?instance=) that the signed-in user may follow or bid in."""
    return _page("auctions.html", "网络竞价")


@bp.get("/auctions/<int:auction_id>")
def auction(auction_id: int) -> ResponseReturnValue:
    """The live auction: price, countdown, my paddle and standing, bid history, the bid form, the result."""
    return _page("auction.html", "竞价大厅", auction_id=auction_id)


@bp.get("/modeler")
def modeler() -> ResponseReturnValue:
    """The BPMN modeler for process designers: open, edit, validate, deploy."""
    return _page("modeler.html", "流程建模")


@bp.get("/dashboard")
def dashboard() -> ResponseReturnValue:
    """The supervisor's dashboard: alerts, overdue deadlines, statistics."""
    return _page("dashboard.html", "监管看板")


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str) -> ResponseReturnValue:
    """A file of an npm package's browser distribution (web/node_modules, installed by `make`)."""
    root = VENDOR.get(package)
    if root is None or not root.is_dir():
        abort(404)
    return send_from_directory(root, filename, max_age=3600)
