"""Repeated failed trades: a project failing twice, or a purchaser failing three times in a year, raises an alert."""
from __future__ import annotations

from datetime import datetime

import pytest

from services.platform import Platform
from services.trading import supervision

from ..trades.support import TZ, awarded, deploy, failed, run_trade
from .support import alerts_of


@pytest.fixture(autouse=True)
def _deployed(platform: Platform) -> None:
    deploy(platform)


def day(d: int, month: int = 3) -> datetime:
    return datetime(2026, month, d, 10, 0, tzinfo=TZ)


def test_one_failure_is_not_repeated(platform: Platform) -> None:
    run_trade(platform, "F-1", day(2), **failed(project_code="P-1"))
    run_trade(platform, "F-2", day(3), **awarded(7, "100.00", project_code="P-1"))
    assert alerts_of(platform, supervision.REPEATED_FAILURES) == []


def test_the_same_project_failing_twice(platform: Platform) -> None:
    first = run_trade(platform, "F-1", day(2), **failed("投标人不足3家", project_code="P-1"))
    second = run_trade(platform, "F-2", day(20), **failed("所有投标被否决", project_code="P-1"))
    run_trade(platform, "F-3", day(21), **failed(project_code="P-OTHER", purchaser=901))

    [alert] = alerts_of(platform, supervision.REPEATED_FAILURES)
    assert alert["subject"] == "project:P-1" and alert["instance_id"] is None and alert["region"] == "330100"
    assert alert["evidence"]["count"] == 2 and alert["score"] == 50 and alert["severity"] == "warning"
    assert [t["instance_id"] for t in alert["evidence"]["trades"]] == [first["id"], second["id"]]
    assert [t["failure_reason"] for t in alert["evidence"]["trades"]] == ["投标人不足3家", "所有投标被否决"]

    run_trade(platform, "F-4", day(25), **failed(project_code="P-1"))
    [project] = [a for a in alerts_of(platform, supervision.REPEATED_FAILURES) if a["subject"] == "project:P-1"]
    assert project["id"] == alert["id"] and project["evidence"]["count"] == 3 and project["score"] == 65


def test_a_purchaser_failing_three_times_within_a_year(platform: Platform) -> None:
    run_trade(platform, "F-1", day(2), **failed(project_name="甲项目"))
    run_trade(platform, "F-2", day(3), **failed(project_name="乙项目"))
    assert alerts_of(platform, supervision.REPEATED_FAILURES) == []
    run_trade(platform, "F-3", day(4), **failed(project_name="丙项目"))
    [alert] = alerts_of(platform, supervision.REPEATED_FAILURES)
    assert alert["subject"].startswith("purchaser:") and alert["evidence"]["count"] == 3
    assert "采购人900" in alert["message"]


def test_old_failures_of_a_purchaser_do_not_count(platform: Platform) -> None:
    run_trade(platform, "F-1", datetime(2025, 1, 5, tzinfo=TZ), **failed(project_name="甲项目"))
    run_trade(platform, "F-2", day(3), **failed(project_name="乙项目"))
    run_trade(platform, "F-3", day(4), **failed(project_name="丙项目"))
    assert alerts_of(platform, supervision.REPEATED_FAILURES) == []
