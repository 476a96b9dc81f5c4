"""Shared helpers for engine tests: a settable clock, a script runner, fixture loading."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
SHANGHAI = ZoneInfo("Asia/Shanghai")


class FakeScripts:
    """Plain eval/exec with no builtins: enough for test models, never for production."""

    BUILTINS = {"len": len, "sum": sum, "min": min, "max": max, "sorted": sorted}

    def evaluate(self, expression: str, context: dict[str, Any]) -> Any:
        return eval(expression, {"__builtins__": self.BUILTINS}, dict(context))  # noqa: S307

    def execute(self, script: str, context: dict[str, Any]) -> dict[str, Any]:
        scope = dict(context)
        exec(script, {"__builtins__": self.BUILTINS}, scope)  # noqa: S102
        return scope


def make_scripts() -> Any:
    """The real sandbox when it imports and works on a trivial script, else the fake."""
    try:
        from engine.sandbox import Sandbox  # type: ignore[import-not-found]

        sandbox = Sandbox(helpers={}, time_limit=1.0)
        if sandbox.evaluate("i < n", {"i": 1, "n": 2}) is True and sandbox.execute("i = i + 1", {"i": 1})["i"] == 2:
            return sandbox
    except Exception:  # noqa: BLE001 - the sandbox is written concurrently; fall back to the fake
        pass
    return FakeScripts()


class Clock:
    """A fake platform clock: `clock()` is the now() callable; move it with `advance`/`set`."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current = self.current + timedelta(**delta)
        return self.current

    def set(self, value: datetime) -> None:
        self.current = value


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc))  # 09:00 in Shanghai, a Monday


@pytest.fixture(scope="session")
def scripts() -> Any:
    return make_scripts()


@pytest.fixture
def ctx(scripts: Any, clock: Clock) -> Any:
    from engine.bpmn import EngineContext

    return EngineContext(scripts, clock, SHANGHAI)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
