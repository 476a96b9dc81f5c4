"""A small process that registers a trade and records its result from the variables it was started with."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.access import SYSTEM, Actor
from services import definitions, instances
from services.platform import Platform
from trading.uscc import check_character

TZ = ZoneInfo("Asia/Shanghai")

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:ggzy="urn:ggzy:bpmn"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:trades">
  <bpmn:process id="result_trade" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="register" name="登记" ggzy:service="tender.register"/>
    <bpmn:serviceTask id="record" name="登记交易结果" ggzy:service="trades.record_result"/>
    <bpmn:userTask id="again" name="再次登记" camunda:candidateGroups="staff"/>
    <bpmn:serviceTask id="record2" name="再次登记交易结果" ggzy:service="trades.record_result"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="register"/>
    <bpmn:sequenceFlow id="f2" sourceRef="register" targetRef="record"/>
    <bpmn:sequenceFlow id="f3" sourceRef="record" targetRef="again"/>
    <bpmn:sequenceFlow id="f4" sourceRef="again" targetRef="record2"/>
    <bpmn:sequenceFlow id="f5" sourceRef="record2" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def uscc(n: int, region: str = "330100") -> str:
    body = f"91{region}{n:09d}"
    return body + check_character(body)


def staff(region: str | None = None) -> Actor:
    return Actor("trades-staff", frozenset({"staff"}), region)


def deploy(platform: Platform) -> None:
    definitions.deploy_bytes(platform, BPMN.encode(), SYSTEM)


def run_trade(platform: Platform, key: str, at: datetime, region: str = "330100", **variables: Any) -> dict[str, Any]:
    """Start a trade at a given time; it registers, records its result and waits at `again`."""
    platform.clock.set(at)
    view, _ = instances.start(platform, staff(), "result_trade", key, variables, region=region)
    return view


def awarded(winner: int, amount: str, budget: str | None = "1000000.00", bidders: int = 3,
            purchaser: int = 900, **extra: Any) -> dict[str, Any]:
    return {"winner_uscc": uscc(winner), "winner_name": f"中标人{winner}", "award_amount": amount,
            "budget_amount": budget, "bidder_count": bidders, "trade_failed": False,
            "purchaser_uscc": uscc(purchaser), "purchaser_name": f"采购人{purchaser}", "project_name": "示例项目",
            **extra}


def failed(reason: str = "投标人不足3家", bidders: int = 2, purchaser: int = 900, **extra: Any) -> dict[str, Any]:
    return {"trade_failed": True, "failure_reason": reason, "bidder_count": bidders, "budget_amount": "500000.00",
            "purchaser_uscc": uscc(purchaser), "purchaser_name": f"采购人{purchaser}", "project_name": "示例项目",
            **extra}
