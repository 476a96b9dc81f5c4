"""A long multi-instance task: finished instances are merged into the parent and pruned, so the state
grows only by the engine's own per-instance bookkeeping, not by whole tasks."""
from __future__ import annotations

import json
from typing import Any

import pytest

from engine.bpmn import Runner, parse_definition

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:t">
  <bpmn:process id="mi_long" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="review" name="逐项审核" camunda:candidateGroups="staff">
      <bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}">
        <bpmn:loopCardinality>rounds</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:userTask id="after" name="汇总" camunda:candidateGroups="staff"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""

ROUNDS = 1500


def _size(state: dict[str, Any]) -> int:
    return len(json.dumps(state))


def test_sequential_multi_instance_state_grows_only_by_bookkeeping(ctx: Any) -> None:
    run = Runner(parse_definition(BPMN.format(sequential="true").encode()).spec_json, ctx)
    result = run.start({"rounds": ROUNDS})
    sizes = {}
    for done in range(ROUNDS):
        (task,) = [t for t in result.user_tasks if t.element_id == "review"]
        result = run.complete(result.state, task.id, {"checked": done})
        if done + 1 in (100, ROUNDS - 1):
            sizes[done + 1] = _size(result.state)
    assert [t.element_id for t in result.user_tasks] == ["after"]
    per_instance = (sizes[ROUNDS - 1] - sizes[100]) / (ROUNDS - 1 - 100)
    # SpiffWorkflow keeps each merged instance id (~40 bytes of JSON); a whole task would be ~400 bytes
    assert per_instance < 60, per_instance


@pytest.mark.parametrize("count", [30])
def test_parallel_multi_instance_finishes_after_every_instance(ctx: Any, count: int) -> None:
    run = Runner(parse_definition(BPMN.format(sequential="false").encode()).spec_json, ctx)
    result = run.start({"rounds": count})
    ids = [t.id for t in result.user_tasks if t.element_id == "review"]
    assert len(ids) == count
    for task_id in ids:
        assert [t.element_id for t in result.user_tasks if t.element_id == "after"] == []
        result = run.complete(result.state, task_id, {})
    assert [t.element_id for t in result.user_tasks] == ["after"]
