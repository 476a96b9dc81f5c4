"""Every error as JSON: domain errors by type, HTTP errors by code, anything else as a logged 500."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from api import request_ids
from domain.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    StatuteViolation,
    Unauthorized,
)

log = logging.getLogger(__name__)

STATUS = [
    (StatuteViolation, 422), (Invalid, 422), (NotFound, 404), (Conflict, 409), (Forbidden, 403),
    (Unauthorized, 401), (BadRequest, 400),
]


def body(code: str, message: str, errors: Any = None, **extra: Any) -> dict[str, Any]:
    """The error document of CONTRACT.md."""
    return {"error": code, "message": message, "errors": errors, **extra}


def register(app: Flask) -> None:
    """Install the handlers (after flask-smorest's, so ours win)."""

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        status = next((s for cls, s in STATUS if isinstance(exc, cls)), 422)
        extra = {"rule": exc.rule, "citation": exc.citation} if isinstance(exc, StatuteViolation) else {}
        response = jsonify(body(exc.code, exc.message, exc.errors, **extra))
        if status == 409:  # rare, and the first thing to look up when a client reports one
            log.info("conflict %s %s request_id=%s: %s", request.method, request.path, request_ids.current(),
                     exc.message)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="ggzy"'
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        errors = None
        data = getattr(exc, "data", None)  # webargs puts marshmallow messages here
        if isinstance(data, dict) and "messages" in data:
            errors = data["messages"]
            status = 400  # a request that does not fit the endpoint's schema is malformed
        message = {400: "请求格式不正确", 404: "资源不存在", 405: "不支持该请求方法", 413: "请求体过大",
                   415: "不支持的内容类型"}.get(status, exc.description or exc.name)
        code = "bad_request" if status == 400 else exc.name.lower().replace(" ", "_")
        return jsonify(body(code, message, errors)), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error (request_id=%s)", request_ids.current(), extra={"error": repr(exc)})
        return jsonify(body("internal_error", "服务器内部错误，请联系管理员")), 500
