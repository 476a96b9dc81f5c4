"""Task queues, claim/unclaim, completing through the form."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import CHINESE, assert_error, bpmn, flow, task_named, user_task

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"


@pytest.fixture
def loop(api, staff):
    """An instance of loop_user (form loop_step: {finish: boolean}) and its ready task."""
    api.deploy((FIXTURES / "loop_user.bpmn").read_bytes())
    instance = api.start("loop_user", "LOOP-1", staff, {"done": 0, "finish": False})
    return instance, instance["tasks"][0]


@pytest.fixture
def split(api, staff):
    """An instance with one ready task for staff and one for agency."""
    body = "\n".join([
        '<bpmn:startEvent id="start"/>', '<bpmn:parallelGateway id="fork"/>', '<bpmn:parallelGateway id="join"/>',
        user_task("check", "审核", "staff"), user_task("publish", "发布公告", "agency"), '<bpmn:endEvent id="end"/>',
        flow("f1", "start", "fork"), flow("f2", "fork", "check"), flow("f3", "fork", "publish"),
        flow("f4", "check", "join"), flow("f5", "publish", "join"), flow("f6", "join", "end"),
    ])
    api.deploy(bpmn("split_roles", body))
    return api.start("split_roles", "SPLIT-1", staff)


def test_queue_shows_only_the_callers_roles(api, split, staff, make_user):
    check, publish = task_named(split, "审核"), task_named(split, "发布公告")
    assert {t["id"] for t in api.queue(staff)} == {check["id"]}
    agency = make_user("agency", region="330100")
    assert {t["id"] for t in api.queue(agency)} == {publish["id"]}
    both = make_user("staff", "agency", region="330100")
    assert {t["id"] for t in api.queue(both)} == {check["id"], publish["id"]}
    assert {t["id"] for t in api.queue(both, role="agency")} == {publish["id"]}
    assert api.queue(make_user("bidder")) == []
    assert api.queue(make_user("admin")) == []  # admin is not a task role of this process
    # asking for a role one does not hold never shows that role's tasks
    response = api.call("GET", "/tasks", staff, query_string={"role": "agency"})
    assert response.status_code == 403 or response.get_json() == []
    listed = api.queue(staff)[0]
    assert {"id", "instance_id", "process_key", "name", "role", "form_key", "assignee", "created_at",
            "due_at"} <= set(listed)
    assert (listed["process_key"], listed["role"], listed["instance_id"]) == ("split_roles", "staff", split["id"])
    assert api.queue(both, process_key="split_roles") and api.queue(both, process_key="other") == []


def test_assignee_me_after_claim(api, loop, staff, make_user):
    _, task = loop
    assert api.queue(staff, assignee="me") == []
    claimed = api.call("POST", f"/tasks/{task['id']}/claim", staff, 200).get_json()
    assert claimed["assignee"]
    assert [t["id"] for t in api.queue(staff, assignee="me")] == [task["id"]]
    other = make_user("staff", region="330100")
    assert api.queue(other, assignee="me") == []
    assert api.task(task["id"], other)["assignee"] == claimed["assignee"]
    # claiming one's own task again is harmless
    assert api.call("POST", f"/tasks/{task['id']}/claim", staff, 200).get_json()["assignee"] == claimed["assignee"]
    api.call("POST", f"/tasks/{task['id']}/unclaim", staff, 200)
    assert api.queue(staff, assignee="me") == []
    assert api.task(task["id"], staff)["assignee"] is None


def test_claims_of_two_users_conflict(api, loop, staff, make_user):
    instance, task = loop
    other = make_user("staff", region="330100")
    api.call("POST", f"/tasks/{task['id']}/claim", staff, 200)
    assert assert_error(api.call("POST", f"/tasks/{task['id']}/claim", other), 409)["error"] == "conflict"
    assert_error(api.call("POST", f"/tasks/{task['id']}/unclaim", other), 409)
    assert_error(api.complete(task["id"], other, {"finish": True}, expect=None), 409)
    assert api.instance(instance["id"], staff)["status"] == "running"
    assert api.complete(task["id"], staff, {"finish": True})["status"] == "completed"


def test_unclaimed_task_can_be_completed_by_any_holder_of_the_role(api, loop, make_user):
    _, task = loop
    other = make_user("staff", region="330100")
    assert api.complete(task["id"], other, {"finish": True})["status"] == "completed"


def test_invalid_data_is_422_and_changes_nothing(api, loop, staff):
    instance, task = loop
    before = api.events(instance["id"], staff)
    for data in ({"finish": "x"}, {"finish": 1}, {"finish": None}):
        body = assert_error(api.complete(task["id"], staff, data, expect=None), 422)
        assert [e["field"] for e in body["errors"]] == ["/finish"], body
        assert CHINESE.search(body["errors"][0]["message"])
    extra = assert_error(api.complete(task["id"], staff, {"finish": True, "bogus": 1}, expect=None), 422)
    assert [e["field"] for e in extra["errors"]] == ["/bogus"]
    assert api.task(task["id"], staff)["status"] == "ready"
    assert api.events(instance["id"], staff) == before
    after = api.instance(instance["id"], staff)
    assert after["variables"] == {"done": 0, "finish": False}
    assert [t["id"] for t in after["tasks"]] == [task["id"]]


def test_data_that_is_not_an_object_is_refused(api, loop, staff):
    _, task = loop
    response = api.call("POST", f"/tasks/{task['id']}/complete", staff, json={"data": [1, 2]})
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)
    assert api.task(task["id"], staff)["status"] == "ready"


def test_complete_twice_is_409(api, loop, staff):
    instance, task = loop
    after = api.complete(task["id"], staff, {"finish": False})
    assert after["variables"]["done"] == 1
    next_task = after["tasks"][0]
    assert next_task["id"] != task["id"]
    assert assert_error(api.complete(task["id"], staff, {"finish": True}, expect=None), 409)["error"] == "conflict"
    assert api.task(task["id"], staff)["status"] == "completed"
    assert api.instance(instance["id"], staff)["variables"]["done"] == 1
    assert task["id"] in {t["id"] for t in api.queue(staff, status="completed")}
    assert task["id"] not in {t["id"] for t in api.queue(staff)}
    assert_error(api.call("POST", f"/tasks/{task['id']}/claim", staff), 409)


def test_complete_returns_the_instance_at_its_next_wait_state(api, loop, staff):
    instance, task = loop
    first = api.complete(task["id"], staff, {"finish": False})
    assert first["id"] == instance["id"] and first["status"] == "running"
    assert first["variables"] == {"done": 1, "finish": False}
    done = api.complete(first["tasks"][0]["id"], staff, {"finish": True})
    assert done["status"] == "completed" and done["tasks"] == [] and done["variables"]["done"] == 2


def test_get_task_has_form_and_variables(api, loop, staff, make_user):
    instance, task = loop
    body = api.task(task["id"], staff)
    assert body["form_key"] == "loop_step"
    assert body["form"]["type"] == "object" and "finish" in body["form"]["properties"]
    assert body["form"] == api.call("GET", "/forms/loop_step", staff, 200).get_json()["schema"]
    assert body["variables"] == {"done": 0, "finish": False}
    assert body["instance_id"] == instance["id"] and body["status"] == "ready"
    for role in ("bidder", "agency", "supervisor"):
        assert_error(api.task(task["id"], make_user(role), expect=None), 403)
        assert_error(api.complete(task["id"], make_user(role), {"finish": True}, expect=None), 403)
        assert_error(api.call("POST", f"/tasks/{task['id']}/claim", make_user(role)), 403)
