"""Concurrent completions on PostgreSQL: each task completes exactly once and the audit chain holds."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from services import audit
from services.platform import Platform
from services.users import create_user
from tests.api.conftest import bpmn, flow, one_task, user_task


@pytest.fixture(params=[pytest.param("pg", marks=pytest.mark.postgres), "backend"])
def width(request: pytest.FixtureRequest) -> int:
    """50 threads on PostgreSQL; 12 on the backend under test (SQLite serializes writers at BEGIN)."""
    return 50 if request.param == "pg" else 12


@pytest.fixture
def pg_platform(request: pytest.FixtureRequest, width: int) -> Iterator[Platform]:
    """A platform built as the `platform` fixture builds one (fake clock, seeded, forms deployed), on pg_url
    for 50 threads: 50 concurrent steps on one instance outnumber the 30-connection pool, so any second
    connection a locked step asks for would stall them all (see test_connections.py).
    """
    from ggzy.config import Config
    from services import bootstrap, steps

    url = request.getfixturevalue("pg_url" if width == 50 else "db_url")
    steps.clear_cache()
    p = Platform.build(Config(database_url=url, fake_clock=True))
    bootstrap.load_data(p)
    yield p
    p.dispose()


@pytest.fixture
def pg_app(pg_platform: Platform) -> Any:
    return create_app(platform=pg_platform, start_worker=False)


def headers(p: Platform, name: str, *roles: str) -> dict[str, str]:
    token = create_user(p, name, list(roles), region="330100")["token"]
    return {"Authorization": f"Bearer {token}"}


def fan_out(key: str, width: int) -> str:
    """start → parallel split → `width` user tasks → parallel join → end."""
    tasks = [user_task(f"t{i}", f"会签{i:02d}") for i in range(width)]
    flows = [flow("f_in", "start", "split"), flow("f_out", "join", "end")]
    for i in range(width):
        flows += [flow(f"a{i}", "split", f"t{i}"), flow(f"b{i}", f"t{i}", "join")]
    body = "\n".join(['<bpmn:startEvent id="start"/>', '<bpmn:parallelGateway id="split"/>', *tasks,
                      '<bpmn:parallelGateway id="join"/>', '<bpmn:endEvent id="end"/>', *flows])
    return bpmn(key, body, name="五十人会签")


def in_parallel(app: Any, calls: list[tuple[str, dict[str, str], dict[str, Any]]]) -> list[Any]:
    """POST every (path, headers, json) at once, one thread and one test client each; (status, body) per call."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def work(i: int, path: str, hdrs: dict[str, str], body: dict[str, Any]) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            response = client.post(path, json=body, headers=hdrs)
            results[i] = (response.status_code, response.get_json())
        except Exception as exc:  # noqa: BLE001 - a crash must show as a result, not vanish in the thread
            results[i] = (None, repr(exc))

    threads = [threading.Thread(target=work, args=(i, *call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "a completion hung"
    return results


def deploy(app: Any, p: Platform, xml: str) -> None:
    designer = headers(p, "designer_c", "designer")
    response = app.test_client().post("/api/v1/process-definitions", data=xml.encode(),
                                      content_type="application/xml", headers=designer)
    assert response.status_code == 201, response.get_json()


def test_fifty_parallel_tasks_completed_from_fifty_threads(pg_app, pg_platform, width):
    deploy(pg_app, pg_platform, fan_out("fan_out_50", width))
    staff = headers(pg_platform, "staff_c", "staff")
    client = pg_app.test_client()
    started = client.post("/api/v1/process-instances", headers=staff,
                          json={"process_key": "fan_out_50", "business_key": "FAN-1", "variables": {}})
    assert started.status_code == 201, started.get_json()
    instance = started.get_json()
    assert len(instance["tasks"]) == width

    results = in_parallel(pg_app, [(f"/api/v1/tasks/{t['id']}/complete", staff, {"data": {}})
                                   for t in instance["tasks"]])
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: width}, [r for r in results if r[0] != 200][:3]

    final = client.get(f"/api/v1/process-instances/{instance['id']}", headers=staff).get_json()
    assert final["status"] == "completed" and final["tasks"] == []
    events = client.get(f"/api/v1/process-instances/{instance['id']}/events", headers=staff).get_json()
    completed = [e["data"]["task_id"] for e in events if e["type"] == "task.completed"]
    assert sorted(completed) == sorted(t["id"] for t in instance["tasks"])
    assert [e["type"] for e in events].count("instance.completed") == 1
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    with pg_platform.db.sessions() as session:
        checked, broken = audit.verify(session, instance["id"])
    assert broken is None and checked == len(events)


def test_fifty_threads_completing_the_same_task(pg_app, pg_platform, width):
    deploy(pg_app, pg_platform, one_task("same_task"))
    staff = headers(pg_platform, "staff_s", "staff")
    client = pg_app.test_client()
    instance = client.post("/api/v1/process-instances", headers=staff,
                           json={"process_key": "same_task", "business_key": "SAME-1"}).get_json()
    task_id = instance["tasks"][0]["id"]

    results = in_parallel(pg_app, [(f"/api/v1/tasks/{task_id}/complete", staff, {"data": {}})] * width)
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 409: width - 1}, dict(statuses)
    assert all(body["error"] == "conflict" for status, body in results if status == 409)

    events = client.get(f"/api/v1/process-instances/{instance['id']}/events", headers=staff).get_json()
    assert [e["type"] for e in events].count("task.completed") == 1
    assert [e["type"] for e in events].count("instance.completed") == 1
    with pg_platform.db.sessions() as session:
        assert audit.verify(session, instance["id"])[1] is None


def test_fifty_threads_claiming_the_same_task(pg_app, pg_platform, width):
    deploy(pg_app, pg_platform, one_task("same_claim"))
    users = [headers(pg_platform, f"staff_claim{i}", "staff") for i in range(width)]
    instance = pg_app.test_client().post("/api/v1/process-instances", headers=users[0],
                                         json={"process_key": "same_claim", "business_key": "CLAIM-1"}).get_json()
    task_id = instance["tasks"][0]["id"]
    results = in_parallel(pg_app, [(f"/api/v1/tasks/{task_id}/claim", h, {}) for h in users])
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 409: width - 1}, dict(statuses)
    winner = next(body["assignee"] for status, body in results if status == 200)
    task = pg_app.test_client().get(f"/api/v1/tasks/{task_id}", headers=users[0]).get_json()
    assert task["assignee"] == winner


def test_fifty_threads_starting_the_same_business_key(pg_app, pg_platform, width):
    deploy(pg_app, pg_platform, one_task("same_start"))
    staff = headers(pg_platform, "staff_start", "staff")
    body = {"process_key": "same_start", "business_key": "START-1", "variables": {}}
    results = in_parallel(pg_app, [("/api/v1/process-instances", staff, body)] * width)
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 200: width - 1}, statuses
    assert len({b["id"] for _, b in results}) == 1
