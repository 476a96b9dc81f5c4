"""The `ggzy` command line through click's CliRunner, on the backend under test."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, pool, text

from ggzy.cli import main
from services.platform import Platform
from tests.workers.timer_support import BPMN, start_timer_instance

XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:test">
  <bpmn:process id="xxe" isExecutable="true"><bpmn:startEvent id="start" name="&xxe;"/></bpmn:process>
</bpmn:definitions>
"""

NO_ROLE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:test">
  <bpmn:process id="no_role" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:userTask id="orphan_task" name="无人认领"/><bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="orphan_task"/>
    <bpmn:sequenceFlow id="f2" sourceRef="orphan_task" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


@pytest.fixture
def ggzy(db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `ggzy ARGS...` against the test database; returns click's Result."""
    monkeypatch.delenv("GGZY_REDIS_URL", raising=False)
    runner = CliRunner()

    def run(*args: str, **env: str) -> Result:
        return runner.invoke(main, list(args), env={"GGZY_DATABASE_URL": db_url, **env}, catch_exceptions=False)

    return run


def test_help_lists_every_command(ggzy) -> None:  # type: ignore[no-untyped-def]
    result = ggzy("--help")
    assert result.exit_code == 0
    for command in ("init", "serve", "worker", "deploy", "users", "audit", "timers"):
        assert command in result.stdout


def test_users_create_prints_one_json_line_with_a_token(ggzy) -> None:  # type: ignore[no-untyped-def]
    result = ggzy("users", "create", "zhang.san", "--role", "staff", "--role", "supervisor", "--region", "330100")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    user = json.loads(lines[0])
    assert user["username"] == "zhang.san"
    assert len(user["token"]) >= 32
    assert user["roles"] == ["staff", "supervisor"]
    assert user["region"] == "330100"


def test_users_create_refuses_an_unknown_role_plainly(ggzy) -> None:  # type: ignore[no-untyped-def]
    result = ggzy("users", "create", "li.si", "--role", "wizard")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "角色不合法" in result.stderr and "wizard" in result.stderr
    assert "Traceback" not in result.output


def test_users_create_refuses_a_duplicate(ggzy) -> None:  # type: ignore[no-untyped-def]
    assert ggzy("users", "create", "wang", "--role", "admin").exit_code == 0
    again = ggzy("users", "create", "wang", "--role", "admin")
    assert again.exit_code == 1
    assert "已存在" in again.stderr


def test_deploy_prints_key_and_version_and_the_same_bytes_keep_it(ggzy) -> None:  # type: ignore[no-untyped-def]
    path = str(BPMN / "loop_script.bpmn")
    first = ggzy("deploy", path)
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "loop_script 1"
    again = ggzy("deploy", path)
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == "loop_script 1 (unchanged)"


def test_deploy_refuses_an_xxe_file_and_goes_on_with_the_others(ggzy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    xxe = tmp_path / "xxe.bpmn"
    xxe.write_bytes(XXE)
    result = ggzy("deploy", str(xxe), str(BPMN / "loop_script.bpmn"))
    assert result.exit_code == 1
    assert result.stdout.strip() == "loop_script 1"
    assert str(xxe) in result.stderr and "DOCTYPE" in result.stderr
    assert "root:" not in result.output
    assert "Traceback" not in result.output


def test_deploy_names_the_element_of_each_error(ggzy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "no_role.bpmn"
    bad.write_bytes(NO_ROLE)
    result = ggzy("deploy", str(bad))
    assert result.exit_code == 1
    assert "orphan_task: " in result.stderr


def test_audit_verify_passes_then_names_the_tampered_seq(ggzy, db_url: str) -> None:  # type: ignore[no-untyped-def]
    empty = ggzy("audit", "verify")
    assert empty.exit_code == 0
    assert empty.stdout.strip() == "ok: 0 events verified"

    assert ggzy("deploy", str(BPMN / "loop_script.bpmn")).exit_code == 0
    assert ggzy("deploy", str(BPMN / "timer_simple.bpmn")).exit_code == 0
    clean = ggzy("audit", "verify")
    assert clean.exit_code == 0
    assert clean.stdout.strip() == "ok: 2 events verified"

    engine = create_engine(db_url, poolclass=pool.NullPool)
    with engine.begin() as connection:
        changed = connection.execute(text(
            "UPDATE events SET type = 'definition.withdrawn' WHERE instance_id = 'platform' AND seq = 2"))
        assert changed.rowcount == 1
    engine.dispose()

    broken = ggzy("audit", "verify")
    assert broken.exit_code == 1
    assert "instance platform seq 2" in broken.stdout
    assert "篡改" in broken.stdout
    assert ggzy("audit", "verify", "some-other-instance").exit_code == 0


def test_timers_fire_runs_one_scan(ggzy, platform: Platform) -> None:  # type: ignore[no-untyped-def]
    start_timer_instance(platform)
    assert ggzy("timers", "fire", GGZY_FAKE_CLOCK="1").stdout.strip() == "fired 0 timers in 0 instances"
    platform.clock.set(platform.clock.now() + timedelta(hours=2))
    result = ggzy("timers", "fire", GGZY_FAKE_CLOCK="1")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "fired 1 timers in 1 instances"


def test_worker_needs_redis(ggzy) -> None:  # type: ignore[no-untyped-def]
    result = ggzy("worker")
    assert result.exit_code == 2
    assert "GGZY_REDIS_URL" in result.stderr


def test_init_deploys_the_shipped_processes(ggzy) -> None:  # type: ignore[no-untyped-def]
    result = ggzy("init")
    assert result.exit_code == 0, result.output
    assert "calendar years added:" in result.stdout
    assert "processes:" in result.stdout
    again = ggzy("init")
    assert again.exit_code == 0, again.output
    assert "calendar years added: 0" in again.stdout
