"""Trades to hold deposits: a one-task process per category, bidders with valid codes, the Shanghai clock."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.access import SYSTEM, Actor
from services import definitions, instances
from services.platform import Platform
from trading.uscc import check_character

SH = ZoneInfo("Asia/Shanghai")
REGION = "330100"
STAFF = Actor("staff1", frozenset({"staff"}), REGION)
BANK = Actor("bank", frozenset({"integrator"}))

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:ggzy="urn:ggzy:bpmn"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:t">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="work" name="办理" camunda:candidateGroups="staff"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def uscc(n: int) -> str:
    """A valid 统一社会信用代码 of a Hangzhou enterprise, numbered n."""
    body = f"91330100{n:09d}"
    return body + check_character(body)


def at(*parts: int) -> datetime:
    """A time in Asia/Shanghai."""
    return datetime(*parts, tzinfo=SH)  # type: ignore[misc]


def payment(n: int, amount: str = "200000.00", **extra: Any) -> dict[str, Any]:
    """A payment from bidder n's own basic account."""
    name = f"投标人{n}有限公司"
    return {"bidder_uscc": uscc(n), "bidder_name": name, "amount": amount, "payer_account_no": f"62220{n:06d}",
            "payer_bank": "中国工商银行杭州分行", "payer_account_name": name, "is_basic_account": True,
            "bank_reference": f"BANK-{n}", **extra}


@pytest.fixture
def start_trade(platform: Platform) -> Callable[..., str]:
    """start_trade(key, variables, region=REGION) -> instance id of a running one-task trade."""
    deployed: set[str] = set()
    counter = iter(range(1, 10_000))

    def start(key: str = "construction_deposit_test", variables: dict[str, Any] | None = None,
              region: str = REGION) -> str:
        if key not in deployed:
            definitions.deploy_bytes(platform, PROCESS.format(key=key).encode(), SYSTEM)
            deployed.add(key)
        actor = Actor("starter", frozenset({"staff"}), region)
        view, _ = instances.start(platform, actor, key, f"T-{next(counter)}", variables or {}, region)
        return str(view["id"])

    return start
