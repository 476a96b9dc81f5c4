"""The fake clock endpoint and statutory timers driven through it."""
from __future__ import annotations

from datetime import datetime, timedelta

from api.app import create_app
from ggzy.config import Config
from services import timers
from services.platform import Platform
from tests.api.conftest import assert_error, bpmn, flow, user_task

NOW = datetime.fromisoformat("2026-06-03T09:00:00+08:00")  # a Wednesday


def set_clock(api, when: datetime, headers=None, expect=200):
    return api.call("PUT", "/admin/clock", api.admin if headers is None else headers, expect, json={"now": when.isoformat()})


def test_admin_moves_the_fake_clock(api, platform):
    body = set_clock(api, NOW).get_json()
    moved = datetime.fromisoformat(body["now"])
    assert abs((moved - NOW).total_seconds()) < 5
    assert abs((platform.clock.now() - NOW).total_seconds()) < 5


def test_clock_is_admin_only(api, make_user, staff):
    assert_error(set_clock(api, NOW, headers=staff, expect=None), 403)
    assert_error(set_clock(api, NOW, headers=make_user("designer"), expect=None), 403)
    assert_error(set_clock(api, NOW, headers={}, expect=None), 401)


def test_clock_needs_an_aware_timestamp(api):
    assert_error(api.call("PUT", "/admin/clock", api.admin, json={"now": "2026-06-03T09:00:00"}), 400)
    assert_error(api.call("PUT", "/admin/clock", api.admin, json={"now": "soon"}), 400)
    assert_error(api.call("PUT", "/admin/clock", api.admin, json={}), 400)


def test_clock_is_404_without_the_fake_clock(db_url, platform, make_user):
    real = Platform.build(Config(database_url=db_url, fake_clock=False))
    try:
        client = create_app(platform=real, start_worker=False).test_client()
        for headers in (make_user("admin"), make_user("staff"), {}):
            response = client.put("/api/v1/admin/clock", json={"now": NOW.isoformat()}, headers=headers)
            assert_error(response, 404)
        # and the real clock did not move
        assert abs((real.clock.now() - datetime.now(NOW.tzinfo)).total_seconds()) < 60
    finally:
        real.dispose()


def objection_process(key: str = "objection_timer") -> str:
    body = "\n".join([
        '<bpmn:startEvent id="start"/>',
        user_task("reply", "答复异议"),
        ('<bpmn:boundaryEvent id="deadline" name="答复期限" attachedToRef="reply" cancelActivity="true" '
         'ggzy:rule="cons.objection_reply"><bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration>'
         "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"),
        user_task("overdue", "逾期处理"),
        '<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end_late"/>',
        flow("f1", "start", "reply"), flow("f2", "reply", "end"),
        flow("f3", "deadline", "overdue"), flow("f4", "overdue", "end_late"),
    ])
    return bpmn(key, body, name="异议答复")


def test_boundary_timer_is_listed_with_rule_and_due_at(api, staff):
    set_clock(api, NOW)
    api.deploy(objection_process())
    instance = api.start("objection_timer", "OBJ-1", staff)
    assert [t["name"] for t in instance["tasks"]] == ["答复异议"]
    [timer] = instance["timers"]
    assert timer["rule"] == "cons.objection_reply"
    assert timer["element_id"] == "deadline"
    delta = datetime.fromisoformat(timer["due_at"]) - NOW
    assert timedelta(hours=2) <= delta < timedelta(hours=2, seconds=30), delta
    assert api.instance(instance["id"], staff)["timers"] == instance["timers"]


def test_timer_fires_after_the_clock_moves(api, staff, platform):
    set_clock(api, NOW)
    api.deploy(objection_process())
    instance = api.start("objection_timer", "OBJ-2", staff)
    reply = instance["tasks"][0]

    assert timers.fire_due(platform)["timers"] == 0  # not due yet
    set_clock(api, NOW + timedelta(hours=1))
    timers.fire_due(platform)
    assert [t["name"] for t in api.instance(instance["id"], staff)["tasks"]] == ["答复异议"]

    set_clock(api, NOW + timedelta(hours=3))
    fired = timers.fire_due(platform)
    assert fired["timers"] >= 1
    after = api.instance(instance["id"], staff)
    assert [t["name"] for t in after["tasks"]] == ["逾期处理"]
    assert after["timers"] == []
    assert api.task(reply["id"], staff)["status"] == "cancelled"
    assert_error(api.complete(reply["id"], staff, expect=None), 409)

    events = api.events(instance["id"], staff)
    fired_events = [e for e in events if e["type"] == "timer.fired"]
    assert len(fired_events) == 1 and fired_events[0]["data"]["rule"] == "cons.objection_reply"
    types = [e["type"] for e in events]
    assert "task.cancelled" in types
    assert types.index("timer.fired") > types.index("timer.scheduled")
    # firing again does nothing
    assert timers.fire_due(platform)["timers"] == 0
    assert len(api.events(instance["id"], staff)) == len(events)

    done = api.complete(after["tasks"][0]["id"], staff)
    assert done["status"] == "completed"


def test_completing_in_time_cancels_the_timer(api, staff, platform):
    set_clock(api, NOW)
    api.deploy(objection_process())
    instance = api.start("objection_timer", "OBJ-3", staff)
    done = api.complete(instance["tasks"][0]["id"], staff)
    assert done["status"] == "completed" and done["timers"] == []
    set_clock(api, NOW + timedelta(hours=3))
    assert timers.fire_due(platform)["timers"] == 0
    types = [e["type"] for e in api.events(instance["id"], staff)]
    assert "timer.cancelled" in types and "timer.fired" not in types


def test_suspended_instance_timer_waits_until_resume(api, staff, platform):
    set_clock(api, NOW)
    api.deploy(objection_process())
    instance = api.start("objection_timer", "OBJ-4", staff)
    path = f"/process-instances/{instance['id']}"
    api.action("suspend", path, staff)
    set_clock(api, NOW + timedelta(hours=3))
    timers.fire_due(platform)
    assert [t["name"] for t in api.instance(instance["id"], staff)["tasks"]] == ["答复异议"]
    api.action("resume", path, staff)
    timers.fire_due(platform)
    assert [t["name"] for t in api.instance(instance["id"], staff)["tasks"]] == ["逾期处理"]


def test_user_task_with_a_max_rule_gets_a_due_date(api, staff):
    set_clock(api, NOW)
    api.deploy(bpmn("rule_task", "\n".join([
        '<bpmn:startEvent id="start"/>', user_task("reply", "答复", attrs='ggzy:rule="cons.objection_reply"'),
        '<bpmn:endEvent id="end"/>', flow("f1", "start", "reply"), flow("f2", "reply", "end")])))
    task = api.start("rule_task", "RULE-1", staff)["tasks"][0]
    assert task["rule"] == "cons.objection_reply"
    # objection received Wed 2026-06-03: + 3 days = Sat 06-06 → Mon 06-08, due at 24:00 of that day
    assert datetime.fromisoformat(task["due_at"]) == datetime.fromisoformat("2026-06-09T00:00:00+08:00")


def test_with_the_embedded_worker_timers_fire_within_2_s_of_the_clock_move(platform, make_user):
    import time

    from tests.api.conftest import Api

    app = create_app(platform=platform, start_worker=True)
    worker = app.extensions["ggzy_scheduler"]
    try:
        api = Api(app.test_client(), make_user)
        staff = make_user("staff", region="330100")
        set_clock(api, NOW)
        api.deploy(objection_process())
        instance = api.start("objection_timer", "OBJ-W", staff)
        assert api.call("GET", "/healthz", {}, 200).get_json()["scheduler"] == "ok"
        set_clock(api, NOW + timedelta(hours=3))
        deadline = time.monotonic() + 2.0
        names: list[str] = []
        while time.monotonic() < deadline:
            names = [t["name"] for t in api.instance(instance["id"], staff)["tasks"]]
            if names == ["逾期处理"]:
                break
            time.sleep(0.05)
        assert names == ["逾期处理"]
    finally:
        worker.stop()


def challenge_reply_process() -> str:
    wait = ('<bpmn:intermediateCatchEvent id="wait" name="答复期满" ggzy:rule="gp.challenge_reply">'
            "<bpmn:timerEventDefinition><bpmn:timeDate>statute_due('gp.challenge_reply', received_on)"
            "</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>")
    return bpmn("challenge_reply_timer", "\n".join([
        '<bpmn:startEvent id="start"/>', wait, user_task("late", "逾期处理"), '<bpmn:endEvent id="end"/>',
        flow("f1", "start", "wait"), flow("f2", "wait", "late"), flow("f3", "late", "end")]))


def test_statute_due_timer_runs_to_24_00_of_the_last_working_day(api, staff, platform):
    set_clock(api, datetime.fromisoformat("2026-09-28T10:00:00+08:00"))
    api.deploy(challenge_reply_process())
    instance = api.start("challenge_reply_timer", "CH-1", staff, {"received_on": "2026-09-28"})
    # 7 工作日 after Mon 09-28 across National Day (10-01..07 off, Sat 10-10 worked) ends Tue 10-13
    assert due(api, staff) == "2026-10-13"
    [timer] = instance["timers"]
    assert timer["rule"] == "gp.challenge_reply"
    assert datetime.fromisoformat(timer["due_at"]) == datetime.fromisoformat("2026-10-14T00:00:00+08:00")

    set_clock(api, datetime.fromisoformat("2026-10-13T23:59:00+08:00"))
    assert timers.fire_due(platform)["timers"] == 0
    assert api.instance(instance["id"], staff)["tasks"] == []
    set_clock(api, datetime.fromisoformat("2026-10-14T00:00:05+08:00"))
    assert timers.fire_due(platform)["timers"] == 1
    assert [t["name"] for t in api.instance(instance["id"], staff)["tasks"]] == ["逾期处理"]


def due(api, staff) -> str:
    return api.call("GET", "/statutes/gp.challenge_reply/due", staff, 200,
                    query_string={"from": "2026-09-28"}).get_json()["due"]


def test_cancel_ends_pending_timers(api, staff, platform):
    set_clock(api, NOW)
    api.deploy(objection_process())
    instance = api.start("objection_timer", "OBJ-C", staff)
    cancelled = api.action("cancel", f"/process-instances/{instance['id']}", staff)
    assert cancelled["status"] == "cancelled" and cancelled["timers"] == [] and cancelled["tasks"] == []
    set_clock(api, NOW + timedelta(hours=3))
    assert timers.fire_due(platform)["timers"] == 0
    types = [e["type"] for e in api.events(instance["id"], staff)]
    assert "timer.cancelled" in types and "timer.fired" not in types and types[-1] == "instance.cancelled"
