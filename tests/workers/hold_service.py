"""A service task that holds its step while a file exists, so a test can kill the process inside the step.

Loaded only where GGZY_SERVICE_MODULES names this module (the worker-kill tests' subprocesses and the test
process itself); the step writes `inside-PID` into GGZY_TEST_HOLD_DIR when it starts holding.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from services.service_tasks import ServiceCall, service_task

HOLD_FILE = "hold"
MAX_HOLD_SECONDS = 60.0


@service_task("testing.hold", "测试：暂停步骤")
def hold(call: ServiceCall) -> dict[str, Any]:
    """Wait while HOLD_DIR/hold exists; returns the pid of the process that ran the step."""
    folder = os.environ.get("GGZY_TEST_HOLD_DIR")
    if folder:
        path = Path(folder)
        (path / f"inside-{os.getpid()}").write_text(call.instance.id)
        deadline = time.monotonic() + MAX_HOLD_SECONDS
        while (path / HOLD_FILE).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return {"held_by": os.getpid()}
