"""Users and their bearer tokens (stored as SHA-256 hashes, shown once)."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from domain import passwords
from domain.access import ROLES, SYSTEM, Actor, is_valid_region
from domain.errors import Conflict, Invalid, NotFound, Unauthorized
from persistence.models import User
from persistence.models_web import WebSession
from services import audit
from services.platform import Platform

USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def hash_token(token: str) -> str:
    """Tokens are high-entropy, so one SHA-256 is enough and allows a direct lookup."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(p: Platform, username: str, roles: list[str], region: str | None = None,
                org: str | None = None, password: str | None = None) -> dict[str, Any]:
    """Create a user with roles, region, organisation and optionally a password; return the token once."""
    username = username.strip()
    if not re.fullmatch(r"[\w.@\-]{1,100}", username):
        raise Invalid("用户名不合法", [{"field": "username", "message": "1-100 个字母、数字或 . @ - _"}])
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise Invalid("角色不合法", [{"field": "role", "message": f"未知角色：{', '.join(unknown) or '（空）'}；"
                                                              f"可用：{', '.join(ROLES)}"}])
    if region is not None and not is_valid_region(region):
        raise Invalid("行政区划代码不合法", [{"field": "region", "message": "应为 6 位数字，如 330100"}])
    if org is not None and not USCC.match(org):
        raise Invalid("统一社会信用代码不合法", [{"field": "org", "message": "应为 18 位统一社会信用代码"}])
    if password is not None:
        passwords.check_policy(password)
    password_hash = passwords.hash_password(password) if password is not None else None
    token = secrets.token_urlsafe(32)

    def use_case(session: Session) -> dict[str, Any]:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"用户 {username} 已存在")
        session.add(User(username=username, token_hash=hash_token(token), roles=sorted(set(roles)),
                         region=region, org=org, active=True, created_at=p.clock.now(),
                         password_hash=password_hash))
        return {"username": username, "token": token, "roles": sorted(set(roles)), "region": region, "org": org}

    return p.db.run(use_case, retries=0)


def authenticate(session: Session, token: str | None, ip: str | None = None) -> Actor:
    """The actor behind a bearer token, or Unauthorized."""
    return identify(session, token, ip)[0]


def identify(session: Session, token: str | None, ip: str | None = None) -> tuple[Actor, bool]:
    """The actor behind a bearer token and whether the token is a long-lived API token (not a web session)."""
    if not token:
        raise Unauthorized("缺少访问令牌 (Authorization: Bearer TOKEN)")
    hashed = hash_token(token)
    user = session.scalar(select(User).where(User.token_hash == hashed))
    api_token = user is not None
    if user is None:
        # Not an API token: perhaps a web session opened by password login; expiry is wall-clock time.
        user = session.scalar(select(User).join(WebSession, WebSession.user_id == User.id).where(
            WebSession.token_hash == hashed, WebSession.expires_at > datetime.now(UTC)))
    if user is None or not user.active:
        raise Unauthorized("访问令牌无效")
    return Actor(user.username, frozenset(user.roles), user.region, user.org, ip), api_token


def set_password(p: Platform, username: str, password: str, actor: Actor | None = None) -> dict[str, Any]:
    """Set or change a user's web login password; signs out the user's open web sessions."""
    passwords.check_policy(password)
    password_hash = passwords.hash_password(password)  # outside the transaction: it takes tens of ms

    def use_case(session: Session) -> dict[str, Any]:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None:
            raise NotFound(f"用户 {username} 不存在")
        user.password_hash = password_hash
        closed = cast(CursorResult[Any], session.execute(delete(WebSession).where(WebSession.user_id == user.id))).rowcount
        audit.append(session, audit.PLATFORM_CHAIN, "user.password_set", actor or SYSTEM, p.clock.now(),
                     {"username": user.username, "sessions_closed": closed})
        return {"username": user.username, "sessions_closed": closed}

    return p.db.run(use_case, retries=0)
