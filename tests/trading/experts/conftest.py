"""A running trade, a seeded expert pool, and helpers shared by the expert and evaluation tests."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.access import SYSTEM, Actor
from persistence.models_experts import Expert, ExpertSpecialty, ExpertUnavailability
from services import definitions, instances, steps
from services.platform import Platform
from services.trading.expert_pool import hash_id_number, mask_id_number
from trading.uscc import check_character

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
EVALUATION_DAY = date(2026, 12, 3)
STAFF = Actor("experts-staff", frozenset({"staff"}), "330100")
SUPERVISOR = Actor("experts-supervisor", frozenset({"supervisor"}), "330000")
CODE = "A080101"

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:ggzy="urn:ggzy:bpmn"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:experts">
  <bpmn:process id="expert_trade" name="评标测试" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="evaluate" name="评标" camunda:candidateGroups="staff"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="evaluate"/>
    <bpmn:sequenceFlow id="f2" sourceRef="evaluate" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def uscc(n: int) -> str:
    """A valid 统一社会信用代码 for test organisation n."""
    body = f"91330100{n:09d}"
    return body + check_character(body)


def id_number(n: int) -> str:
    """A valid resident ID number (GB 11643 check character) for test person n."""
    body = f"33{n:015d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


PURCHASER = uscc(900)
BIDDERS = [uscc(901), uscc(902), uscc(903)]


@dataclass
class Pool:
    """Adds experts straight into the pool table (quicker than the service, which has its own tests)."""

    platform: Platform
    serial: int = 0

    def add(self, count: int = 1, codes: tuple[str, ...] = (CODE,), region: str = "330100",
            employer: str | None = None, username: str | None = None, available: bool = True,
            blacklisted: bool = False, away: tuple[date, date] | None = None) -> list[int]:
        ids = []
        with self.platform.db.unit_of_work() as session:
            for _ in range(count):
                self.serial += 1
                number = id_number(self.serial)
                expert = Expert(name=f"专家姓名{self.serial}", id_number_hash=hash_id_number(number),
                                id_number_masked=mask_id_number(number), region=region, employer_uscc=employer,
                                username=username, available=available, blacklisted=blacklisted,
                                blacklist_reason="测试" if blacklisted else None, created_at=NOW, updated_at=NOW)
                session.add(expert)
                session.flush()
                session.add_all(ExpertSpecialty(expert_id=expert.id, code=c, region=region,
                                                active=available and not blacklisted) for c in codes)
                if away:
                    session.add(ExpertUnavailability(expert_id=expert.id, starts_on=away[0], ends_on=away[1]))
                ids.append(expert.id)
        return ids

    def link(self, expert_id: int, username: str) -> None:
        with self.platform.db.unit_of_work() as session:
            session.get(Expert, expert_id).username = username  # type: ignore[union-attr]


@pytest.fixture
def pool(platform: Platform) -> Pool:
    platform.clock.set(NOW)
    return Pool(platform)


@pytest.fixture
def start_trade(platform: Platform) -> Callable[..., str]:
    """start_trade(**variables) -> instance id of a running trade in 330100."""
    definitions.deploy_bytes(platform, BPMN.encode(), SYSTEM)
    counter = iter(range(1, 10_000))

    def start(**variables: Any) -> str:
        values = {"purchaser_uscc": PURCHASER, "evaluation_date": EVALUATION_DAY.isoformat(), **variables}
        view, _ = instances.start(platform, STAFF, "expert_trade", f"EXP-{next(counter)}", values)
        return str(view["id"])

    return start


@pytest.fixture
def trade(start_trade: Callable[..., str]) -> str:
    return start_trade()


def set_variables(platform: Platform, instance_id: str, **values: Any) -> None:
    """Change an instance's variables in place, as a later step of the process would."""
    with platform.db.unit_of_work() as session:
        instance = steps.lock_instance(session, instance_id)
        instance.variables = {**instance.variables, **values}


def expert_actor(username: str) -> Actor:
    return Actor(username, frozenset({"expert"}))
