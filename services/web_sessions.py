"""Web login: a username and password open a session token that expires; failed attempts are throttled."""
from __future__ import annotations

import logging
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from domain import passwords
from domain.errors import DomainError, Unauthorized
from persistence.models import User
from persistence.models_web import WebSession
from services.platform import Platform
from services.users import hash_token

log = logging.getLogger(__name__)

SESSION_HOURS = 12
BAD_CREDENTIALS = "用户名或密码错误"


class TooManyAttempts(DomainError):
    """429: too many failed logins from this address or for this user; try again later."""

    code = "too_many_requests"


class Throttle:
    """Failed logins in a sliding window, per (username, address) and per address, in this process."""

    def __init__(self, window: float = 300.0, per_user: int = 5, per_address: int = 30) -> None:
        self.window, self.per_user, self.per_address = window, per_user, per_address
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(key, ()) if now - t < self.window]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def blocked(self, username: str, address: str | None) -> bool:
        """True when either key has used up its failures within the window."""
        now = time.monotonic()
        with self._lock:
            return (len(self._recent(f"u:{username.lower()}|{address}", now)) >= self.per_user
                    or len(self._recent(f"a:{address}", now)) >= self.per_address)

    def failed(self, username: str, address: str | None) -> None:
        """Count one failure against both keys."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 100_000:  # bounded memory under a spray of usernames
                self._failures.clear()
            for key in (f"u:{username.lower()}|{address}", f"a:{address}"):
                self._failures.setdefault(key, []).append(now)

    def succeeded(self, username: str, address: str | None) -> None:
        """Forget the user's failures from this address."""
        with self._lock:
            self._failures.pop(f"u:{username.lower()}|{address}", None)


THROTTLE = Throttle()


def login(p: Platform, username: str, password: str, address: str | None) -> dict[str, Any]:
    """Check the password and open a web session: the token, who the user is, when it expires."""
    username = username.strip()
    if THROTTLE.blocked(username, address):
        log.warning("login throttled", extra={"username": username, "client_ip": address})
        raise TooManyAttempts("登录失败次数过多，请 5 分钟后再试")
    # The hash check runs before the write transaction so it holds no lock while scrypt works.
    with p.db.sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        stored = user.password_hash if user is not None else None
    # verify_password does the same work whether or not the user exists or has a password.
    if not passwords.verify_password(password, stored) or user is None or not user.active:
        THROTTLE.failed(username, address)
        log.info("login refused", extra={"username": username, "client_ip": address})
        raise Unauthorized(BAD_CREDENTIALS)
    THROTTLE.succeeded(username, address)
    token = secrets.token_urlsafe(32)
    user_id = user.id

    def use_case(session: Session) -> dict[str, Any]:
        found = session.get(User, user_id)
        if found is None or not found.active:
            raise Unauthorized(BAD_CREDENTIALS)
        # Sessions are a security matter, not trade time: wall-clock, never the platform's fake clock.
        now = datetime.now(UTC)
        expires = now + timedelta(hours=SESSION_HOURS)
        session.execute(delete(WebSession).where(WebSession.user_id == user_id, WebSession.expires_at <= now))
        session.add(WebSession(token_hash=hash_token(token), user_id=user_id, created_at=now, expires_at=expires,
                               client_ip=address))
        return {"token": token, "username": found.username, "roles": sorted(found.roles), "region": found.region,
                "org": found.org, "expires_at": expires.isoformat()}

    out: dict[str, Any] = p.db.run(use_case, retries=0)
    log.info("login", extra={"username": username, "client_ip": address})
    return out


def logout(p: Platform, token: str | None) -> bool:
    """Close the web session of token; an API token is left alone (it is revoked by an administrator)."""
    if not token:
        return False

    def use_case(session: Session) -> bool:
        done = session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))
        return bool(cast(CursorResult[Any], done).rowcount)

    return bool(p.db.run(use_case, retries=0))
