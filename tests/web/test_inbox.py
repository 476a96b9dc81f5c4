"""In the browser: sign in, take a task from the roles' queue, fail the form once (errors shown in place),
complete it, and see the instance's next step highlighted on its diagram."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from services import instances
from services.platform import Platform
from services.users import authenticate
from tests.web.conftest import login

REGION = "330100"
START = "2026-09-28T09:00:00+08:00"
START_FORM = {
    "project_name": "杭州市某中学新建教学楼工程施工", "docs_issued_on": "2026-09-10", "estimated_price": 12_800_000,
    "received_on": "2026-09-28", "objector": "浙江某建设集团有限公司", "objection_summary": "招标文件资格条件设置不合理",
}


def test_agency_completes_its_task_through_the_form(
    page: Any, shot: Callable[..., Any], platform: Platform, web_user: Callable[..., dict[str, str]],
) -> None:
    platform.clock.set(datetime.fromisoformat(START))
    staff = web_user("web_staff", "staff", region=REGION)
    web_user("web_agency", "agency", region=REGION)
    with platform.db.sessions() as session:
        started, _ = instances.start(platform, authenticate(session, staff["token"]), "sample_review", "WEB-SR-1",
                                     START_FORM, region=REGION)

    # A wrong password is refused with the API's Chinese message; the right one lands in the inbox.
    login(page, "web_agency", "wrong-password-1", refused=True)
    assert page.inner_text("#login-error") == "用户名或密码错误"
    login(page, "web_agency")
    page.wait_for_url("**/inbox")
    assert page.inner_text("#user-name") == "web_agency"
    assert page.is_hidden("[data-nav='web.modeler']") and page.is_visible("[data-nav='web.inbox']")

    # Nothing is claimed yet, so the page shows the roles' queue; the task's due date is the statutory one.
    row = page.locator("#task-table tbody tr", has_text="提交异议答复")
    row.wait_for()
    assert "2026-10-09 00:00" in row.inner_text()
    assert row.locator(".overdue").count() == 0
    row.click()
    page.wait_for_selector("#task-detail:not([hidden])")
    assert page.inner_text("#task-title") == "提交异议答复"
    page.click("#claim-button")
    page.wait_for_selector("#task-message.ok")
    assert "web_agency" in page.inner_text("#task-facts")

    # Submitted empty: the 422's field errors appear under their own fields.
    page.click("#complete-button")
    reply = page.locator(".field[data-field='/reply_content']")
    reply.locator(".field-error").wait_for()
    assert "答复内容：必填项" in reply.locator(".field-error").inner_text()
    assert "has-error" in (reply.get_attribute("class") or "")
    assert "必填项" in page.locator(".field[data-field='/replied_on'] .field-error").inner_text()
    assert page.locator(".field[data-field='/amends_documents'] .field-error").is_hidden()
    shot("field-errors")

    page.fill("#field-reply_content", "资格条件符合招标投标法及实施条例规定，维持招标文件。")
    page.fill("#field-replied_on", "2026-09-28")
    page.check("#field-amends_documents")
    page.click("#complete-button")
    done = page.locator("#completed-message")
    done.wait_for()
    assert "已办结" in done.inner_text() and "确认投标截止时间" in done.inner_text()
    page.locator("#history li[data-type='task.completed']").wait_for()  # the history reloads after the answer
    assert page.locator("#history li[data-type='task.completed']").count() == 1
    shot("completed")

    # The platform agrees: the agency's data went through, the purchaser's step is next.
    with platform.db.sessions() as session:
        view = instances.get(platform, authenticate(session, staff["token"]), started["id"])
    assert [t["element_id"] for t in view["tasks"]] == ["Task_ConfirmDeadline"]
    assert view["variables"]["reply_content"].startswith("资格条件符合")
    assert view["variables"]["amends_documents"] is True

    # The read-only diagram highlights that step.
    staff_page = page.context.new_page()
    staff_page.goto("/login")
    staff_page.click("[data-tab='token']")
    staff_page.fill("#token", staff["token"])
    staff_page.click("#token-form button[type=submit]")
    staff_page.wait_for_url("**/inbox")
    staff_page.goto(f"/instances/{started['id']}")
    staff_page.wait_for_selector("body[data-diagram-ready='true']")
    highlighted = staff_page.locator(".djs-element.highlight-current")
    assert highlighted.count() == 1
    assert highlighted.get_attribute("data-element-id") == "Task_ConfirmDeadline"
    assert "确认投标截止时间" in staff_page.inner_text("#current-steps")
    shot("diagram", on=staff_page)
