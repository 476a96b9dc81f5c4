"""Request ids: every response carries X-Request-Id, the caller's own (when well-formed) or a new one.

An integrator that sends its own id can match each answer to its request, and find it in our logs: the
id is logged with every conflict (409) and every unexpected error (500)."""
from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-Id"
# Printable, without spaces or quotes, so it can be logged and echoed as it came.
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


def current() -> str | None:
    """The id of the request being served (None outside a request)."""
    return g.get("request_id")


def register(app: Flask) -> None:
    """Install the hooks; call before any other before_request hook, so that every answer carries the id."""

    @app.before_request
    def take_id() -> None:
        given = request.headers.get(HEADER, "")
        g.request_id = given if _WELL_FORMED.match(given) else uuid.uuid4().hex

    @app.after_request
    def echo_id(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers[HEADER] = request_id
        return response
