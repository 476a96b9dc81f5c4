"""Operations: health and the fake clock."""
from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from api.auth import platform, require
from api.schemas import ClockIn, ClockOut
from domain.errors import NotFound

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="运维")
health = Blueprint("health", __name__, description="健康检查")
extra_blueprints = (health,)


@blp.route("/clock")
class Clock(MethodView):
    @blp.arguments(ClockIn)
    @blp.response(200, ClockOut)
    def put(self, body: dict[str, Any]) -> Any:
        """Move the platform clock (only with GGZY_FAKE_CLOCK=1); timers due by then fire within 2 s."""
        p = platform()
        if not p.config.fake_clock:
            raise NotFound("资源不存在")
        require("admin")
        now = p.clock.set(body["now"])
        scheduler = current_app.extensions.get("ggzy_scheduler")
        if scheduler is not None:
            scheduler.wake()
        return {"now": now.isoformat()}

    @blp.response(200, ClockOut)
    def get(self) -> Any:
        """The platform clock."""
        p = platform()
        if not p.config.fake_clock:
            raise NotFound("资源不存在")
        return {"now": p.clock.now().isoformat()}


@health.route("/healthz")
class Health(MethodView):
    @health.response(200)
    def get(self) -> Any:
        """Database and timer scheduler status."""
        p = platform()
        try:
            with p.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            db = "ok"
        except Exception as exc:  # noqa: BLE001 - health must report, not raise
            db = f"error: {exc.__class__.__name__}"
        scheduler = current_app.extensions.get("ggzy_scheduler")
        state = scheduler.health() if scheduler is not None else "not running in this process"
        status = 200 if db == "ok" else 503
        return jsonify({"db": db, "scheduler": state}), status
