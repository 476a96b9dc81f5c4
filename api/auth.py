"""Bearer-token authentication and role checks at the HTTP edge."""
from __future__ import annotations

import re
import threading
import time
from dataclasses import replace

from flask import current_app, g, request

from domain.access import Actor
from domain.errors import Forbidden
from services.users import hash_token, identify

# The only /api/v1 routes open without a token (CONTRACT.md); statutes' /due needs one.
PUBLIC_API = re.compile(r"^/api/v1/(public/|openapi\.json$|auth/login$|statutes(/[^/]+)?/?$)")


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
    key = hash_token(token) if token else None
    cached_actor = _TOKENS.get(key) if key else None
    if cached_actor is not None:
        g.actor = replace(cached_actor, ip=request.remote_addr)
        return g.actor
    with platform().db.sessions() as session:
        g.actor, long_lived = identify(session, token, request.remote_addr)
    # Only API tokens are cached: a web session must die at once on sign-out or a password change, in
    # every process, so its token is looked up each time (two indexed reads).
    if key and long_lived:
        _TOKENS.put(key, g.actor)
    return g.actor


def authenticate_first() -> None:
    """Before any other work, refuse an API request without a valid token (401) unless its route is public."""
    path = request.path
    if request.method == "OPTIONS" or not path.startswith("/api/v1/") or PUBLIC_API.match(path):
        return
    if path.rstrip("/") == "/api/v1/admin/clock" and not platform().config.fake_clock:
        return  # CONTRACT.md: without the fake clock the route does not exist, 404 for everyone
    actor()


class _TokenCache:
    """Actors by token hash for a few seconds: saves a database round trip on every request."""

    TTL = 10.0

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Actor]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Actor | None:
        with self._lock:
            entry = self._entries.get(token)
        if entry is None or time.monotonic() - entry[0] > self.TTL:
            return None
        return entry[1]

    def drop(self, token: str) -> None:
        with self._lock:
            self._entries.pop(token, None)

    def put(self, token: str, found: Actor) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[token] = (time.monotonic(), found)


_TOKENS = _TokenCache()


def forget(token: str) -> None:
    """Drop a token from the cache at once (sign-out), instead of after its few seconds."""
    _TOKENS.drop(hash_token(token))


def require(*roles: str) -> Actor:
    """The caller, who must hold one of the roles."""
    caller = actor()
    if roles and not caller.has(*roles):
        raise Forbidden(f"需要以下角色之一：{', '.join(roles)}")
    return caller
