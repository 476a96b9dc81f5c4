"""Web sessions die at once (sign-out, password change) even after a cached use; pages carry CSP; no secrets in URLs."""
from __future__ import annotations

from typing import Any

from domain.disclosure import public_data
from services.users import create_user, set_password

API = "/api/v1"
GOOD = "Hangzhou-2026"


def _login(client: Any, username: str) -> dict[str, str]:
    response = client.post(f"{API}/auth/login", json={"username": username, "password": GOOD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_a_password_change_ends_a_web_session_that_was_just_used(client, platform) -> None:
    create_user(platform, "sec.pw", ["staff"], region="330100", password=GOOD)
    web = _login(client, "sec.pw")
    assert client.get(f"{API}/auth/me", headers=web).status_code == 200  # looked up, and formerly cached 10 s
    set_password(platform, "sec.pw", "Xihu-lake-99")  # closes the sessions in the database only
    assert client.get(f"{API}/auth/me", headers=web).status_code == 401


def test_sign_out_ends_the_session_at_once_and_leaves_api_tokens_alone(client, platform, make_user) -> None:
    created = create_user(platform, "sec.out", ["supervisor"], region="330100", password=GOOD)
    web = _login(client, "sec.out")
    api = {"Authorization": f"Bearer {created['token']}"}
    for headers in (web, api):
        assert client.get(f"{API}/alerts", headers=headers).status_code == 200
    assert client.post(f"{API}/auth/logout", headers=web).status_code == 204
    assert client.get(f"{API}/alerts", headers=web).status_code == 401
    assert client.post(f"{API}/auth/logout", headers=web).status_code == 401
    assert client.get(f"{API}/alerts", headers=api).status_code == 200


def test_a_bad_token_is_401_before_the_body_is_read(client) -> None:
    bad = {"Authorization": "Bearer not-a-token"}
    for method, path in (("POST", "/auctions/1/bids"), ("POST", "/property-trades/x1/payments"),
                         ("GET", "/statistics/trades?from=garbage"), ("PUT", "/admin/clock"), ("GET", "/admin/clock")):
        response = client.open(f"{API}{path}", method=method, json={"unexpected": True}, headers=bad)
        assert response.status_code == 401, (method, path, response.status_code)


def test_pages_forbid_framing_and_inline_scripts_and_never_put_credentials_in_urls(client) -> None:
    for path in ("/", "/login", "/inbox", "/dashboard", "/modeler", "/instances/x1", "/bids/x1", "/trades/x1",
                 "/publications/1"):
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp, path
        assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
    page = client.get("/login").get_data(as_text=True)
    # Without its script a form would submit by GET, putting the password or token into the URL and the logs.
    assert 'id="password-form" data-pane="password" method="post"' in page
    assert 'id="token-form" data-pane="token" method="post"' in page


def test_a_sealed_field_is_never_published_even_when_not_marked_confidential() -> None:
    schema = {"type": "object", "properties": {
        "title": {"type": "string"}, "reserve_price": {"type": "number", "x-ggzy-sealed": True},
        "lots": {"type": "array", "items": {"type": "object", "properties": {
            "reserve": {"type": "number", "x-ggzy-sealed": True}, "name": {"type": "string"}}}}}}
    published = public_data(schema, {"title": "公告", "reserve_price": 123, "lots": [{"reserve": 9, "name": "A"}]})
    assert published == {"title": "公告", "lots": [{"name": "A"}]}
