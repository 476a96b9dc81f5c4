"""X-Request-Id: every answer carries the caller's id (when well-formed) or a new one; conflicts log it."""
from __future__ import annotations

import logging
from pathlib import Path

from tests.api.conftest import API, assert_error

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"


def test_a_well_formed_id_comes_back_on_success_and_on_errors(client, staff):
    for headers, status in (({**staff}, 200), ({}, 401), ({**staff, "Authorization": "Bearer wrong"}, 401)):
        response = client.get(f"{API}/tasks", headers={**headers, "X-Request-Id": "client-7:req.42"})
        assert response.status_code == status
        assert response.headers["X-Request-Id"] == "client-7:req.42"


def test_without_an_id_or_with_a_malformed_one_the_server_makes_one(client, staff):
    made = set()
    for given in (None, "", "has space", "x" * 129, "quote\"d", "中文"):
        headers = {**staff} if given is None else {**staff, "X-Request-Id": given}
        response = client.get(f"{API}/tasks", headers=headers)
        assert response.status_code == 200
        made.add(response.headers["X-Request-Id"])
    assert len(made) == 6 and all(len(m) == 32 and int(m, 16) >= 0 for m in made)


def test_a_conflict_is_logged_with_its_request_id(api, staff, caplog):
    api.deploy((FIXTURES / "loop_user.bpmn").read_bytes())
    task = api.start("loop_user", "LOOP-ID", staff, {"done": 0, "finish": False})["tasks"][0]
    api.complete(task["id"], staff, {"finish": False})
    with caplog.at_level(logging.INFO, logger="api"):
        response = api.call("POST", f"/tasks/{task['id']}/complete", {**staff, "X-Request-Id": "retry-1"},
                            json={"data": {"finish": True}})
    assert_error(response, 409)
    assert response.headers["X-Request-Id"] == "retry-1"
    logged = [r.getMessage() for r in caplog.records if r.name == "api.errors"]
    assert len(logged) == 1 and "request_id=retry-1" in logged[0] and f"/tasks/{task['id']}/complete" in logged[0]
