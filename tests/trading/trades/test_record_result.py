"""trades.record_result: one row per trade and lot from the outcome variables, idempotent, read by result_for."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.errors import Invalid
from persistence.models import Event
from persistence.models_trades import TradeResult
from services import tasks
from services.platform import Platform
from services.trading import trades

from .support import TZ, awarded, deploy, failed, run_trade, staff, uscc


@pytest.fixture(autouse=True)
def _deployed(platform: Platform) -> None:
    deploy(platform)


def test_an_awarded_trade_is_recorded_with_its_registration(platform: Platform) -> None:
    at = datetime(2026, 3, 31, 23, 30, tzinfo=TZ)  # 15:30 UTC: the month is counted in Shanghai
    view = run_trade(platform, "T-1", at, trade_category="G", **awarded(1, "880000.50"))

    with platform.db.sessions() as session:
        result = trades.result_for(session, view["id"])
    assert result is not None
    assert result["outcome"] == "awarded" and result["trade_failed"] is False
    assert result["winner_uscc"] == uscc(1) and result["winner_name"] == "中标人1"
    assert result["award_amount"] == "880000.50" and result["budget_amount"] == "1000000.00"
    assert result["bidder_count"] == 3 and result["failure_reason"] is None
    assert result["category"] == "G" and result["region"] == "330100"
    assert result["trade_code"] == view["variables"]["trade_code"]
    assert result["process_key"] == "result_trade"
    assert result["closed_at"].startswith("2026-03-31T23:30") and result["closed_month"] == "2026-03"
    assert result["purchaser_uscc"] == uscc(900)
    assert view["variables"]["trade_outcome"] == "awarded"


def test_a_failed_trade_keeps_its_reason_and_no_winner(platform: Platform) -> None:
    view = run_trade(platform, "T-2", datetime(2026, 4, 2, 10, tzinfo=TZ),
                     winner_uscc=uscc(5), award_amount="1.00", **failed("开标时投标人不足3家"))

    with platform.db.sessions() as session:
        result = trades.result_for(session, view["id"])
    assert result is not None
    assert result["outcome"] == "failed" and result["trade_failed"] is True
    assert result["failure_reason"] == "开标时投标人不足3家"
    assert result["winner_uscc"] is None and result["award_amount"] is None
    assert result["budget_amount"] == "500000.00" and result["bidder_count"] == 2
    assert result["category"] == "G"  # tender.register's default


def test_recording_again_rewrites_the_same_row(platform: Platform) -> None:
    view = run_trade(platform, "T-3", datetime(2026, 5, 6, 9, tzinfo=TZ), **awarded(1, "100.00"))
    task = view["tasks"][0]
    platform.clock.set(datetime(2026, 5, 7, 9, tzinfo=TZ))
    tasks.complete(platform, staff(), task["id"], {})  # record2 runs with the same variables

    with platform.db.sessions() as session:
        rows = session.scalars(select(TradeResult).where(TradeResult.instance_id == view["id"])).all()
        recorded = session.scalar(select(func.count()).select_from(Event).where(
            Event.instance_id == view["id"], Event.type == "trade.result_recorded"))
    assert len(rows) == 1
    assert rows[0].award_amount == Decimal("100.00")
    # unchanged facts keep their closing time
    assert rows[0].closed_at.astimezone(TZ).date().isoformat() == "2026-05-06"
    assert recorded == 1


def test_an_awarded_trade_without_a_winner_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        trades.parse_outcome({"trade_failed": False, "award_amount": "10.00"})
    assert caught.value.errors == [{"field": "/winner_uscc", "message": "必填"}]


@pytest.mark.parametrize("data, field", [
    ({"winner_uscc": "91330100000000001X"}, "winner_uscc"),
    ({"winner_uscc": uscc(1), "award_amount": "-3"}, "award_amount"),
    ({"winner_uscc": uscc(1), "award_amount": "1.001"}, "award_amount"),
    ({"winner_uscc": uscc(1), "bidder_count": "three"}, "bidder_count"),
    ({"trade_failed": "maybe"}, "trade_failed"),
])
def test_bad_outcome_variables_are_refused(data: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        trades.parse_outcome(data)
    assert field in str(caught.value.errors) or field in caught.value.message


def test_outcome_flags_and_counts_accept_process_values() -> None:
    parsed = trades.parse_outcome({"trade_failed": "false", "winner_uscc": uscc(2).lower(), "bidder_count": "4",
                                   "award_amount": 1200.5, "lot": 2})
    assert parsed["winner_uscc"] == uscc(2) and parsed["bidder_count"] == 4
    assert parsed["award_amount"] == Decimal("1200.50") and parsed["lot"] == "2"
    assert trades.parse_outcome({"trade_failed": True})["failure_reason"] == "未说明原因"


def test_result_for_is_none_while_the_trade_has_no_result(platform: Platform) -> None:
    with platform.db.sessions() as session:
        assert trades.result_for(session, "no-such-instance") is None
        assert trades.results_for(session, "no-such-instance") == []
