"""engine.spiff_quiet: task state changes build SpiffWorkflow's log extras only when its logger emits them."""
from __future__ import annotations

import logging
from typing import Any

import pytest
from SpiffWorkflow import task as spiff_task

from engine import spiff_quiet
from tests.engine.test_runtime import complete, ready, runner


@pytest.fixture
def extras_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the calls of Task.collect_log_extras."""
    calls: list[int] = []
    original = spiff_task.Task.collect_log_extras

    def counted(self: Any, dct: dict[str, Any] | None = None) -> dict[str, Any]:
        calls.append(1)
        return original(self, dct)

    monkeypatch.setattr(spiff_task.Task, "collect_log_extras", counted)
    return calls


def test_installed_for_the_pinned_version() -> None:
    assert spiff_quiet.INSTALLED
    assert spiff_task.Task._set_state is spiff_quiet._set_state


def test_a_step_builds_no_log_extras_while_spiff_does_not_log(
    ctx: Any, extras_built: list[int], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="spiff")
    run = runner("loop_user.bpmn", ctx)
    result = run.start({"done": 0, "finish": False})
    result = complete(run, result, ready(result)[0], {"finish": True})
    assert result.status == "completed"
    assert extras_built == []


def test_state_changes_are_still_logged_with_their_extras_when_enabled(
    ctx: Any, extras_built: list[int], caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger=spiff_task.logger.name):
        run = runner("loop_user.bpmn", ctx)
        run.start({"done": 0, "finish": False})
    changed = [r for r in caplog.records if r.name == spiff_task.logger.name and
               r.getMessage().startswith("State changed to ")]
    assert changed and len(extras_built) >= len(changed)
    assert all(hasattr(r, "task_spec") and hasattr(r, "elapsed") for r in changed)
    assert any(r.getMessage() == "State changed to READY" for r in changed)
