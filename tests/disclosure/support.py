"""A small trade that publishes: registration, an announcement, a result with secrets, a correction."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.e2e.cot_support import uscc

REGION = "330100"
API = "/api/v1"
RESERVE_PRICE = "7654321.98"  # a secret marker: no public response may ever contain it
SECRET_NOTE = "内部保留价说明绝密"

NOTICE_FORM = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "title": "公告标题", "minLength": 1, "maxLength": 500},
        "body": {"type": "string", "title": "公告正文"},
        "published_on": {"type": "string", "format": "date", "title": "发布日期"},
        "corrects": {"type": "integer", "title": "更正的公告编号"},
    },
    "additionalProperties": False,
}
RESULT_FORM = {
    "type": "object",
    "$defs": {"secret": {"type": "string", "x-ggzy-confidential": True}},
    "properties": {
        "title": {"type": "string", "title": "公告标题"},
        "winner_name": {"type": "string", "title": "成交人"},
        "reserve_price": {"type": "string", "title": "保留价", "x-ggzy-confidential": True},
        "terms": {
            "type": "object", "title": "成交条件",
            "properties": {"deposit": {"type": "string"}, "floor": {"type": "string", "x-ggzy-confidential": True}},
        },
        "note": {"$ref": "#/$defs/secret"},
    },
    "allOf": [{"if": {"required": ["winner_name"]},
               "then": {"properties": {"reviewer": {"type": "string", "x-ggzy-confidential": True}}}}],
}

_FLOW = [("StartEvent_1", "Service_Register"), ("Service_Register", "Task_Notice"),
         ("Task_Notice", "Task_Result"), ("Task_Result", "Service_Record"), ("Service_Record", "Task_Correct"),
         ("Task_Correct", "EndEvent_1")]
PURCHASER = uscc(501)
WINNER = uscc(502)
START_VARIABLES = {"project_name": "某中学教学楼工程", "purchaser_name": "杭州市某中学", "purchaser_uscc": PURCHASER,
                   "budget_amount": "10000000.00"}


def process_xml(key: str = "disclosure_demo", notice_kind: str = "announcement", extra: str = "") -> str:
    """A process in one staff lane: tender.register, then three publishing tasks."""
    flows = "".join(f'<bpmn:sequenceFlow id="Flow_{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(_FLOW))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:ggzy="urn:ggzy:bpmn" id="defs" targetNamespace="urn:t">
<bpmn:process id="{key}" name="信息公开演示" isExecutable="true">
<bpmn:startEvent id="StartEvent_1"/>
<bpmn:serviceTask id="Service_Register" name="登记" ggzy:service="tender.register"/>
<bpmn:userTask id="Task_Notice" name="发布公告" camunda:candidateGroups="staff" camunda:formKey="disc_notice"
  ggzy:publish="{notice_kind}" {extra}/>
<bpmn:userTask id="Task_Result" name="发布结果" camunda:candidateGroups="staff" camunda:formKey="disc_result"
  ggzy:publish="result"/>
<bpmn:userTask id="Task_Correct" name="更正公告" camunda:candidateGroups="staff" camunda:formKey="disc_notice"
  ggzy:publish="change"/>
<bpmn:serviceTask id="Service_Record" name="登记交易结果" ggzy:service="trades.record_result"/>
<bpmn:endEvent id="EndEvent_1"/>
{flows}
</bpmn:process>
</bpmn:definitions>
"""


@dataclass
class Demo:
    """Drives the demo process through the Flask client."""

    client: Any
    staff: dict[str, str]
    designer: dict[str, str]

    @classmethod
    def deployed(cls, client: Any, make_user: Callable[..., dict[str, str]]) -> Demo:
        demo = cls(client, make_user("staff"), make_user("designer", "admin"))
        for key, schema in (("disc_notice", NOTICE_FORM), ("disc_result", RESULT_FORM)):
            response = client.put(f"{API}/forms/{key}", json=schema, headers=demo.designer)
            assert response.status_code in (200, 201), response.get_json()
        response = client.post(f"{API}/process-definitions", data=process_xml().encode(),
                               content_type="application/xml", headers=demo.designer)
        assert response.status_code in (200, 201), response.get_json()
        return demo

    def start(self, business_key: str, category: str = "G", region: str = REGION) -> dict[str, Any]:
        response = self.client.post(f"{API}/process-instances", headers=self.staff, json={
            "process_key": "disclosure_demo", "business_key": business_key, "region": region,
            "variables": {"trade_category": category, **START_VARIABLES}})
        assert response.status_code == 201, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    def complete(self, view: dict[str, Any], data: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        [task] = view["tasks"]
        response = self.client.post(f"{API}/tasks/{task['id']}/complete", headers=self.staff, json={"data": data})
        assert response.status_code == expect, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    def get(self, path: str, expect: int = 200, **query: Any) -> Any:
        response = self.client.get(f"{API}/public{path}", query_string=query)
        assert response.status_code == expect, (path, response.get_json())
        return response.get_json()

    def full_trade(self, business_key: str, category: str = "G", region: str = REGION,
                   title: str = "某中学教学楼工程施工招标公告") -> dict[str, Any]:
        """Announcement, result (with secrets) and a change notice; returns the final view."""
        view = self.start(business_key, category, region)
        view = self.complete(view, {"title": title, "body": "详见招标文件", "published_on": "2026-03-02"})
        view = self.complete(view, {"title": "成交结果公告", "winner_name": "浙江某建设有限公司",
                                    "winner_uscc": WINNER, "award_amount": "9800000.00", "bidder_count": 4,
                                    "reserve_price": RESERVE_PRICE, "note": SECRET_NOTE,
                                    "terms": {"deposit": "10%", "floor": RESERVE_PRICE}, "reviewer": "审核人甲"})
        return self.complete(view, {"title": "变更公告：开标时间调整"})
