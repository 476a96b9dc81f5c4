"""The deposit service tasks as a BPMN process calls them."""
from __future__ import annotations

from datetime import datetime
from itertools import pairwise

import pytest

from domain.access import SYSTEM
from domain.errors import Invalid, StatuteViolation
from services import definitions, instances, tasks
from services.trading import alerts, deposits
from tests.trading.deposits.conftest import SH, STAFF, at, payment, uscc

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:ggzy="urn:ggzy:bpmn"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:t">
  <bpmn:process id="construction_bond_flow" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="cap" name="校验保证金上限" ggzy:service="deposits.check_cap"/>
    <bpmn:userTask id="collect" name="收取保证金" camunda:candidateGroups="staff"/>
    <bpmn:serviceTask id="qualify" name="核验保证金" ggzy:service="deposits.qualify_bidders"/>
    <bpmn:userTask id="sign" name="签订合同" camunda:candidateGroups="staff"/>
    <bpmn:serviceTask id="schedule" name="安排退还" ggzy:service="deposits.schedule_refunds"/>
    <bpmn:userTask id="refund" name="退还保证金" camunda:candidateGroups="staff"/>
    <bpmn:serviceTask id="overdue" name="检查逾期" ggzy:service="deposits.check_overdue"/>
    <bpmn:userTask id="done" name="归档" camunda:candidateGroups="staff"/>
    <bpmn:endEvent id="end"/>
"""
FLOWS = ["start", "cap", "collect", "qualify", "sign", "schedule", "refund", "overdue", "done", "end"]
BPMN = HEAD + "".join(
    f'    <bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>\n'
    for i, (a, b) in enumerate(pairwise(FLOWS))
) + "  </bpmn:process>\n</bpmn:definitions>"


@pytest.fixture
def flow(platform):
    definitions.deploy_bytes(platform, BPMN.encode(), SYSTEM)

    def start(business_key: str, variables: dict) -> dict:
        return instances.start(platform, STAFF, "construction_bond_flow", business_key, variables, "330100")[0]

    return start


def _complete(platform, view, element_id, data=None):
    task = next(t for t in view["tasks"] if t["element_id"] == element_id)
    return tasks.complete(platform, STAFF, task["id"], data or {})


def test_check_cap_passes_at_two_percent(flow):
    view = flow("C-1", {"bond_amount": "200000.00", "estimated_price": "10000000"})
    assert view["variables"]["bond_cap_ok"] is True


def test_check_cap_refuses_a_cent_more_with_rule_and_citation(flow):
    with pytest.raises(StatuteViolation) as caught:
        flow("C-2", {"bond_amount": "200000.01", "estimated_price": "10000000"})
    assert (caught.value.rule, caught.value.citation) == ("cons.bond_cap", "TBR 26")


def test_check_cap_uses_the_rule_variable_and_lots(flow):
    view = flow("C-3", {"bond_cap_rule": "gp.bond_cap", "bond_amount": {"1": "2000", "2": "4000"},
                        "budget": {"1": "100000", "2": "200000"}})
    assert view["variables"]["bond_cap_ok"] is True
    with pytest.raises(StatuteViolation) as caught:
        flow("C-4", {"bond_cap_rule": "gp.bond_cap", "bond_amount": {"1": "2000", "2": "4000.01"},
                     "budget": {"1": "100000", "2": "200000"}})
    assert caught.value.rule == "gp.bond_cap"
    with pytest.raises(Invalid, match="estimated_price"):
        flow("C-5", {"bond_amount": "1000"})


def test_the_whole_bond_lifecycle_through_the_process(platform, flow):
    platform.clock.set(at(2026, 9, 10, 9, 0))
    view = flow("L-1", {"bond_amount": "200000", "estimated_price": "10000000"})
    trade = view["id"]
    deposits.record_payment(platform, STAFF, trade, payment(1))
    deposits.record_payment(platform, STAFF, trade, payment(2, "150000"))  # short
    deposits.record_payment(platform, STAFF, trade, payment(3))
    view = _complete(platform, view, "collect")
    assert view["variables"]["deposit_ok_count"] == 2
    view = _complete(platform, view, "sign", {"contract_signed_at": "2026-09-28", "winner_uscc": uscc(1)})
    # 9-28 + 5 日 = 10-03, in the holiday → Thu 10-08, 24:00 Shanghai time.
    assert datetime.fromisoformat(view["variables"]["refunds_due_at"]) == datetime(2026, 10, 9, tzinfo=SH)
    platform.clock.set(at(2026, 10, 9, 8, 0))
    view = _complete(platform, view, "refund")
    assert view["variables"]["overdue_refund_count"] == 3
    assert len(alerts.list_alerts(platform, STAFF, status="open")) == 3
    assert deposits.check_overdue_refunds(platform) == 0  # the step already raised them


def test_schedule_refunds_defaults_the_event_date_to_now(platform, flow):
    platform.clock.set(at(2026, 9, 17, 9, 0))
    view = flow("L-2", {"bond_amount": "1000", "estimated_price": "100000"})
    deposits.record_payment(platform, STAFF, view["id"], payment(1, "1000"))
    view = _complete(platform, view, "collect")
    view = _complete(platform, view, "sign")
    # Today 9-17 + 5 日 = Tue 9-22, a working day.
    assert datetime.fromisoformat(view["variables"]["refunds_due_at"]) == datetime(2026, 9, 23, tzinfo=SH)
