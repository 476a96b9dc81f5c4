"""The Flask application factory."""
from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

from flask import Flask
from flask_smorest import Api

from api import errors, request_ids, resources
from api.auth import authenticate_first
from ggzy.config import Config
from services import bootstrap
from services.platform import Platform
from web import bp as web_pages

log = logging.getLogger(__name__)


def create_app(config: Config | None = None, platform: Platform | None = None, start_worker: bool = True) -> Flask:
    """Build the app: API blueprints, OpenAPI at /api/v1/openapi.json, JSON errors, the timer worker."""
    config = config or (platform.config if platform else Config.from_env())
    platform = platform or Platform.build(config)
    bootstrap.warm_up()  # before the first request, not inside whichever requests come first
    app = Flask("ggzy")
    app.config.update(
        API_TITLE="ggzy 公共资源交易平台 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]  # forms keep their designer's field order
    app.extensions["ggzy"] = platform
    api = Api(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}]})
    for blueprint in _blueprints():
        api.register_blueprint(blueprint)
    app.register_blueprint(web_pages)
    request_ids.register(app)  # first: even a 401 carries the request's id
    # Authenticate before flask-smorest parses arguments: an anonymous caller gets 401, never a 400 or 422.
    app.before_request(authenticate_first)
    errors.register(app)
    if start_worker:
        app.extensions["ggzy_scheduler"] = _scheduler(platform)
    return app


def _blueprints() -> list[Any]:
    """Every `blp` (and `extra_blueprints`) of the modules in api/resources, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(resources.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"api.resources.{info.name}")
        found.extend([getattr(module, "blp", None), *getattr(module, "extra_blueprints", ())])
    return [b for b in found if b is not None]


def _scheduler(platform: Platform) -> Any:
    if platform.config.redis_url:
        from workers.health import CeleryHealth

        return CeleryHealth(platform.config.redis_url)
    from workers.embedded import EmbeddedTimerWorker

    worker = EmbeddedTimerWorker(platform)
    worker.start()
    return worker
