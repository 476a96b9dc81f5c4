"""Authentication, roles and the JSON error document of every failure."""
from __future__ import annotations

from tests.api.conftest import API, assert_error, one_task


def test_no_token_is_401_json_with_www_authenticate(client):
    for path in ("/tasks", "/process-definitions", "/process-instances", "/forms/loop_step",
                 "/calendar/working-days?start=2026-06-01&add=1"):
        response = client.get(API + path)
        body = assert_error(response, 401)
        assert body["error"] == "unauthorized"
        assert response.headers.get("WWW-Authenticate", "").lower().startswith("bearer"), path


def test_bad_or_malformed_token_is_401(client, make_user):
    make_user("staff")  # a real user exists; a guessed token still fails
    for header in ("Bearer not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "token-without-scheme"):
        response = client.get(f"{API}/tasks", headers={"Authorization": header})
        assert_error(response, 401)
        assert "WWW-Authenticate" in response.headers


def test_valid_token_is_accepted(client, make_user):
    response = client.get(f"{API}/tasks", headers=make_user("bidder"))
    assert response.status_code == 200
    assert response.get_json() == []


def test_wrong_role_is_403(api, make_user):
    bidder = make_user("bidder")
    response = api.deploy(one_task("bidder_deploy"), expect=None, headers=bidder)
    body = assert_error(response, 403)
    assert body["error"] == "forbidden"
    # nothing was deployed
    assert_error(api.call("GET", "/process-definitions/bidder_deploy", bidder), 404)
    for role in ("staff", "purchaser", "expert", "supervisor", "integrator"):
        assert_error(api.deploy(one_task("x_deploy"), expect=None, headers=make_user(role)), 403)


def test_unknown_route_is_404_json_not_html(client, make_user):
    for path in (f"{API}/no-such-thing", "/no-such-page-at-all", f"{API}/tasks/a/b/c"):
        response = client.get(path, headers=make_user("staff"))
        body = assert_error(response, 404)
        assert "<html" not in response.get_data(as_text=True).lower()
        assert body["error"] == "not_found"


def test_unknown_ids_are_404(api, staff):
    assert_error(api.call("GET", "/process-instances/00000000-0000-0000-0000-000000000000", staff), 404)
    assert_error(api.call("GET", "/tasks/00000000-0000-0000-0000-000000000000", staff), 404)
    assert_error(api.call("POST", "/tasks/nope/complete", staff, json={"data": {}}), 404)
    assert_error(api.call("GET", "/process-definitions/nope", staff), 404)
    assert_error(api.call("GET", "/process-definitions/nope/xml", staff), 404)
    assert_error(api.call("GET", "/forms/nope", staff), 404)
    assert_error(api.start("nope", "B-404", staff, expect=None), 404)


def test_wrong_method_is_405_json(client, make_user):
    headers = make_user("admin")
    for method, path in (("DELETE", "/process-definitions"), ("PUT", "/tasks"), ("GET", "/tasks/x/complete"),
                         ("PATCH", "/statutes")):
        response = client.open(API + path, method=method, headers=headers)
        assert_error(response, 405)


def test_malformed_json_body_is_400(client, make_user, staff):
    headers = {**staff, "Content-Type": "application/json"}
    response = client.post(f"{API}/process-instances", data="{bad json", headers=headers)
    assert assert_error(response, 400)["error"] == "bad_request"
    response = client.post(f"{API}/tasks/whatever/complete", data="[1, 2", headers=headers)
    assert_error(response, 400)
    admin = {**make_user("admin"), "Content-Type": "application/json"}
    assert_error(client.put(f"{API}/admin/clock", data="{", headers=admin), 400)
    assert_error(client.put(f"{API}/forms/broken", data="{", headers={**make_user("designer"),
                                                                      "Content-Type": "application/json"}), 400)


def test_body_that_misses_the_schema_is_400(client, staff):
    response = client.post(f"{API}/process-instances", json={"business_key": 3}, headers=staff)
    body = assert_error(response, 400)
    assert body["errors"], body


def test_public_reference_needs_no_token(client):
    assert client.get(f"{API}/statutes").status_code == 200
    assert client.get(f"{API}/statutes/cons.bid_period").status_code == 200
    assert client.get(f"{API}/openapi.json").status_code == 200
    assert client.get("/healthz").get_json()["db"] == "ok"


def test_openapi_documents_every_contract_endpoint(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    for path in ("/api/v1/process-definitions", "/api/v1/process-definitions/{key}",
                 "/api/v1/process-definitions/{key}/xml", "/api/v1/process-instances",
                 "/api/v1/process-instances/{instance_id}", "/api/v1/process-instances/{instance_id}/events",
                 "/api/v1/process-instances/{instance_id}/cancel", "/api/v1/tasks", "/api/v1/tasks/{task_id}",
                 "/api/v1/tasks/{task_id}/complete", "/api/v1/forms/{key}", "/api/v1/calendar/working-days",
                 "/api/v1/calendar/{year}", "/api/v1/statutes", "/api/v1/statutes/{rule_id}/due",
                 "/api/v1/admin/clock"):
        assert path in paths, path
