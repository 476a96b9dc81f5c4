"""Working-day calendar: the State Council holiday schedule as data, per year."""
from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from domain.errors import CalendarYearUnknown

SOURCE_PACKAGE = "chinese-calendar"
SOURCE_ADMIN = "admin"

_ONE_DAY = timedelta(days=1)


def _as_dates(values: Iterable[date], what: str) -> frozenset[date]:
    """Freeze a collection of plain dates, refusing datetimes."""
    out = frozenset(values)
    for d in out:
        # A datetime is a date subclass but never equals one in a set lookup, so it would silently miss.
        if isinstance(d, datetime) or not isinstance(d, date):
            raise TypeError(f"{what} must hold datetime.date values, got {d!r}")
    return out


@dataclass(frozen=True)
class YearCalendar:
    """One year's published holiday schedule (法定节假日 and 调休 working weekends)."""

    year: int
    # Days off that would otherwise be working days; weekend dates inside a holiday block are harmless.
    holidays: frozenset[date] = field(default_factory=frozenset)
    # Weekend days made working days (调休). The schedule sometimes puts one in the previous December
    # (2018-12-29 for New Year 2019), so dates just outside `year` are accepted and honoured.
    workdays: frozenset[date] = field(default_factory=frozenset)
    source: str = SOURCE_ADMIN

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", _as_dates(self.holidays, "holidays"))
        object.__setattr__(self, "workdays", _as_dates(self.workdays, "workdays"))
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"{self.year}: dates both holiday and workday: {sorted(both)}")


def seed_year(year: int) -> YearCalendar | None:
    """The year's schedule from the chinese_calendar package, or None if it does not cover the year."""
    import chinese_calendar

    try:
        # The dicts hold every known year; probing one date is how the package says a year is covered.
        chinese_calendar.is_holiday(date(year, 1, 1))
    except NotImplementedError:
        return None
    return YearCalendar(
        year=year,
        holidays=frozenset(d for d in chinese_calendar.holidays if d.year == year),
        workdays=frozenset(d for d in chinese_calendar.workdays if d.year == year),
        source=SOURCE_PACKAGE,
    )


def seeded_years() -> dict[int, YearCalendar]:
    """Every year the chinese_calendar package covers, as YearCalendars."""
    import chinese_calendar

    known = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    out: dict[int, YearCalendar] = {}
    for year in sorted(known):
        cal = seed_year(year)
        if cal is not None:
            out[year] = cal
    return out


class WorkingCalendar:
    """Working-day arithmetic over the published years only; an unpublished year is an error."""

    def __init__(self, years: Mapping[int, YearCalendar]) -> None:
        for key, cal in years.items():
            if key != cal.year:
                raise ValueError(f"calendar for {cal.year} filed under {key}")
        self._years: dict[int, YearCalendar] = dict(years)
        # Merged so a 调休 day published with the next year's schedule still counts.
        self._holidays = frozenset().union(*(c.holidays for c in self._years.values()))
        self._workdays = frozenset().union(*(c.workdays for c in self._years.values()))

    @property
    def years(self) -> frozenset[int]:
        """The years whose schedule is known."""
        return frozenset(self._years)

    def year_calendar(self, year: int) -> YearCalendar:
        """The schedule of one year; CalendarYearUnknown if it is not published."""
        try:
            return self._years[year]
        except KeyError:
            raise CalendarYearUnknown(year) from None

    def with_years(self, *calendars: YearCalendar) -> WorkingCalendar:
        """A new calendar with these years added or replaced (admin-published schedules)."""
        return WorkingCalendar({**self._years, **{c.year: c for c in calendars}})

    def is_working_day(self, d: date) -> bool:
        """Mon-Fri and not a holiday, or a make-up working weekend day."""
        _check_date(d)
        if d.year not in self._years:
            raise CalendarYearUnknown(d.year)
        if d in self._workdays:
            return True
        return d.weekday() < 5 and d not in self._holidays

    def add_days(self, d: date, n: int) -> date:
        """D+N in calendar days; needs no holiday schedule, so never raises CalendarYearUnknown."""
        _check_date(d)
        return d + timedelta(days=n)

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after d (d itself not counted); n == 0 returns d unchanged."""
        return self.add_working_days_with_skipped(d, n)[0]

    def add_working_days_with_skipped(self, d: date, n: int) -> tuple[date, list[date]]:
        """The n-th working day after d, and the non-working dates passed over on the way."""
        _check_date(d)
        if n < 0:
            raise ValueError(f"working days must be counted forward, got n={n}")
        if d.year not in self._years:
            # Even n == 0 names a date whose schedule we would be vouching for.
            raise CalendarYearUnknown(d.year)
        skipped: list[date] = []
        current = d
        remaining = n
        while remaining > 0:
            current += _ONE_DAY
            if self.is_working_day(current):
                remaining -= 1
            else:
                skipped.append(current)
        return current, skipped

    def next_working_day_on_or_after(self, d: date) -> date:
        """d if it is a working day, else the first working day after it."""
        current = d
        while not self.is_working_day(current):
            current += _ONE_DAY
        return current


def _check_date(d: object) -> None:
    """Refuse datetimes: the caller must first take the date in Asia/Shanghai."""
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"expected a datetime.date in Asia/Shanghai, got {d!r}")


@functools.cache
def default_calendar() -> WorkingCalendar:
    """The calendar seeded from chinese_calendar for every year it covers (built once)."""
    return WorkingCalendar(seeded_years())
