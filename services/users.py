"""Users and their bearer tokens (stored as SHA-256 hashes, shown once)."""
from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.access import ROLES, Actor, is_valid_region
from domain.errors import Conflict, Invalid, Unauthorized
from persistence.models import User
from services.platform import Platform

USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def hash_token(token: str) -> str:
    """Tokens are high-entropy, so one SHA-256 is enough and allows a direct lookup."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(p: Platform, username: str, roles: list[str], region: str | None = None,
                org: str | None = None) -> dict[str, Any]:
    """Create a user with roles, region and organisation; return the token once."""
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
    token = secrets.token_urlsafe(32)

    def use_case(session: Session) -> dict[str, Any]:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"用户 {username} 已存在")
        session.add(User(username=username, token_hash=hash_token(token), roles=sorted(set(roles)),
                         region=region, org=org, active=True, created_at=p.clock.now()))
        return {"username": username, "token": token, "roles": sorted(set(roles)), "region": region, "org": org}

    return p.db.run(use_case, retries=0)


def authenticate(session: Session, token: str | None, ip: str | None = None) -> Actor:
    """The actor behind a bearer token, or Unauthorized."""
    if not token:
        raise Unauthorized("缺少访问令牌 (Authorization: Bearer TOKEN)")
    user = session.scalar(select(User).where(User.token_hash == hash_token(token)))
    if user is None or not user.active:
        raise Unauthorized("访问令牌无效")
    return Actor(user.username, frozenset(user.roles), user.region, user.org, ip)
