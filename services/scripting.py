"""Sandboxed scripts for the engine, with the deadline helpers bound to the platform calendar."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain import statutes
from domain.calendar import WorkingCalendar
from domain.errors import ScriptError
from engine.bpmn import EngineContext
from engine.sandbox import Sandbox

SCRIPT_TIME_LIMIT = 1.0


def engine_context(calendar: Callable[[], WorkingCalendar], now: Callable[[], datetime], tz: ZoneInfo) -> EngineContext:
    """The sandbox with add_days, add_working_days and statute_due, and the platform clock."""
    return EngineContext(scripts=Sandbox(helpers=helpers(calendar, tz), time_limit=SCRIPT_TIME_LIMIT),
                         now=now, tz=tz)


def helpers(calendar: Callable[[], WorkingCalendar], tz: ZoneInfo) -> dict[str, Callable[..., Any]]:
    """Deadline helpers for timer expressions and conditions; they return ISO strings like their input."""

    def add_days(value: Any, n: int) -> str:
        return _shift(value, tz, lambda d: d + timedelta(days=int(n)))

    def add_working_days(value: Any, n: int) -> str:
        return _shift(value, tz, lambda d: calendar().add_working_days(d, int(n)))

    def statute_due(rule_id: str, value: Any) -> str:
        rule = statutes.get_rule(str(rule_id))
        return _shift(value, tz, lambda d: statutes.due(rule, d, calendar()), keep_time=False)

    return {"add_days": add_days, "add_working_days": add_working_days, "statute_due": statute_due}


def static_checker() -> Sandbox:
    """A sandbox used only to check sources at deploy time."""
    return Sandbox(helpers={"add_days": _never, "add_working_days": _never, "statute_due": _never})


def _never(*_args: Any) -> Any:
    raise ScriptError("deploy-time checker does not run helpers")


def _shift(value: Any, tz: ZoneInfo, move: Callable[[date], date], keep_time: bool = True) -> str:
    """Move the date part in the statutory zone; a datetime keeps its time of day, a date stays a date."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=tz)
    elif isinstance(value, date):
        return move(value).isoformat()
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return move(date.fromisoformat(text)).isoformat()
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ScriptError(f"不是有效的日期：{value!r}") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
    else:
        raise ScriptError(f"日期参数类型不正确：{type(value).__name__}")
    local = moment.astimezone(tz)
    moved = move(local.date())
    if not keep_time:
        return moved.isoformat()
    return datetime.combine(moved, local.timetz()).isoformat()
