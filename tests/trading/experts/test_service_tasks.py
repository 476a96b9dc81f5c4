"""experts.draw and evaluation.rank as BPMN service tasks: small results into the process, data in tables."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.access import SYSTEM
from domain.errors import Invalid, StatuteViolation
from persistence.models_experts import ExpertCommittee
from services import definitions, instances, tasks
from services.service_tasks import catalogue
from services.trading import evaluation, experts
from tests.trading.experts.conftest import BIDDERS, CODE, EVALUATION_DAY, PURCHASER, STAFF, expert_actor

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:ggzy="urn:ggzy:bpmn"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:experts">
  <bpmn:process id="expert_flow" name="抽取与评标" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="draw" name="抽取评标专家" ggzy:service="experts.draw"/>
    <bpmn:userTask id="evaluate" name="评标" camunda:candidateGroups="staff"/>
    <bpmn:serviceTask id="rank" name="推荐中标候选人" ggzy:service="evaluation.rank"/>
    <bpmn:userTask id="publish" name="公示" camunda:candidateGroups="staff"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="draw"/>
    <bpmn:sequenceFlow id="f2" sourceRef="draw" targetRef="evaluate"/>
    <bpmn:sequenceFlow id="f3" sourceRef="evaluate" targetRef="rank"/>
    <bpmn:sequenceFlow id="f4" sourceRef="rank" targetRef="publish"/>
    <bpmn:sequenceFlow id="f5" sourceRef="publish" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""

VARIABLES = {"expert_specialties": [CODE], "committee_size": 5, "owner_reps": 0, "reserves": 1,
             "purchaser_uscc": PURCHASER, "evaluation_date": EVALUATION_DAY.isoformat()}


@pytest.fixture
def deployed(platform):
    definitions.deploy_bytes(platform, BPMN.encode(), SYSTEM)


def test_both_services_are_registered():
    assert {"experts.draw", "evaluation.rank"} <= set(catalogue())


def test_draw_then_rank_through_the_process(platform, pool, deployed):
    ids = pool.add(6)
    pool.add(2, employer=PURCHASER)
    for expert_id in ids:
        pool.link(expert_id, f"e{expert_id}")
    view, _ = instances.start(platform, STAFF, "expert_flow", "FLOW-1", VARIABLES)
    v = view["variables"]
    assert v["experts_needed"] == 5 and isinstance(v["committee_id"], int) and isinstance(v["draw_id"], int)
    assert experts.replay_draw(platform, STAFF, v["draw_id"]) is True
    committee = experts.get_committee(platform, STAFF, view["id"])
    assert committee["id"] == v["committee_id"] and committee["pending"] == 5
    assert not {m["expert_id"] for m in committee["members"]} - set(ids)  # purchaser's staff excluded
    actors = []
    for m in committee["members"]:
        if m["status"] == "pending":
            actors.append(expert_actor(f"e{m['expert_id']}"))
            experts.confirm(platform, actors[-1], view["id"], m["id"])
    offers = [{"uscc": b, "price": str(1000 + 10 * i)} for i, b in enumerate(BIDDERS)]
    evaluation.open_evaluation(platform, STAFF, view["id"], "lowest_evaluated_price", [], offers)
    for actor in actors:
        evaluation.submit_scores(platform, actor, view["id"], reviews=[
            {"bidder": b, "passed": b != BIDDERS[0]} for b in BIDDERS])
    task = next(t for t in view["tasks"] if t["element_id"] == "evaluate")
    after = tasks.complete(platform, STAFF, task["id"], {})
    assert after["variables"]["candidates"] == BIDDERS[1:]
    assert after["variables"]["winner_candidate"] == BIDDERS[1]
    assert isinstance(after["variables"]["evaluation_id"], int)
    assert [t["element_id"] for t in after["tasks"]] == ["publish"]


def test_gp_rule_from_the_variables(platform, pool, deployed):
    pool.add(8)
    variables = {**VARIABLES, "committee_rule": "gp.committee", "budget": 10_000_000, "committee_size": None}
    view, _ = instances.start(platform, STAFF, "expert_flow", "FLOW-GP", variables)
    assert view["variables"]["experts_needed"] == 7


def test_a_failing_draw_leaves_nothing_behind(platform, pool, deployed):
    pool.add(4)
    with pytest.raises(Invalid, match="不足"):
        instances.start(platform, STAFF, "expert_flow", "FLOW-THIN", VARIABLES)
    pool.add(4)
    with pytest.raises(StatuteViolation):
        instances.start(platform, STAFF, "expert_flow", "FLOW-EVEN", {**VARIABLES, "committee_size": 6})
    with platform.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ExpertCommittee)) == 0


def test_rank_without_an_evaluation_is_refused(platform, pool, deployed):
    pool.add(6)
    view, _ = instances.start(platform, STAFF, "expert_flow", "FLOW-NOEVAL", VARIABLES)
    task = next(t for t in view["tasks"] if t["element_id"] == "evaluate")
    with pytest.raises(Invalid, match="尚未开始评标"):
        tasks.complete(platform, STAFF, task["id"], {})


def test_the_draw_step_run_twice_gives_the_same_answer(platform, pool, deployed):
    from persistence.models import ProcessInstance
    from services.service_tasks import ServiceCall

    pool.add(6)
    view, _ = instances.start(platform, STAFF, "expert_flow", "FLOW-TWICE", VARIABLES)
    with platform.db.unit_of_work() as session:
        instance = session.get(ProcessInstance, view["id"])
        call = ServiceCall(platform, session, instance, "draw", dict(instance.variables), None, platform.clock.now())
        again = experts.draw_task(call)
    assert again == {k: view["variables"][k] for k in ("committee_id", "experts_needed", "draw_id")}
