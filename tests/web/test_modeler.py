"""In the browser: a designer opens a deployed process in the modeler, edits it, sees the deploy checks' errors on
the diagram's elements, fixes them and deploys a new version that the engine then runs."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services import definitions
from services.platform import Platform
from tests.web.conftest import login

NEW_NAME = "归档（电子档案）"


def element(page: Any, element_id: str) -> Any:
    return page.locator(f".djs-element[data-element-id='{element_id}']")


def test_designer_edits_validates_and_deploys_a_new_version(
    page: Any, shot: Callable[..., Any], platform: Platform, web_user: Callable[..., dict[str, str]],
) -> None:
    web_user("web_designer", "designer")
    login(page, "web_designer")
    assert page.is_visible("[data-nav='web.modeler']")
    page.goto("/modeler?key=sample_review")
    page.wait_for_selector("body[data-modeler-ready='true']")
    assert "sample_review" in page.inner_text("#modeler-message")

    # Rename a task on the canvas (double-click, type, Enter), as a designer would.
    element(page, "Task_Archive").dblclick()
    editor = page.locator(".djs-direct-editing-parent")
    editor.wait_for()
    page.keyboard.press("Control+A")
    page.keyboard.type(NEW_NAME)
    page.keyboard.press("Enter")
    assert NEW_NAME in (element(page, "Task_Archive").text_content() or "")

    # Point the reply task at a form that does not exist; the dry run marks that element with the reason.
    element(page, "Task_ReplyObjection").click()
    page.wait_for_selector("#properties-form:not([hidden])")
    assert page.input_value("#prop-form") == "sample_reply"
    assert page.input_value("#prop-rule") == "cons.objection_reply"
    page.fill("#prop-form", "sample_reply_missing")
    page.click("#prop-apply")
    page.click("#validate-button")
    note = page.locator(".error-overlay[data-element-id='Task_ReplyObjection']")
    note.wait_for()
    assert "表单 sample_reply_missing 尚未部署" in note.inner_text()
    assert "has-error" in (element(page, "Task_ReplyObjection").get_attribute("class") or "")
    assert "未通过部署检查（1 处）" in page.inner_text("#error-list")
    shot("validation-errors")

    # Deploying as it is fails the same way (422 from the deploy itself, shown the same way) ...
    page.click("#deploy-button")
    page.wait_for_selector("#modeler-message[data-result='refused']")
    assert note.count() == 1 and "流程定义未通过部署检查" in page.inner_text("#modeler-message")
    with platform.db.sessions() as session:
        assert definitions.latest(session, "sample_review").version == 1

    # ... fixed, it deploys as version 2, keeping the platform's own attributes.
    page.fill("#prop-form", "sample_reply")
    page.click("#prop-apply")
    page.click("#validate-button")
    page.wait_for_selector("#modeler-message.ok")
    assert note.count() == 0 and page.is_hidden("#error-list")
    page.click("#deploy-button")
    page.wait_for_selector("#modeler-message[data-result='deployed-2']")
    assert "已部署 sample_review 第 2 版" in page.inner_text("#modeler-message")
    shot("deployed")

    xml = definitions.xml(platform, "sample_review", 2)
    assert NEW_NAME in xml
    assert 'camunda:formKey="sample_reply"' in xml and 'ggzy:rule="cons.objection_reply"' in xml
    described = definitions.describe(platform, "sample_review")
    assert described["version"] == 2
    assert described["elements"]["Task_Archive"]["name"] == NEW_NAME
    assert described["elements"]["Task_ReplyObjection"]["role"] == "agency"
