"""Pure rules of the tender steps: the trading code and the postponed bid deadline."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain import statutes
from domain.calendar import default_calendar
from domain.errors import Conflict, Invalid
from services.trading.tender import lawful_deadline, parse_day, trade_code

TZ = ZoneInfo("Asia/Shanghai")
CLARIFY = statutes.get_rule("cons.clarify_bid")


def test_trade_code_is_region_category_year_and_a_six_digit_sequence() -> None:
    assert trade_code("330100", "G", 2026, 123) == "330100-G-2026-000123"
    assert trade_code("110000", "G", 2027, 999_999) == "110000-G-2027-999999"


@pytest.mark.parametrize(("region", "category"), [("", "G"), ("33010", "G"), ("33010A", "G"), ("330100", "g"),
                                                  ("330100", "GG")])
def test_trade_code_refuses_a_bad_region_or_category(region: str, category: str) -> None:
    with pytest.raises(Invalid):
        trade_code(region, category, 2026, 1)


def test_trade_code_refuses_a_sequence_past_its_six_digits() -> None:
    with pytest.raises(Conflict, match="已用尽"):
        trade_code("330100", "G", 2026, 1_000_000)


def test_a_clarification_15_days_or_more_before_the_deadline_keeps_it() -> None:
    deadline = datetime(2026, 3, 23, 9, 30, tzinfo=TZ)
    # issued 03-08: 15 日 later is 03-23, the deadline's own day
    assert lawful_deadline(CLARIFY, date(2026, 3, 8), deadline, TZ, default_calendar()) == deadline


def test_a_late_clarification_moves_the_deadline_to_the_first_lawful_day_keeping_its_time() -> None:
    deadline = datetime(2026, 3, 23, 9, 30, tzinfo=TZ)
    moved = lawful_deadline(CLARIFY, date(2026, 3, 9), deadline, TZ, default_calendar())
    assert moved.isoformat() == "2026-03-24T09:30:00+08:00"


def test_a_postponed_deadline_is_not_extended_over_a_holiday() -> None:
    # a MIN period is a waiting time: 15 日 after 2026-09-16 is 10-01 (国庆), and the deadline may fall on it
    deadline = datetime(2026, 9, 28, 9, 30, tzinfo=TZ)
    moved = lawful_deadline(CLARIFY, date(2026, 9, 16), deadline, TZ, default_calendar())
    assert moved.isoformat() == "2026-10-01T09:30:00+08:00"


def test_the_deadline_is_compared_in_shanghai_time() -> None:
    # 2026-03-23T01:00 UTC is 09:00 on 03-23 in Shanghai: lawful for a clarification issued on 03-08
    deadline = datetime.fromisoformat("2026-03-23T01:00:00+00:00")
    assert lawful_deadline(CLARIFY, date(2026, 3, 8), deadline, TZ, default_calendar()) == deadline


def test_parse_day_reads_dates_and_refuses_anything_else() -> None:
    assert parse_day("2026-03-05", "x") == date(2026, 3, 5)
    assert parse_day("2026-03-05T10:00:00+08:00", "x") == date(2026, 3, 5)
    with pytest.raises(Invalid) as caught:
        parse_day("5 March", "clarification_issued_on")
    assert caught.value.errors[0]["field"] == "/clarification_issued_on"
