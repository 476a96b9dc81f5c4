"""SpiffWorkflow 3.2.0 builds a log record's extras on every task state change, logged or not.

`Task._set_state` evaluates `collect_log_extras()` (a dict of nine fields, the state's name, the parent's id)
as the argument of `logger.info`/`logger.debug` before the logger decides to drop the record; with the
platform's default log level that is all thrown away, eight times in a timer's step. This replaces the method
with the same state change that builds the extras only for a logger that will emit them. Installed once, on
import of engine.bpmn; pinned to the version it was read from (pyproject.toml pins SpiffWorkflow==3.2.0).
"""
from __future__ import annotations

import logging
import time
from importlib.metadata import version
from typing import Any

from SpiffWorkflow import task as spiff_task
from SpiffWorkflow.util.task import TaskState

PATCHED_VERSION = "3.2.0"


def _set_state(self: Any, value: int) -> None:
    """Force the task's state (as SpiffWorkflow's own), logging as it does when its logger is enabled."""
    logger = spiff_task.logger
    if value != self.state:
        now = time.time()
        elapsed = now - self.last_state_change
        self.last_state_change = now
        self._state = value
        if logger.isEnabledFor(logging.INFO):
            logger.info(f"State changed to {TaskState.get_name(value)}",
                        extra=self.collect_log_extras({"elapsed": elapsed}))
    elif logger.isEnabledFor(logging.DEBUG):
        logger.debug(f"State set to {TaskState.get_name(value)}", extra=self.collect_log_extras())


def install() -> bool:
    """Replace Task._set_state when the installed SpiffWorkflow is the version this was written for."""
    if version("SpiffWorkflow") != PATCHED_VERSION:
        return False
    spiff_task.Task._set_state = _set_state  # type: ignore[method-assign]
    return True


INSTALLED = install()
