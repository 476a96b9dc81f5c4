"""Bearer-token authentication and role checks at the HTTP edge."""
from __future__ import annotations

from flask import current_app, g, request

from domain.access import Actor
from domain.errors import Forbidden
from services.users import authenticate


def platform():  # type: ignore[no-untyped-def]
    """The Platform the app was built with."""
    return current_app.extensions["ggzy"]


def actor() -> Actor:
    """The caller, authenticated once per request."""
    cached = g.get("actor")
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    with platform().db.sessions() as session:
        g.actor = authenticate(session, token, request.remote_addr)
    return g.actor


def require(*roles: str) -> Actor:
    """The caller, who must hold one of the roles."""
    caller = actor()
    if roles and not caller.has(*roles):
        raise Forbidden(f"需要以下角色之一：{', '.join(roles)}")
    return caller
