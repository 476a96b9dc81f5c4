"""Service tasks: ggzy:service names a platform service that runs inside the step's transaction."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.access import SYSTEM, Actor
from domain.errors import Invalid
from persistence.models import Event
from services import definitions, instances
from services.service_tasks import ServiceCall, catalogue, service_task

STAFF = Actor("s", frozenset({"staff"}), "330100")

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:ggzy="urn:ggzy:bpmn"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:t">
  <bpmn:process id="svc_proc" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="count" name="统计" ggzy:service="{service}"/>
    <bpmn:userTask id="review" name="复核" camunda:candidateGroups="staff"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="count"/>
    <bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""

calls: list[ServiceCall] = []


@service_task("test.count_events", "测试：统计审计事件")
def count_events(call: ServiceCall) -> dict[str, object]:
    calls.append(call)
    if call.data.get("explode"):
        raise Invalid("服务拒绝了这一步")
    seen = call.session.scalar(select(func.count()).select_from(Event).where(Event.instance_id == call.instance.id))
    return {"events_seen": seen, "region_seen": call.instance.region}


def test_a_service_task_runs_in_the_step_and_sets_variables(platform):
    definitions.deploy_bytes(platform, BPMN.format(service="test.count_events").encode(), SYSTEM)
    view, _ = instances.start(platform, STAFF, "svc_proc", "S-1", {"x": 1})
    assert view["variables"]["events_seen"] >= 1  # it saw the instance.started event of its own transaction
    assert view["variables"]["region_seen"] == "330100"
    assert calls[-1].element_id == "count" and calls[-1].data["x"] == 1
    assert [t["element_id"] for t in view["tasks"]] == ["review"]
    assert "test.count_events" in catalogue()


def test_a_failing_service_task_leaves_nothing_behind(platform):
    definitions.deploy_bytes(platform, BPMN.format(service="test.count_events").encode(), SYSTEM)
    with pytest.raises(Invalid, match="服务拒绝"):
        instances.start(platform, STAFF, "svc_proc", "S-2", {"explode": True})
    with platform.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(Event.type == "instance.started")) == 0


@pytest.mark.parametrize("service", ["", "no.such.service"])
def test_deploy_refuses_an_unknown_or_missing_service(platform, service):
    xml = BPMN.format(service=service)
    if not service:
        xml = xml.replace(' ggzy:service=""', "")
    with pytest.raises(Invalid) as caught:
        definitions.deploy_bytes(platform, xml.encode(), SYSTEM)
    assert [e["element_id"] for e in caught.value.errors] == ["count"]
