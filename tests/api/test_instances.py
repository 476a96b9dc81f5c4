"""Process instances: start (idempotent, start form), read, list, region, cancel/suspend/resume."""
from __future__ import annotations

import pytest

from tests.api.conftest import CHINESE, assert_error, chain, one_task, user_task

START_FORM = {
    "type": "object",
    "title": "项目登记",
    "properties": {
        "project_name": {"type": "string", "title": "项目名称", "minLength": 1},
        "budget": {"type": "number", "title": "预算金额", "minimum": 0},
        "method": {"type": "string", "title": "采购方式", "enum": ["公开招标", "邀请招标"]},
    },
    "required": ["project_name", "budget"],
    "additionalProperties": False,
}


@pytest.fixture
def simple(api):
    api.deploy(chain("inst_simple", [("accept", user_task("accept", "受理")),
                                     ("review", user_task("review", "复核"))]))
    return "inst_simple"


def test_start_is_201_with_the_contract_fields(api, simple, staff):
    body = api.start(simple, "BK-1", staff, {"amount": 100})
    assert {"id", "process_key", "version", "business_key", "status", "tasks", "timers"} <= set(body)
    assert (body["process_key"], body["version"], body["business_key"], body["status"]) == (simple, 1, "BK-1",
                                                                                            "running")
    assert [t["name"] for t in body["tasks"]] == ["受理"]
    task = body["tasks"][0]
    assert {"id", "instance_id", "process_key", "name", "role", "form_key", "assignee", "created_at",
            "due_at"} <= set(task)
    assert task["instance_id"] == body["id"] and task["role"] == "staff" and task["assignee"] is None
    assert body["timers"] == []


def test_same_process_and_business_key_returns_the_existing_instance(api, simple, staff):
    first = api.start(simple, "BK-IDEM", staff, {"amount": 1})
    again = api.start(simple, "BK-IDEM", staff, {"amount": 2}, expect=200)
    assert again["id"] == first["id"]
    assert again["variables"] == {"amount": 1}
    assert len(api.instance(first["id"], staff)["tasks"]) == 1  # no second start ran
    # the same business key under another process is another trade
    api.deploy(one_task("inst_other"))
    assert api.start("inst_other", "BK-IDEM", staff)["id"] != first["id"]


def test_start_form_refuses_bad_variables_with_chinese_messages(api, staff):
    api.put_form("inst_start_form", START_FORM)
    api.deploy(chain("inst_with_start_form", [("work", user_task("work", "办理"))],
                     start_attrs='camunda:formKey="inst_start_form"'))
    response = api.start("inst_with_start_form", "SF-1", staff, {"budget": -5, "method": "随便"}, expect=None)
    body = assert_error(response, 422)
    by_field = {e["field"]: e["message"] for e in body["errors"]}
    assert set(by_field) == {"/project_name", "/budget", "/method"}, body["errors"]
    assert all(CHINESE.search(m) for m in by_field.values())
    assert "项目名称" in by_field["/project_name"]
    assert "预算金额" in by_field["/budget"] and "0" in by_field["/budget"]
    # nothing was started
    assert api.call("GET", "/process-instances", staff, 200,
                    query_string={"business_key": "SF-1"}).get_json()["total"] == 0

    wrong_type = api.start("inst_with_start_form", "SF-2", staff, {"project_name": "x", "budget": "多"}, expect=None)
    assert [e["field"] for e in assert_error(wrong_type, 422)["errors"]] == ["/budget"]
    ok = api.start("inst_with_start_form", "SF-3", staff, {"project_name": "道路工程", "budget": 100})
    assert ok["variables"] == {"project_name": "道路工程", "budget": 100}


def test_get_shows_variables_tasks_and_timers(api, simple, staff, make_user):
    started = api.start(simple, "BK-GET", staff, {"project": "学校", "amount": 3})
    body = api.instance(started["id"], staff)
    assert body["variables"] == {"project": "学校", "amount": 3}
    assert [t["name"] for t in body["tasks"]] == ["受理"]
    assert body["timers"] == []
    assert body["status"] == "running"
    assert api.instance(started["id"], make_user("supervisor", region="330000"))["id"] == started["id"]
    # a bidder with no part in the trade may not read it
    assert_error(api.call("GET", f"/process-instances/{started['id']}", make_user("bidder")), 403)


def test_list_with_filters_and_paging(api, simple, staff, make_user):
    api.deploy(one_task("inst_list_other"))
    ids = [api.start(simple, f"LIST-{i}", staff)["id"] for i in range(3)]
    api.start("inst_list_other", "LIST-X", staff)
    api.action("cancel", f"/process-instances/{ids[0]}", staff)

    def page(headers, **query):
        return api.call("GET", "/process-instances", headers, 200, query_string=query).get_json()

    everything = page(staff, process_key=simple)
    assert everything["total"] == 3 and {i["id"] for i in everything["items"]} == set(ids)
    first = page(staff, process_key=simple, per_page=2, page=1)
    second = page(staff, process_key=simple, per_page=2, page=2)
    assert (len(first["items"]), len(second["items"]), first["total"], second["total"]) == (2, 1, 3, 3)
    assert {i["id"] for i in first["items"] + second["items"]} == set(ids)
    assert page(staff, process_key=simple, status="cancelled")["total"] == 1
    assert page(staff, process_key=simple, status="running")["total"] == 2
    assert [i["business_key"] for i in page(staff, business_key="LIST-X")["items"]] == ["LIST-X"]
    assert page(staff, process_key="inst_list_other", business_key="LIST-1")["total"] == 0

    for role in ("supervisor", "integrator"):
        assert page(make_user(role), process_key=simple)["total"] == 3
    for role in ("bidder", "expert", "purchaser", "designer"):
        assert_error(api.call("GET", "/process-instances", make_user(role)), 403)
    assert_error(api.call("GET", "/process-instances", staff, query_string={"status": "bogus"}), 400)
    assert_error(api.call("GET", "/process-instances", staff, query_string={"per_page": 0}), 400)


def test_region_limits_what_staff_see_and_do(api, simple, staff, make_user):
    instance = api.start(simple, "REGION-1", staff)
    assert instance["region"] == "330100"
    task_id = instance["tasks"][0]["id"]
    guangdong = make_user("staff", region="440000")
    ningbo = make_user("staff", region="330200")
    for outsider in (guangdong, ningbo):
        assert_error(api.call("GET", f"/process-instances/{instance['id']}", outsider), 403)
        assert_error(api.call("GET", f"/process-instances/{instance['id']}/events", outsider), 403)
        assert_error(api.task(task_id, outsider, expect=None), 403)
        assert_error(api.call("POST", f"/tasks/{task_id}/claim", outsider), 403)
        assert_error(api.complete(task_id, outsider, expect=None), 403)
        assert_error(api.action("cancel", f"/process-instances/{instance['id']}", outsider, expect=None), 403)
        assert task_id not in {t["id"] for t in api.queue(outsider)}
        assert api.call("GET", "/process-instances", outsider, 200,
                        query_string={"business_key": "REGION-1"}).get_json()["total"] == 0
    assert_error(api.call("GET", f"/process-instances/{instance['id']}", make_user("supervisor", region="440000")),
                 403)
    assert api.instance(instance["id"], staff)["tasks"][0]["status"] == "ready"  # untouched

    zhejiang = make_user("staff", region="330000")
    assert task_id in {t["id"] for t in api.queue(zhejiang)}
    assert api.call("GET", "/process-instances", zhejiang, 200,
                    query_string={"business_key": "REGION-1"}).get_json()["total"] == 1
    assert api.task(task_id, zhejiang)["id"] == task_id
    after = api.complete(task_id, zhejiang)
    assert [t["name"] for t in after["tasks"]] == ["复核"]
    nationwide = make_user("staff")
    assert after["tasks"][0]["id"] in {t["id"] for t in api.queue(nationwide)}


def test_region_of_a_start_must_be_covered(api, simple, staff, make_user):
    assert_error(api.start(simple, "REGION-2", staff, region="440100", expect=None), 403)
    integrator = make_user("integrator")
    started = api.start(simple, "REGION-3", integrator, region="330100")
    assert started["region"] == "330100"
    assert_error(api.start(simple, "REGION-4", integrator, region="33", expect=None), 400)


def test_bidder_cannot_start(api, simple, make_user):
    assert_error(api.start(simple, "BK-BIDDER", make_user("bidder"), expect=None), 403)
    for role in ("purchaser", "agency", "integrator", "admin"):
        assert api.start(simple, f"BK-{role}", make_user(role, region="330100"))["status"] == "running"


def test_suspend_resume_and_wrong_transitions(api, simple, staff):
    instance = api.start(simple, "SUSP-1", staff)
    path = f"/process-instances/{instance['id']}"
    task_id = instance["tasks"][0]["id"]
    assert assert_error(api.action("resume", path, staff, expect=None), 409)["error"] == "conflict"

    assert api.action("suspend", path, staff)["status"] == "suspended"
    assert api.instance(instance["id"], staff)["status"] == "suspended"
    assert_error(api.action("suspend", path, staff, expect=None), 409)
    assert_error(api.complete(task_id, staff, expect=None), 409)
    assert api.task(task_id, staff)["status"] == "ready"

    assert api.action("resume", path, staff)["status"] == "running"
    after = api.complete(task_id, staff)
    assert [t["name"] for t in after["tasks"]] == ["复核"]
    types = [e["type"] for e in api.events(instance["id"], staff)]
    assert types.index("instance.suspended") < types.index("instance.resumed") < types.index("task.completed")


def test_cancel_removes_ready_tasks(api, simple, staff, make_user):
    instance = api.start(simple, "CANCEL-1", staff)
    path = f"/process-instances/{instance['id']}"
    task_id = instance["tasks"][0]["id"]
    assert_error(api.action("cancel", path, make_user("bidder"), expect=None), 403)
    assert_error(api.action("cancel", path, make_user("supervisor"), expect=None), 403)

    cancelled = api.action("cancel", path, staff)
    assert cancelled["status"] == "cancelled"
    assert cancelled["tasks"] == [] and cancelled["timers"] == []
    assert task_id not in {t["id"] for t in api.queue(staff)}
    assert api.task(task_id, staff)["status"] == "cancelled"
    assert_error(api.complete(task_id, staff, expect=None), 409)
    for action in ("cancel", "suspend", "resume"):
        assert_error(api.action(action, path, staff, expect=None), 409)
    types = [e["type"] for e in api.events(instance["id"], staff)]
    assert "task.cancelled" in types and types[-1] == "instance.cancelled"


def test_a_suspended_instance_can_be_cancelled(api, simple, staff):
    instance = api.start(simple, "CANCEL-2", staff)
    path = f"/process-instances/{instance['id']}"
    api.action("suspend", path, staff)
    assert api.action("cancel", path, api.admin)["status"] == "cancelled"
    assert api.instance(instance["id"], staff)["tasks"] == []


def test_completed_instance_refuses_state_changes(api, staff):
    api.deploy(one_task("inst_done"))
    instance = api.start("inst_done", "DONE-1", staff)
    done = api.complete(instance["tasks"][0]["id"], staff)
    assert done["status"] == "completed" and done["tasks"] == []
    for action in ("cancel", "suspend", "resume"):
        assert_error(api.action(action, f"/process-instances/{instance['id']}", staff, expect=None), 409)
