"""A process killed inside a step leaves the instance as it was, and the step is retried elsewhere, once.

Real processes on PostgreSQL (and Redis for Celery): the step is held open deterministically by the
`testing.hold` service (tests/workers/hold_service.py) until the test has killed the process with SIGKILL.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import func, select

from domain.access import SYSTEM
from ggzy.config import ROOT
from persistence.models import Event, ProcessInstance, Task, Timer
from services import definitions, instances
from services.platform import Platform
from services.users import create_user
from tests.workers import hold_service
from tests.workers.server_support import free_port, healthy, listeners, process
from tests.workers.test_celery import REDIS_URL, celery_client, redis_db  # noqa: F401 - fixtures
from tests.workers.timer_support import STAFF, wait_until

pytestmark = pytest.mark.postgres

TIMER_THEN_HOLD = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:ggzy="urn:ggzy:bpmn" id="d" targetNamespace="urn:test">
  <bpmn:process id="kill_timer" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait" name="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="slow" name="slow" ggzy:service="testing.hold"/>
    <bpmn:userTask id="review" name="review" camunda:candidateGroups="staff"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="slow"/>
    <bpmn:sequenceFlow id="f3" sourceRef="slow" targetRef="review"/>
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""

TASK_THEN_HOLD = TIMER_THEN_HOLD.replace(b"kill_timer", b"kill_task").replace(
    b"""<bpmn:intermediateCatchEvent id="wait" name="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>""",
    b"""<bpmn:userTask id="wait" name="first" camunda:candidateGroups="staff"/>""")


def _env(db_url: str, hold_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GGZY_REDIS_URL"}
    return {**env, "PYTHONPATH": str(ROOT), "GGZY_DATABASE_URL": db_url, "GGZY_FAKE_CLOCK": "1",
            "GGZY_SERVICE_MODULES": hold_service.__name__, "GGZY_TEST_HOLD_DIR": str(hold_dir), **extra}


def snapshot(p: Platform, instance_id: str) -> dict[str, Any]:
    """Everything a step writes about an instance."""
    with p.db.sessions() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return {
            "lock_version": row.lock_version, "state": row.state, "variables": row.variables, "status": row.status,
            "event_seq": row.event_seq,
            "events": session.scalar(select(func.count()).select_from(Event).where(Event.instance_id == instance_id)),
            "timers": sorted(session.execute(select(Timer.element_id, Timer.status).where(
                Timer.instance_id == instance_id)).all()),
            "tasks": sorted(session.execute(select(Task.element_id, Task.status).where(
                Task.instance_id == instance_id)).all()),
        }


def inside(hold_dir: Path) -> list[int]:
    """Pids of the processes that entered the held step."""
    return [int(f.name.split("-", 1)[1]) for f in hold_dir.glob("inside-*")]


def count_events(p: Platform, instance_id: str, type_: str) -> int:
    with p.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Event).where(
            Event.instance_id == instance_id, Event.type == type_)) or 0)


@pytest.mark.redis
def test_celery_worker_killed_inside_a_timer_step_then_another_fires_it_once(
    db_url: str, platform: Platform, celery_client: Celery, redis_db: redis.Redis, tmp_path: Path,  # noqa: F811
) -> None:
    definitions.deploy_bytes(platform, TIMER_THEN_HOLD, SYSTEM)
    instance_id = instances.start(platform, STAFF, "kill_timer", "K-1", {})[0]["id"]
    hold_dir = tmp_path / "hold"
    hold_dir.mkdir()
    (hold_dir / hold_service.HOLD_FILE).touch()
    env = _env(db_url, hold_dir, GGZY_REDIS_URL=REDIS_URL)
    worker = ["worker", "--pool", "solo", "--loglevel", "info"]
    before = snapshot(platform, instance_id)
    assert before["timers"] == [("wait", "pending")]

    with process([*worker, "--hostname", "first@%h"], env, tmp_path / "first.log") as first:
        assert celery_client.send_task("ggzy.ping").get(timeout=30) == "pong"
        platform.clock.set(platform.clock.now() + timedelta(hours=2))
        wait_until(lambda: first.pid in inside(hold_dir), timeout=10)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    # The killed step's transaction died with its connection: nothing of it is visible, the lock is free.
    after_kill = snapshot(platform, instance_id)
    assert after_kill == before

    (hold_dir / hold_service.HOLD_FILE).unlink()
    with process([*worker, "--hostname", "second@%h"], env, tmp_path / "second.log") as second:
        wait_until(lambda: ("review", "ready") in snapshot(platform, instance_id)["tasks"], timeout=20)
        time.sleep(1.5)  # three more scans, and the killed worker's message is still unacknowledged
        done = snapshot(platform, instance_id)
        assert second.poll() is None
    assert done["timers"] == [("wait", "fired")]
    assert done["lock_version"] == before["lock_version"] + 1
    assert done["variables"]["held_by"] == second.pid
    assert count_events(platform, instance_id, "timer.fired") == 1
    assert count_events(platform, instance_id, "task.created") == 1


@pytest.mark.redis
def test_two_celery_workers_fire_every_timer_exactly_once(
    db_url: str, platform: Platform, celery_client: Celery, redis_db: redis.Redis, tmp_path: Path,  # noqa: F811
) -> None:
    definitions.deploy_bytes(platform, TIMER_THEN_HOLD, SYSTEM)
    ids = [instances.start(platform, STAFF, "kill_timer", f"T-{n}", {})[0]["id"] for n in range(40)]
    env = _env(db_url, tmp_path, GGZY_REDIS_URL=REDIS_URL)
    worker = ["worker", "--no-beat", "--pool", "solo", "--loglevel", "info"]
    with process([*worker, "--hostname", "a@%h"], env, tmp_path / "a.log") as a, \
            process([*worker, "--hostname", "b@%h"], env, tmp_path / "b.log") as b, \
            process(["beat"], env, tmp_path / "beat.log"):
        for _ in range(2):
            assert celery_client.send_task("ggzy.ping").get(timeout=30) == "pong"
        platform.clock.set(platform.clock.now() + timedelta(hours=2))

        def all_fired() -> bool:
            with platform.db.sessions() as session:
                return session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "pending")) == 0

        wait_until(all_fired, timeout=30)
        time.sleep(1.0)  # four more scans: none may fire anything again
    fired_by = {}
    for instance_id in ids:
        assert count_events(platform, instance_id, "timer.fired") == 1
        fired_by[instance_id] = snapshot(platform, instance_id)["variables"]["held_by"]
    assert set(fired_by.values()) <= {a.pid, b.pid}


def _request(port: int, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None,
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def test_gunicorn_worker_killed_mid_request_writes_nothing(
    db_url: str, platform: Platform, tmp_path: Path,
) -> None:
    definitions.deploy_bytes(platform, TASK_THEN_HOLD, SYSTEM)
    instance_id = instances.start(platform, STAFF, "kill_task", "K-2", {})[0]["id"]
    token = create_user(platform, "kill.staff", ["staff"])["token"]
    hold_dir = tmp_path / "hold"
    hold_dir.mkdir()
    (hold_dir / hold_service.HOLD_FILE).touch()
    port = free_port()
    env = _env(db_url, hold_dir, GGZY_PORT=str(port))
    before = snapshot(platform, instance_id)
    [task_id] = [t["id"] for t in instances.get(platform, STAFF, instance_id)["tasks"]]

    with process(["serve", "--workers", "2"], env, tmp_path / "api.log") as server:
        # Both workers ready (a worker listens once its app is built): the retry below finds the other one.
        wait_until(lambda: healthy(port) and len(listeners(port)) == 2, timeout=60, step=0.2)
        outcome: list[Any] = []

        def complete() -> None:
            try:
                outcome.append(_request(port, "POST", f"/api/v1/tasks/{task_id}/complete", token, {"data": {}}))
            except (OSError, http.client.HTTPException) as exc:
                outcome.append(exc)

        client = threading.Thread(target=complete)
        client.start()
        wait_until(lambda: inside(hold_dir), timeout=15)
        [victim] = inside(hold_dir)
        assert victim != server.pid
        os.kill(victim, signal.SIGKILL)
        client.join(timeout=30)
        assert len(outcome) == 1 and isinstance(outcome[0], (OSError, http.client.HTTPException)), outcome
        assert snapshot(platform, instance_id) == before

        # The master replaces the worker; the client's retry completes the task once.
        (hold_dir / hold_service.HOLD_FILE).unlink()
        status, view = _request(port, "POST", f"/api/v1/tasks/{task_id}/complete", token, {"data": {}})
        assert status == 200, view
        assert [t["element_id"] for t in view["tasks"]] == ["review"]
        assert _request(port, "POST", f"/api/v1/tasks/{task_id}/complete", token, {"data": {}})[0] == 409
    done = snapshot(platform, instance_id)
    assert done["lock_version"] == before["lock_version"] + 1
    assert done["variables"]["held_by"] != victim
    assert count_events(platform, instance_id, "task.completed") == 1
