"""The working-day calendar as data: seeded from chinese-calendar, extended by admins per year."""
from __future__ import annotations

import threading
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.calendar import SOURCE_ADMIN, WorkingCalendar, YearCalendar, seeded_years
from domain.errors import BadRequest, Invalid
from persistence.models import CalendarYear
from services.platform import Platform

_cache_lock = threading.Lock()
_cache: tuple[Any, WorkingCalendar] | None = None


def seed(session: Session, now: Any) -> int:
    """Store every year chinese-calendar covers that the table lacks; admin years are never overwritten."""
    present = set(session.scalars(select(CalendarYear.year)))
    added = 0
    for year, cal in seeded_years().items():
        if year in present:
            continue
        session.add(_row(cal, now))
        added += 1
    return added


def load(session: Session) -> WorkingCalendar:
    """The calendar of every published year; cached until a year changes."""
    global _cache
    stamp = session.execute(select(func.count(CalendarYear.year), func.max(CalendarYear.updated_at))).one()
    with _cache_lock:
        if _cache is not None and _cache[0] == tuple(stamp):
            return _cache[1]
    years = {
        row.year: YearCalendar(
            year=row.year,
            holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
            workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
            source=row.source,
        )
        for row in session.scalars(select(CalendarYear))
    }
    calendar = WorkingCalendar(years)
    with _cache_lock:
        _cache = (tuple(stamp), calendar)
    return calendar


class LazyCalendar:
    """The calendar, read from the database only if a rule is actually checked."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._calendar: WorkingCalendar | None = None

    def __getattr__(self, name: str) -> Any:
        if self._calendar is None:
            self._calendar = load(self._session)
        return getattr(self._calendar, name)


def put_year(p: Platform, year: int, holidays: list[str], workdays: list[str]) -> dict[str, Any]:
    """Publish or replace a year's holiday schedule (admin)."""
    if not 1949 <= year <= 2200:
        raise BadRequest(f"年份不合法：{year}")
    parsed = {"holidays": _dates(holidays, year, "holidays"), "workdays": _dates(workdays, year, "workdays")}
    for d in parsed["workdays"]:
        if d.weekday() < 5:
            raise Invalid("调休上班日必须是周末", [{"field": "workdays", "message": f"{d} 不是周六或周日"}])
    cal = YearCalendar(
        year=year, holidays=frozenset(parsed["holidays"]), workdays=frozenset(parsed["workdays"]),
        source=SOURCE_ADMIN,
    )

    def use_case(session: Session) -> dict[str, Any]:
        row = session.get(CalendarYear, year)
        now = p.clock.now()
        if row is None:
            session.add(_row(cal, now))
        else:
            row.holidays = sorted(d.isoformat() for d in cal.holidays)
            row.workdays = sorted(d.isoformat() for d in cal.workdays)
            row.source = SOURCE_ADMIN
            row.updated_at = now
        return year_to_dict(cal)

    return p.db.run(use_case)


def working_days(p: Platform, start: date, add: int) -> dict[str, Any]:
    """N working days after start, with the rest days skipped on the way."""
    if add < 0 or add > 3660:
        raise BadRequest("add 必须是 0 到 3660 之间的整数")
    with p.db.sessions() as session:
        cal = load(session)
    result, skipped = cal.add_working_days_with_skipped(start, add)
    return {"start": start.isoformat(), "add": add, "result": result.isoformat(),
            "skipped": [d.isoformat() for d in skipped]}


def year_to_dict(cal: YearCalendar) -> dict[str, Any]:
    """A year's schedule as JSON."""
    return {
        "year": cal.year,
        "holidays": sorted(d.isoformat() for d in cal.holidays),
        "workdays": sorted(d.isoformat() for d in cal.workdays),
        "source": cal.source,
    }


def _row(cal: YearCalendar, now: Any) -> CalendarYear:
    return CalendarYear(
        year=cal.year,
        holidays=sorted(d.isoformat() for d in cal.holidays),
        workdays=sorted(d.isoformat() for d in cal.workdays),
        source=cal.source,
        updated_at=now,
    )


def _dates(values: Any, year: int, field: str) -> list[date]:
    if not isinstance(values, list):
        raise BadRequest(f"{field} 必须是日期数组")
    out = []
    for value in values:
        try:
            d = date.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise Invalid("日期格式不正确", [{"field": field, "message": f"{value!r} 不是 YYYY-MM-DD"}]) from exc
        # December make-up days for next year's New Year sit in the previous year (as 2018-12-29 did).
        if d.year not in (year, year - 1):
            raise Invalid("日期不属于该年度", [{"field": field, "message": f"{d} 不在 {year} 年"}])
        out.append(d)
    return out
