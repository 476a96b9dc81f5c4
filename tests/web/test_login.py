"""Web login: passwords set from the CLI, POST /auth/login sessions beside the API tokens, throttling, sign-out."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from domain import passwords
from domain.errors import Invalid
from ggzy.cli import main
from persistence.models import User
from services import web_sessions
from services.platform import Platform
from services.users import create_user, set_password

API = "/api/v1"
GOOD = "Hangzhou-2026"


@pytest.fixture(autouse=True)
def fresh_throttle(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(web_sessions, "THROTTLE", web_sessions.Throttle())
    yield


@pytest.fixture
def platform(bare_platform: Platform) -> Platform:
    """Logins need no forms or processes."""
    return bare_platform


@pytest.fixture
def ggzy(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `ggzy ARGS...` against the test database with the given stdin."""
    monkeypatch.delenv("GGZY_REDIS_URL", raising=False)

    def run(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), input=stdin, env={"GGZY_DATABASE_URL": db_url},
                                  catch_exceptions=False)

    return run


def login(client: Any, username: str, password: str) -> Any:
    return client.post(f"{API}/auth/login", json={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_password_from_the_cli_opens_a_web_session_beside_the_api_token(
    client: Any, ggzy: Callable[..., Result], platform: Platform,
) -> None:
    created = ggzy("users", "create", "li.si", "--role", "agency", "--region", "330100", "--password-stdin",
                   stdin=f"{GOOD}\n")
    assert created.exit_code == 0, created.output
    api_token = json.loads(created.stdout)["token"]
    with platform.db.sessions() as session:
        stored = session.query(User).filter_by(username="li.si").one().password_hash
    assert stored and stored.startswith("scrypt$") and GOOD not in stored

    response = login(client, "li.si", GOOD)
    assert response.status_code == 200, response.get_json()
    session = response.get_json()
    assert session["username"] == "li.si" and session["roles"] == ["agency"] and session["region"] == "330100"
    assert session["token"] != api_token and session["expires_at"]

    me = client.get(f"{API}/auth/me", headers=bearer(session["token"])).get_json()
    assert me == {"username": "li.si", "roles": ["agency"], "role_names": {"agency": "招标代理/采购代理机构"},
                  "region": "330100", "org": None}
    assert client.get(f"{API}/tasks", headers=bearer(session["token"])).status_code == 200

    # Signing out closes the web session only; the integrator-style API token keeps working.
    assert client.post(f"{API}/auth/logout", headers=bearer(session["token"])).status_code == 204
    refused = client.get(f"{API}/tasks", headers=bearer(session["token"]))
    assert refused.status_code == 401 and refused.get_json()["message"] == "访问令牌无效"
    assert client.get(f"{API}/tasks", headers=bearer(api_token)).status_code == 200
    assert client.post(f"{API}/auth/logout", headers=bearer(api_token)).status_code == 204
    assert client.get(f"{API}/tasks", headers=bearer(api_token)).status_code == 200


def test_every_refusal_is_the_same_chinese_401(client: Any, platform: Platform) -> None:
    create_user(platform, "has_password", ["staff"], password=GOOD)
    create_user(platform, "token_only", ["staff"])  # the CLI's old form: no password, token only
    for username, password in (("has_password", "Wrong-pass-1"), ("token_only", GOOD), ("nobody", GOOD)):
        response = login(client, username, password)
        assert response.status_code == 401, username
        assert response.get_json()["message"] == "用户名或密码错误"
        assert "token" not in response.get_json()
    malformed = client.post(f"{API}/auth/login", json={"username": "has_password"})
    assert malformed.status_code == 400


def test_repeated_failures_are_throttled_per_user_and_address(client: Any, platform: Platform) -> None:
    create_user(platform, "wang.wu", ["staff"], password=GOOD)
    create_user(platform, "zhao.liu", ["staff"], password=GOOD)
    for _ in range(web_sessions.THROTTLE.per_user):
        assert login(client, "wang.wu", "Wrong-pass-1").status_code == 401
    throttled = login(client, "wang.wu", GOOD)  # even the right password waits now
    assert throttled.status_code == 429
    assert throttled.get_json()["message"] == "登录失败次数过多，请 5 分钟后再试"
    assert throttled.headers["Retry-After"] == "300"
    assert login(client, "zhao.liu", GOOD).status_code == 200


def test_changing_a_password_checks_the_policy_and_signs_out_open_sessions(
    client: Any, ggzy: Callable[..., Result], platform: Platform,
) -> None:
    create_user(platform, "qian.qi", ["purchaser"], password=GOOD)
    old = login(client, "qian.qi", GOOD).get_json()["token"]

    weak = ggzy("users", "password", "qian.qi", "--stdin", stdin="12345678\n")
    assert weak.exit_code == 1 and "密码不符合要求" in weak.output
    missing = ggzy("users", "password", "nobody", "--stdin", stdin=f"{GOOD}\n")
    assert missing.exit_code == 1 and "用户 nobody 不存在" in missing.output

    changed = ggzy("users", "password", "qian.qi", "--stdin", stdin="Xihu-lake-99\n")
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.stdout) == {"username": "qian.qi", "sessions_closed": 1}
    assert client.get(f"{API}/auth/me", headers=bearer(old)).status_code == 401
    assert login(client, "qian.qi", GOOD).status_code == 401
    assert login(client, "qian.qi", "Xihu-lake-99").status_code == 200
    with pytest.raises(Invalid):
        set_password(platform, "qian.qi", "short1")


def test_password_hashes_are_salted_scrypt_and_checked_in_constant_time() -> None:
    first, second = passwords.hash_password(GOOD), passwords.hash_password(GOOD)
    assert first != second  # a fresh salt each time
    assert first.split("$")[:4] == ["scrypt", str(passwords.N), str(passwords.R), str(passwords.P)]
    assert passwords.verify_password(GOOD, first) and passwords.verify_password(GOOD, second)
    assert not passwords.verify_password("Hangzhou-2027", first)
    assert not passwords.verify_password(GOOD, None)
    assert not passwords.verify_password(GOOD, "scrypt$x$y$z$bad$bad")
    for weak in ("short1", "abcdefghij", "1234567890", "x" * 300):
        with pytest.raises(Invalid):
            passwords.check_policy(weak)
    passwords.check_policy("密码-Hangzhou-1")
