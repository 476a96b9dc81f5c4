"""Helpers shared by the engine tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
SHANGHAI = ZoneInfo("Asia/Shanghai")


class FakeScripts:
    """Plain eval/exec with a few builtins: enough for test models, never for production."""

    BUILTINS: ClassVar[dict[str, Any]] = {"len": len, "sum": sum, "min": min, "max": max, "sorted": sorted}

    def evaluate(self, expression: str, context: dict[str, Any]) -> Any:
        return eval(expression, {"__builtins__": self.BUILTINS}, dict(context))

    def execute(self, script: str, context: dict[str, Any]) -> dict[str, Any]:
        scope = dict(context)
        exec(script, {"__builtins__": self.BUILTINS}, scope)  # noqa: S102
        return scope


def make_scripts() -> Any:
    """The real sandbox when it imports and works on a trivial script, else the fake
    (set ENGINE_TESTS_FAKE_SCRIPTS=1 to force the fake and tell engine bugs from sandbox bugs)."""
    if os.environ.get("ENGINE_TESTS_FAKE_SCRIPTS"):
        return FakeScripts()
    try:
        from engine.sandbox import Sandbox  # type: ignore[import-not-found]

        sandbox = Sandbox(helpers={}, time_limit=1.0)
        if sandbox.evaluate("i < n", {"i": 1, "n": 2}) is True and sandbox.execute("i = i + 1", {"i": 1})["i"] == 2:
            return sandbox
    except Exception:  # noqa: BLE001 - the sandbox is written concurrently; fall back to the fake
        return FakeScripts()
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


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# ------------------------------------------------------------------ BPMN builders for small models


def model(pid: str, body: str) -> bytes:
    """A BPMN 2.0 file around one executable process body."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="urn:test">'
        f'<bpmn:process id="{pid}" name="{pid}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
    ).encode()


def flows(*pairs: str) -> str:
    """Sequence flows from 'src>dst' strings, ids f0, f1, ..."""
    out = []
    for i, pair in enumerate(pairs):
        src, dst = pair.split(">")
        out.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{src}" targetRef="{dst}"/>')
    return "".join(out)


def user(element_id: str) -> str:
    return f'<bpmn:userTask id="{element_id}" name="{element_id}" camunda:candidateGroups="staff"/>'


def timer(kind: str, text: str) -> str:
    return f"<bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition>"


def catch_timer(kind: str, text: str) -> bytes:
    body = (
        '<bpmn:startEvent id="start"/>'
        f'<bpmn:intermediateCatchEvent id="wait" name="等待">{timer(kind, text)}</bpmn:intermediateCatchEvent>'
        + user("after") + '<bpmn:endEvent id="end"/>'
        + flows("start>wait", "wait>after", "after>end")
    )
    return model("timer_" + kind, body)


def boundary_timer(kind: str, text: str, interrupting: bool) -> bytes:
    cancel = "true" if interrupting else "false"
    body = (
        '<bpmn:startEvent id="start"/>' + user("review") + user("alert")
        + f'<bpmn:boundaryEvent id="bt" name="超时" attachedToRef="review" cancelActivity="{cancel}">'
        + timer(kind, text) + "</bpmn:boundaryEvent>"
        + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_alert"/>'
        + flows("start>review", "review>end", "bt>alert", "alert>end_alert")
    )
    return model("boundary", body)
