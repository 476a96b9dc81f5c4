"""The API the pages rely on beyond the contract: dry-run validation, overdue deadlines, the pages and vendor assets."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from services import definitions
from services.platform import Platform
from tests.web.test_inbox import REGION, START, START_FORM

API = "/api/v1"


def test_validate_runs_the_deploy_checks_without_deploying(
    client: Any, make_user: Callable[..., dict[str, str]], platform: Platform,
) -> None:
    designer, staff = make_user("designer"), make_user("staff")
    xml = definitions.xml(platform, "sample_review", None)

    def validate(body: str, who: dict[str, str] = designer) -> Any:
        return client.post(f"{API}/process-definitions/validate", data=body.encode(), headers=who,
                           content_type="application/xml")

    ok = validate(xml)
    assert ok.status_code == 200
    assert ok.get_json() == {"valid": True, "key": "sample_review", "name": "示例：招标文件异议处理",
                             "message": "校验通过", "errors": []}

    broken = xml.replace('camunda:formKey="sample_reply"', 'camunda:formKey="nope"').replace(
        'ggzy:rule="cons.objection_reply"', 'ggzy:rule="no.such_rule"', 1)
    out = validate(broken).get_json()
    assert out["valid"] is False and out["key"] == "sample_review"
    assert {(e["element_id"], e["message"]) for e in out["errors"]} == {
        ("Task_ReplyObjection", "表单 nope 尚未部署（forms/nope.json）"),
        ("Task_ReplyObjection", "未知的法定时限规则 'no.such_rule'"),
    }
    # The same checks as a deploy, which refuses the same file with the same errors.
    refused = client.post(f"{API}/process-definitions", data=broken.encode(), headers=designer,
                          content_type="application/xml")
    assert refused.status_code == 422 and refused.get_json()["errors"] == out["errors"]

    garbage = validate("<not-bpmn")
    assert garbage.status_code == 200 and garbage.get_json()["valid"] is False
    assert validate(xml, staff).status_code == 403
    assert definitions.describe(platform, "sample_review")["version"] == 1  # nothing was deployed


def test_overseers_see_ready_tasks_past_their_due_time_in_their_region(
    client: Any, make_user: Callable[..., dict[str, str]], platform: Platform,
) -> None:
    platform.clock.set(datetime.fromisoformat(START))
    staff = make_user("staff", region=REGION)
    started = client.post(f"{API}/process-instances", headers=staff, json={
        "process_key": "sample_review", "business_key": "WEB-OVERDUE-1", "region": REGION,
        "variables": START_FORM}).get_json()
    supervisor = make_user("supervisor", region="330000")  # the province covers Hangzhou
    elsewhere = make_user("supervisor", region="320100")
    assert client.get(f"{API}/deadlines/overdue", headers=supervisor).get_json() == []

    # No timer worker runs in this app, so the reply task stays ready after its statutory deadline.
    platform.clock.set(datetime.fromisoformat("2026-10-09T12:00:00+08:00"))
    [late] = client.get(f"{API}/deadlines/overdue", headers=supervisor).get_json()
    assert late["instance_id"] == started["id"] and late["element_id"] == "Task_ReplyObjection"
    assert late["business_key"] == "WEB-OVERDUE-1" and late["name"] == "提交异议答复"
    assert 11.9 <= late["overdue_hours"] <= 12.1
    assert client.get(f"{API}/deadlines/overdue", headers=elsewhere).get_json() == []
    assert client.get(f"{API}/deadlines/overdue", headers=make_user("bidder")).status_code == 403

    # The task view the inbox reads carries the element id (for the diagram) and the business key.
    agency = make_user("agency", region=REGION)
    task = client.get(f"{API}/tasks/{late['id']}", headers=agency).get_json()
    assert task["element_id"] == "Task_ReplyObjection" and task["business_key"] == "WEB-OVERDUE-1"
    assert list(task["form"]["properties"]) == ["reply_content", "replied_on", "amends_documents"]


def test_pages_are_served_and_only_bpmn_js_leaves_node_modules(bare_client: Any) -> None:
    client = bare_client
    for path, marker in (("/", "交易信息公开"), ("/login", "账号密码"), ("/inbox", "待办任务"),
                         ("/modeler", "bpmn-modeler.production.min.js"), ("/dashboard", "监管看板"),
                         ("/instances/abc", "bpmn-navigated-viewer"), ("/trades/330100-G-2026-000001", "交易过程"),
                         ("/publications/7", "pub-title"), ("/bids/abc", "加密并递交"),
                         ("/auctions/7", 'data-auction-id="7"'), ("/auctions?instance=abc", "auctions-table")):
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.mimetype == "text/html" and marker in page.get_data(as_text=True), path
        assert page.headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    script = client.get("/vendor/bpmn-js/bpmn-modeler.production.min.js")
    assert script.status_code == 200 and b"BpmnJS" in script.get_data()[:2000]
    assert client.get("/vendor/bpmn-js/assets/bpmn-js.css").status_code == 200
    assert client.get("/assets/js/form.js").status_code == 200
    assert client.get("/auctions/abc").status_code == 404  # auction ids are integers, as in the API
    for forbidden in ("/vendor/bpmn-js/../package.json", "/vendor/bpmn-js/%2e%2e/package.json",
                      "/vendor/diagram-js/index.js", "/vendor/bpmn-js/../../../package.json"):
        assert client.get(forbidden).status_code == 404, forbidden
