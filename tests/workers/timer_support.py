"""Helpers for the timer worker tests: an instance waiting on a PT1H timer, and polling."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain.access import SYSTEM, Actor
from services import definitions, instances
from services.platform import Platform

BPMN = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
STAFF = Actor(username="s", roles=frozenset({"staff"}))


def start_timer_instance(p: Platform, business_key: str = "T-1") -> str:
    """Deploy timer_simple.bpmn and start one instance; it waits on its PT1H timer."""
    definitions.deploy_bytes(p, (BPMN / "timer_simple.bpmn").read_bytes(), SYSTEM)
    view, created = instances.start(p, STAFF, "timer_simple", business_key, {})
    assert created and view["status"] == "running"
    assert [t["element_id"] for t in view["timers"]] == ["wait"]
    assert view["tasks"] == []
    return str(view["id"])


def timer_fired(p: Platform, instance_id: str) -> bool:
    """True once the timer is gone and the review task is ready."""
    view = instances.get(p, STAFF, instance_id)
    return not view["timers"] and [t["element_id"] for t in view["tasks"]] == ["review"]


def wait_until(check: Callable[[], Any], timeout: float, step: float = 0.05) -> float:
    """Poll check() until it is true; return the seconds it took, or fail after timeout."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(step)
