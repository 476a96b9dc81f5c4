"""In the browser: a supervisor's dashboard shows the overdue task, the open alert (reviewed from the page) and
the trade statistics as a chart."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from persistence.models_alerts import Alert
from persistence.models_trades import TradeResult
from services import instances
from services.platform import Platform
from services.trading.alerts import raise_alert
from services.users import authenticate
from tests.web.conftest import login
from tests.web.test_inbox import REGION, START, START_FORM

LATE = "2026-10-09T12:00:00+08:00"


@pytest.fixture
def timer_worker() -> bool:
    return False  # the reply task must stay open past its deadline instead of being escalated


def seed(platform: Platform, instance_id: str) -> int:
    """An open alert on the instance and two recorded results (construction, procurement) for the statistics."""
    def use_case(session: Session) -> int:
        now = platform.clock.now()
        alert, _ = raise_alert(session, kind="bid_collusion", message="投标文件制作机器码相同", now=now, region=REGION,
                               instance_id=instance_id, subject="913301000000000001", severity="critical")
        for lot, category, amount in (("1", "G", "12000000.00"), ("2", "Z", "800000.00")):
            session.add(TradeResult(instance_id=instance_id, lot=lot, process_key="sample_review", category=category,
                                    region=REGION, outcome="awarded", award_amount=Decimal(amount), closed_at=now,
                                    closed_month=now.strftime("%Y-%m"), recorded_at=now, updated_at=now))
        return alert.id

    return platform.db.run(use_case)  # type: ignore[no-any-return]


def test_supervisor_reviews_an_alert_and_sees_overdue_tasks_and_statistics(
    page: Any, shot: Callable[..., Any], platform: Platform, web_user: Callable[..., dict[str, str]],
) -> None:
    platform.clock.set(datetime.fromisoformat(START))
    staff = web_user("dash_staff", "staff", region=REGION)
    web_user("dash_supervisor", "supervisor", region=REGION)
    with platform.db.sessions() as session:
        started, _ = instances.start(platform, authenticate(session, staff["token"]), "sample_review", "WEB-DASH-1",
                                     START_FORM, region=REGION)
    alert_id = seed(platform, started["id"])
    platform.clock.set(datetime.fromisoformat(LATE))

    login(page, "dash_supervisor")
    page.wait_for_url("**/dashboard")
    expect(page.locator("#kpi-overdue")).to_have_text("1")
    overdue = page.locator("#overdue-table tbody tr")
    assert "提交异议答复" in overdue.inner_text() and "WEB-DASH-1" in overdue.inner_text()
    assert "12 小时" in overdue.inner_text()
    expect(page.locator("#kpi-alerts")).to_have_text("1")
    row = page.locator(f"#alert-table tr[data-alert-id='{alert_id}']")
    assert "投标文件制作机器码相同" in row.inner_text() and "严重" in row.inner_text()
    page.wait_for_selector("#chart-count svg rect.bar")
    assert page.locator("#chart-count rect.bar").count() == 2
    assert "工程建设" in (page.locator("#chart-count svg").text_content() or "")
    assert page.inner_text("#kpi-trades") == "2"
    shot("dashboard")

    page.once("dialog", lambda dialog: dialog.accept("已约谈相关投标人"))
    row.locator("button", has_text="核查").click()
    expect(page.locator("#alert-table tbody tr")).to_have_count(0)
    with platform.db.sessions() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None and alert.status == "reviewed"
        assert alert.handled_by == "dash_supervisor" and alert.note == "已约谈相关投标人"
