"""Every /api/v1 route, except the public ones, refuses a request without a token with 401."""
from __future__ import annotations

import re

PUBLIC = re.compile(r"^/api/v1/(public/|openapi\.json$|auth/login$|statutes)")
ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")


def _path(rule: str) -> str:
    """A concrete path for a rule: 1 for int converters, a plausible word for the others."""
    return ARGUMENT.sub(lambda m: "1" if m.group(1) == "int" else "x1", rule)


def test_every_private_api_route_refuses_a_request_without_a_token(app, client):
    checked, refused = 0, []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or PUBLIC.match(rule.rule):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(_path(rule.rule), method=method, json={})
            checked += 1
            if response.status_code != 401:
                refused.append(f"{method} {rule.rule} -> {response.status_code}")
    assert checked > 60, checked  # the walk reached the whole API, not an empty map
    assert not refused, "\n".join(refused)


def test_a_bad_token_is_refused_like_no_token(app, client):
    bad = {"Authorization": "Bearer not-a-token"}
    for path in ("/api/v1/auctions/1", "/api/v1/alerts", "/api/v1/statistics/trades", "/api/v1/deadlines/overdue",
                 "/api/v1/property-trades/x1/payment-plan", "/api/v1/auth/me"):
        assert client.get(path, headers=bad).status_code == 401, path
