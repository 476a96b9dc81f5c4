"""Web login: a username and password open a session token; who am I; sign out."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import actor, forget, platform
from api.errors import body
from api.schemas import Open
from domain.access import ROLES
from services import web_sessions

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录")


class LoginIn(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class SessionOut(Open):
    token = fields.String(required=True)
    username = fields.String(required=True)
    roles = fields.List(fields.String())
    region = fields.String(allow_none=True)
    org = fields.String(allow_none=True)
    expires_at = fields.String()


class MeOut(Open):
    username = fields.String(required=True)
    roles = fields.List(fields.String())
    role_names = fields.Dict()
    region = fields.String(allow_none=True)
    org = fields.String(allow_none=True)


@blp.errorhandler(web_sessions.TooManyAttempts)
def throttled(exc: web_sessions.TooManyAttempts) -> Any:
    """429 in the contract's error document."""
    response = jsonify(body(exc.code, exc.message, exc.errors))
    response.status_code = 429
    response.headers["Retry-After"] = "300"
    return response


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


@blp.route("/login")
class Login(MethodView):
    @blp.doc(security=[])
    @blp.arguments(LoginIn)
    @blp.response(200, SessionOut)
    @blp.alt_response(401, description="wrong username or password (one message for both)")
    @blp.alt_response(429, description="too many failed attempts; retry after 5 minutes")
    def post(self, credentials: dict[str, Any]) -> Any:
        """Sign in with username and password; returns a bearer token valid for 12 hours."""
        return web_sessions.login(platform(), credentials["username"], credentials["password"],
                                  request.remote_addr)


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeOut)
    def get(self) -> Any:
        """The caller: username, roles (with their Chinese names), region and organisation."""
        caller = actor()
        roles = sorted(caller.roles)
        return {"username": caller.username, "roles": roles, "role_names": {r: ROLES.get(r, r) for r in roles},
                "region": caller.region, "org": caller.org}


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self) -> Any:
        """Close the caller's web session (an API token stays valid)."""
        actor()
        token = _bearer()
        web_sessions.logout(platform(), token)
        if token:
            forget(token)
        return None
