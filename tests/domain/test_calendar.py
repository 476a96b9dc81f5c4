"""Working-day calendar against the State Council schedules for 2025 and 2026."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar
import pytest

from domain.calendar import (
    SOURCE_ADMIN,
    SOURCE_PACKAGE,
    WorkingCalendar,
    YearCalendar,
    default_calendar,
    seed_year,
)
from domain.errors import CalendarYearUnknown


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return default_calendar()


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# --- the schedules themselves -------------------------------------------------------------------------


def test_2025_national_day_schedule(cal: WorkingCalendar) -> None:
    # 2025 schedule: 10月1日至8日放假调休，9月28日（周日）、10月11日（周六）上班。
    for d in _days(date(2025, 10, 1), date(2025, 10, 8)):
        assert not cal.is_working_day(d), d
    assert cal.is_working_day(date(2025, 9, 28))
    assert date(2025, 9, 28).weekday() == 6
    assert cal.is_working_day(date(2025, 10, 11))
    assert date(2025, 10, 11).weekday() == 5
    assert cal.is_working_day(date(2025, 10, 9))
    assert not cal.is_working_day(date(2025, 10, 12))  # ordinary Sunday


def test_2026_spring_festival_schedule(cal: WorkingCalendar) -> None:
    # 2026 schedule: 2月15日至23日放假调休，2月14日（周六）、2月28日（周六）上班。
    for d in _days(date(2026, 2, 15), date(2026, 2, 23)):
        assert not cal.is_working_day(d), d
    assert cal.is_working_day(date(2026, 2, 14))
    assert cal.is_working_day(date(2026, 2, 28))
    assert cal.is_working_day(date(2026, 2, 24))
    assert not cal.is_working_day(date(2026, 3, 1))  # ordinary Sunday


@pytest.mark.parametrize("year", [2025, 2026])
def test_agrees_with_package_every_day(cal: WorkingCalendar, year: int) -> None:
    for d in _days(date(year, 1, 1), date(year, 12, 31)):
        assert cal.is_working_day(d) == chinese_calendar.is_workday(d), d


def test_seed_year() -> None:
    y = seed_year(2025)
    assert y is not None
    assert y.year == 2025
    assert y.source == SOURCE_PACKAGE
    assert date(2025, 10, 8) in y.holidays
    assert y.workdays == {date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27),
                          date(2025, 9, 28), date(2025, 10, 11)}
    assert seed_year(2003) is None
    assert seed_year(2031) is None


def test_default_years_cover_2004_to_2026(cal: WorkingCalendar) -> None:
    assert set(range(2004, 2027)) <= cal.years
    assert 2003 not in cal.years
    assert 2031 not in cal.years


def test_default_calendar_is_cached() -> None:
    assert default_calendar() is default_calendar()


# --- arithmetic ------------------------------------------------------------------------------------------


def test_add_days_is_plain_calendar_arithmetic(cal: WorkingCalendar) -> None:
    assert cal.add_days(date(2025, 9, 30), 1) == date(2025, 10, 1)  # a holiday, still D+1
    assert cal.add_days(date(2026, 12, 1), 20) == date(2026, 12, 21)


def test_add_working_days_across_national_day(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert cal.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)  # 9, 10, Sat 11 (调休)
    assert cal.add_working_days(date(2025, 9, 30), 4) == date(2025, 10, 13)


def test_add_working_days_lands_on_make_up_weekend(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Fri -> make-up Sun
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)  # Fri -> make-up Sat
    assert cal.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)


def test_add_working_days_with_skipped(cal: WorkingCalendar) -> None:
    end, skipped = cal.add_working_days_with_skipped(date(2026, 2, 14), 1)
    assert end == date(2026, 2, 24)
    assert skipped == _days(date(2026, 2, 15), date(2026, 2, 23))

    end, skipped = cal.add_working_days_with_skipped(date(2025, 10, 10), 2)
    assert end == date(2025, 10, 13)
    assert skipped == [date(2025, 10, 12)]  # Sat 11 is worked, Sun 12 is not


def test_add_working_days_zero_and_negative(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(date(2025, 10, 1), 0) == date(2025, 10, 1)
    assert cal.add_working_days_with_skipped(date(2025, 10, 1), 0) == (date(2025, 10, 1), [])
    with pytest.raises(ValueError):
        cal.add_working_days(date(2025, 10, 9), -1)


def test_next_working_day_on_or_after(cal: WorkingCalendar) -> None:
    assert cal.next_working_day_on_or_after(date(2025, 10, 1)) == date(2025, 10, 9)
    assert cal.next_working_day_on_or_after(date(2025, 10, 9)) == date(2025, 10, 9)
    assert cal.next_working_day_on_or_after(date(2026, 3, 7)) == date(2026, 3, 9)  # Sat -> Mon


def test_datetimes_are_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(TypeError):
        cal.is_working_day(datetime(2025, 10, 9, 12, 0))


# --- unknown years ---------------------------------------------------------------------------------------


def test_unknown_year_raises_with_the_year(cal: WorkingCalendar) -> None:
    with pytest.raises(CalendarYearUnknown) as exc:
        cal.is_working_day(date(2031, 1, 6))
    assert exc.value.year == 2031
    assert exc.value.errors == {"year": 2031}
    assert "2031" in exc.value.message


def test_counting_into_an_unknown_year_raises() -> None:
    only_2026 = WorkingCalendar({2026: seed_year(2026)})  # type: ignore[dict-item]
    with pytest.raises(CalendarYearUnknown) as exc:
        only_2026.add_working_days(date(2026, 12, 30), 5)
    assert exc.value.year == 2027
    with pytest.raises(CalendarYearUnknown) as exc:
        only_2026.next_working_day_on_or_after(date(2027, 1, 1))
    assert exc.value.year == 2027
    with pytest.raises(CalendarYearUnknown):
        only_2026.add_working_days(date(2027, 1, 4), 0)
    # Calendar days need no schedule.
    assert only_2026.add_days(date(2026, 12, 30), 5) == date(2027, 1, 4)


def test_admin_year_makes_2027_computable() -> None:
    base = WorkingCalendar({2026: seed_year(2026)})  # type: ignore[dict-item]
    admin_2027 = YearCalendar(
        year=2027,
        holidays=frozenset({date(2027, 1, 1)}),  # a Friday
        workdays=frozenset({date(2027, 2, 20)}),
        source=SOURCE_ADMIN,
    )
    cal = base.with_years(admin_2027)
    assert cal.years == {2026, 2027}
    assert cal.year_calendar(2027).source == "admin"
    assert cal.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert cal.is_working_day(date(2027, 2, 20))  # a Saturday made a working day
    # The original calendar is untouched.
    with pytest.raises(CalendarYearUnknown):
        base.is_working_day(date(2027, 1, 4))


def test_year_calendar_validation() -> None:
    with pytest.raises(ValueError):
        YearCalendar(2027, holidays=frozenset({date(2027, 1, 1)}), workdays=frozenset({date(2027, 1, 1)}))
    with pytest.raises(TypeError):
        YearCalendar(2027, holidays=frozenset({datetime(2027, 1, 1)}))
    with pytest.raises(ValueError):
        WorkingCalendar({2027: YearCalendar(2026)})
