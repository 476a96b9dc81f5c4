"""engine.bpmn at run time: long loops, gateways, timers on a fake clock, subprocesses, multi-instance,
pruning equivalence, cancellation and the refusals of parse_definition."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import engine.bpmn as engine_bpmn
from domain.errors import Conflict, Invalid, NotFound
from engine.bpmn import Runner, StepResult, parse_definition
from tests.engine.engine_support import (
    SHANGHAI,
    Clock,
    boundary_timer,
    catch_timer,
    fixture_bytes,
    flows,
    model,
    timer,
    user,
)

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # the `clock` fixture's start (09:00 Shanghai)

# ------------------------------------------------------------------------------------------ helpers


def runner(source: bytes | str, ctx: Any) -> Runner:
    data = fixture_bytes(source) if isinstance(source, str) else source
    return Runner(parse_definition(data).spec_json, ctx)


def ready(result: StepResult) -> list[str]:
    return sorted(t.element_id for t in result.user_tasks)


def complete(run: Runner, result: StepResult, element_id: str, data: dict | None = None) -> StepResult:
    """Complete the first ready user task of this element."""
    task = next(t for t in result.user_tasks if t.element_id == element_id)
    return run.complete(result.state, task.id, data or {})


def state_size(result: StepResult) -> int:
    return len(json.dumps(result.state))


def disable_pruning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_bpmn, "prune", lambda workflow: None)
    monkeypatch.setattr(engine_bpmn, "PRUNE_THRESHOLD", 10**12)


# ----------------------------------------------------------------------------------- 1. long loops


def test_script_loop_runs_10000_rounds(ctx: Any) -> None:
    result = runner("loop_script.bpmn", ctx).start({"i": 0, "rounds": 10_000})
    assert (result.status, result.variables["i"], result.user_tasks, result.timers) == ("completed", 10_000, [], [])
    assert state_size(result) < 5_000


def test_user_loop_runs_10000_rounds_with_bounded_state(ctx: Any) -> None:
    run = runner("loop_user.bpmn", ctx)
    result = run.start({"done": 0, "finish": False})
    sizes: dict[int, int] = {}
    for k in range(10_000):
        assert result.status == "running"
        assert [(t.element_id, t.name) for t in result.user_tasks] == [("work", "办理")], f"round {k}"
        assert result.variables["done"] == k
        result = run.complete(result.state, result.user_tasks[0].id, {"finish": k == 9_999})
        if k + 1 in (100, 10_000):
            sizes[k + 1] = state_size(result)
    assert (result.status, result.variables["done"], result.user_tasks) == ("completed", 10_000, [])
    assert sizes[10_000] <= sizes[100] * 1.2, sizes


# --------------------------------------------------------------------------- 2. parallel fork/join


@pytest.mark.parametrize("order", [("tech", "biz"), ("biz", "tech")])
def test_parallel_join_of_two_waits_and_merges(ctx: Any, order: tuple[str, str]) -> None:
    run = runner("parallel2.bpmn", ctx)
    result = run.start({"project": "P-1"})
    assert ready(result) == ["biz", "tech"]
    first, second = order
    result = complete(run, result, first, {f"{first}_ok": True})
    assert ready(result) == [second], "the join fired before every branch arrived"
    result = complete(run, result, second, {f"{second}_ok": False})
    assert ready(result) == ["after"]
    assert result.variables == {"project": "P-1", f"{first}_ok": True, f"{second}_ok": False}
    result = complete(run, result, "after")
    assert result.status == "completed"


@pytest.mark.parametrize("order", list(itertools.permutations("abc")))
def test_parallel_join_of_three_waits_and_merges(ctx: Any, order: tuple[str, ...]) -> None:
    run = runner("parallel3.bpmn", ctx)
    result = run.start({})
    left = {"a", "b", "c"}
    for element in order:
        assert ready(result) == sorted(left)
        result = complete(run, result, element, {f"r{element}": {"a": 1, "b": 10, "c": 100}[element]})
        left.discard(element)
    assert ready(result) == ["after"]
    assert result.variables["total"] == 111
    assert {result.variables[k] for k in ("ra", "rb", "rc")} == {1, 10, 100}


def test_parallel_fork_join_inside_a_loop_300_rounds(ctx: Any) -> None:
    """Each round completes a, b, c in a rotating order; the join must wait for all three every round."""
    run = runner("parallel_loop.bpmn", ctx)
    result = run.start({"n": 0, "rounds": 300, "log": []})
    orders = list(itertools.permutations("abc"))
    for k in range(300):
        left = {"a", "b", "c"}
        for element in orders[k % len(orders)]:
            assert ready(result) == sorted(left), f"round {k}: stale or missing branch tokens"
            assert result.variables["n"] == k, f"round {k}: the join fired early"
            value = {"a": 1, "b": 10, "c": 100}[element] * (k + 1)
            result = complete(run, result, element, {f"r{element}": value})
            left.discard(element)
    assert (result.status, result.user_tasks, result.variables["n"]) == ("completed", [], 300)
    assert result.variables["log"] == [111 * (k + 1) for k in range(300)]


def test_parallel_script_branches_inside_a_loop_join_once_per_round(ctx: Any) -> None:
    """Whole rounds run inside one step: tokens of finished rounds must not satisfy the next join."""
    scripts = "".join(
        f'<bpmn:scriptTask id="{e}"><bpmn:script>last_{e} = n</bpmn:script></bpmn:scriptTask>' for e in "abc"
    )
    body = (
        '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="merge"/><bpmn:parallelGateway id="fork"/>'
        + scripts + '<bpmn:parallelGateway id="join"/>'
        '<bpmn:scriptTask id="count"><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>'
        '<bpmn:exclusiveGateway id="again" default="f10"/><bpmn:endEvent id="end"/>'
        + flows("start>merge", "merge>fork", "fork>a", "fork>b", "fork>c", "a>join", "b>join", "c>join",
                "join>count", "count>again", "again>merge")
        + '<bpmn:sequenceFlow id="f_end" sourceRef="again" targetRef="end">'
        "<bpmn:conditionExpression>n &gt;= 300</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )
    result = runner(model("script_parallel_loop", body), ctx).start({"n": 0})
    ran = [r[1] for r in result.ran]
    assert result.status == "completed" and result.variables["n"] == 300
    assert [ran.count(e) for e in ("a", "b", "c", "join", "count", "end")] == [300, 300, 300, 300, 300, 1]


@pytest.mark.parametrize("order", [("tech", "biz"), ("biz", "tech")])
def test_parallel_join_keeps_each_branch_update_of_existing_variables(ctx: Any, order: tuple[str, str]) -> None:
    run = runner("parallel2.bpmn", ctx)
    result = run.start({"tech_ok": None, "biz_ok": None})  # e.g. defaults set by the start form
    result = complete(run, result, order[0], {f"{order[0]}_ok": True})
    result = complete(run, result, order[1], {f"{order[1]}_ok": True})
    assert ready(result) == ["after"]
    assert (result.variables["tech_ok"], result.variables["biz_ok"]) == (True, True)


# ------------------------------------------------------------------------- 3./4. conditional gateways


@pytest.mark.parametrize(
    ("variables", "branches"),
    [
        ({"amount": 500, "special": False}, ["legal"]),
        ({"amount": 5_000_000, "special": False}, ["finance", "legal"]),
        ({"amount": 500, "special": True}, ["expert", "legal"]),
    ],
)
def test_inclusive_gateway_takes_matching_branches_and_joins(ctx: Any, variables: dict, branches: list) -> None:
    run = runner("inclusive.bpmn", ctx)
    result = run.start(variables)
    assert ready(result) == branches
    for done, element in enumerate(reversed(branches), start=1):
        result = complete(run, result, element, {f"{element}_opinion": "同意"})
        if done < len(branches):
            assert ready(result) == sorted(set(branches) - set(branches[-done:])), "inclusive join fired early"
    assert ready(result) == ["after"]
    assert all(result.variables[f"{b}_opinion"] == "同意" for b in branches)
    assert complete(run, result, "after").status == "completed"


@pytest.mark.parametrize(
    ("amount", "branch"),
    [(9_000_000, "open_tender"), (4_000_000, "open_tender"), (3_999_999, "invited"), (1_000_000, "invited"),
     (999_999, "direct"), (0, "direct")],
)
def test_exclusive_gateway_conditions_and_default(ctx: Any, amount: int, branch: str) -> None:
    run = runner("exclusive.bpmn", ctx)
    result = run.start({"amount": amount})
    assert ready(result) == [branch]
    result = complete(run, result, branch)
    assert result.status == "completed"
    assert result.variables == {"amount": amount, "routed": True}


# -------------------------------------------------------------------------------------- 5. timers


def test_intermediate_duration_timer_waits_for_the_clock(ctx: Any, clock: Clock) -> None:
    run = runner(catch_timer("timeDuration", "PT2H"), ctx)
    result = run.start({})
    assert result.user_tasks == []
    assert [(t.element_id, t.due_at, t.kind, t.boundary) for t in result.timers] == [
        ("wait", T0 + timedelta(hours=2), "duration", False)
    ]
    clock.advance(hours=1, minutes=59, seconds=59)
    early = run.fire_timers(result.state)
    assert early.user_tasks == [] and early.status == "running"
    assert [t.due_at for t in early.timers] == [T0 + timedelta(hours=2)], "due time moved on a later step"
    clock.advance(seconds=1)
    result = run.fire_timers(early.state)
    assert ready(result) == ["after"]
    assert result.timers == []
    assert "wait" in [r[1] for r in result.ran]


@pytest.mark.parametrize(
    ("expression", "variables", "due"),
    [
        ("2026-12-01T09:30:00+08:00", {}, datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)),
        ("2026-12-01T01:30:00Z", {}, datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)),
        ("deadline", {"deadline": "2026-12-01T09:30:00+08:00"}, datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)),
        # A date alone means the end of that day (24:00) in Asia/Shanghai.
        ("deadline", {"deadline": "2026-12-01"}, datetime(2026, 12, 2, 0, 0, tzinfo=SHANGHAI)),
        ("2026-12-01", {}, datetime(2026, 12, 2, 0, 0, tzinfo=SHANGHAI)),
        # A local time without offset is read in Asia/Shanghai, not the server zone.
        ("deadline", {"deadline": "2026-12-01T09:30:00"}, datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)),
    ],
)
def test_time_date_timer(ctx: Any, clock: Clock, expression: str, variables: dict, due: datetime) -> None:
    run = runner(catch_timer("timeDate", expression), ctx)
    result = run.start(variables)
    assert [(t.element_id, t.due_at, t.kind) for t in result.timers] == [("wait", due, "date")]
    clock.set(due - timedelta(seconds=1))
    result = run.fire_timers(result.state)
    assert result.user_tasks == [] and len(result.timers) == 1
    clock.set(due)
    result = run.fire_timers(result.state)
    assert ready(result) == ["after"] and result.timers == []


def test_duration_timer_from_a_variable(ctx: Any, clock: Clock) -> None:
    run = runner(catch_timer("timeDuration", "wait_for"), ctx)
    result = run.start({"wait_for": "P3D"})
    assert [t.due_at for t in result.timers] == [T0 + timedelta(days=3)]
    clock.advance(days=3)
    assert ready(run.fire_timers(result.state)) == ["after"]


def test_interrupting_boundary_timer(ctx: Any, clock: Clock) -> None:
    run = runner(boundary_timer("timeDuration", "PT1H", interrupting=True), ctx)
    result = run.start({})
    assert ready(result) == ["review"]
    assert [(t.element_id, t.due_at, t.boundary) for t in result.timers] == [("bt", T0 + timedelta(hours=1), True)]
    clock.advance(minutes=59)
    assert ready(run.fire_timers(result.state)) == ["review"]
    clock.advance(minutes=1)
    result = run.fire_timers(result.state)
    assert ready(result) == ["alert"], "the interrupted user task must disappear"
    assert result.timers == []
    result = complete(run, result, "alert")
    assert result.status == "completed"


def test_completing_the_task_cancels_its_boundary_timer(ctx: Any, clock: Clock) -> None:
    run = runner(boundary_timer("timeDuration", "PT1H", interrupting=True), ctx)
    result = complete(run, run.start({}), "review")
    assert result.status == "completed" and result.timers == []
    clock.advance(hours=5)
    assert run.fire_timers(result.state).user_tasks == []


def test_non_interrupting_boundary_timer(ctx: Any, clock: Clock) -> None:
    run = runner(boundary_timer("timeDuration", "PT1H", interrupting=False), ctx)
    result = run.start({})
    clock.advance(hours=1)
    result = run.fire_timers(result.state)
    assert ready(result) == ["alert", "review"], "the task must stay ready and the alert path must run"
    result = complete(run, result, "review")
    assert ready(result) == ["alert"] and result.status == "running"
    result = complete(run, result, "alert")
    assert result.status == "completed"


def test_cycle_boundary_timer_fires_exactly_three_times(ctx: Any, clock: Clock) -> None:
    run = runner(boundary_timer("timeCycle", "R3/PT1H", interrupting=False), ctx)
    result = run.start({})
    assert [(t.element_id, t.due_at, t.kind) for t in result.timers] == [("bt", T0 + timedelta(hours=1), "cycle")]
    for k in range(1, 4):
        clock.advance(minutes=59)
        result = run.fire_timers(result.state)
        assert ready(result).count("alert") == k - 1, "fired early"
        clock.advance(minutes=1)
        result = run.fire_timers(result.state)
        assert ready(result) == ["alert"] * k + ["review"], f"after {k} hours"
        if k < 3:
            assert [t.due_at for t in result.timers] == [T0 + timedelta(hours=k + 1)]
    for _ in range(3):
        clock.advance(hours=2)
        result = run.fire_timers(result.state)
    assert ready(result) == ["alert"] * 3 + ["review"]
    assert result.timers == []
    for _ in range(3):
        result = complete(run, result, "alert")
    assert ready(result) == ["review"]
    assert complete(run, result, "review").status == "completed"


@pytest.mark.parametrize("soon_first", [True, False])
def test_event_based_gateway_between_two_timers(ctx: Any, clock: Clock, soon_first: bool) -> None:
    outs = ["wait>soon", "wait>later"] if soon_first else ["wait>later", "wait>soon"]
    body = (
        '<bpmn:startEvent id="start"/><bpmn:eventBasedGateway id="wait"/>'
        f'<bpmn:intermediateCatchEvent id="soon">{timer("timeDuration", "PT1H")}</bpmn:intermediateCatchEvent>'
        f'<bpmn:intermediateCatchEvent id="later">{timer("timeDuration", "P1D")}</bpmn:intermediateCatchEvent>'
        + user("fast") + user("slow") + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
        + flows("start>wait", *outs, "soon>fast", "later>slow", "fast>e1", "slow>e2")
    )
    run = runner(model("event_gateway", body), ctx)
    result = run.start({})
    assert sorted(t.due_at for t in result.timers) == [T0 + timedelta(hours=1), T0 + timedelta(days=1)]
    clock.advance(hours=1)
    result = run.fire_timers(result.state)
    assert ready(result) == ["fast"] and result.timers == []
    clock.advance(days=2)
    assert ready(run.fire_timers(result.state)) == ["fast"]


# ------------------------------------------------------------------------- 6. subprocess, 7. multi-instance


def test_parallel_embedded_subprocesses(ctx: Any) -> None:
    def sub(i: int) -> str:
        return (
            f'<bpmn:subProcess id="sub{i}"><bpmn:startEvent id="s{i}"/>{user(f"u{i}")}<bpmn:endEvent id="e{i}"/>'
            f'<bpmn:sequenceFlow id="s{i}a" sourceRef="s{i}" targetRef="u{i}"/>'
            f'<bpmn:sequenceFlow id="s{i}b" sourceRef="u{i}" targetRef="e{i}"/></bpmn:subProcess>'
        )

    body = (
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/>' + sub(1) + sub(2)
        + '<bpmn:parallelGateway id="join"/>' + user("after") + '<bpmn:endEvent id="end"/>'
        + flows("start>fork", "fork>sub1", "fork>sub2", "sub1>join", "sub2>join", "join>after", "after>end")
    )
    run = runner(model("two_subprocesses", body), ctx)
    for order in (("u1", "u2"), ("u2", "u1")):
        result = run.start({})
        assert ready(result) == ["u1", "u2"]
        result = complete(run, result, order[0], {order[0]: 1})
        assert ready(result) == [order[1]]
        result = complete(run, result, order[1], {order[1]: 2})
        assert ready(result) == ["after"] and result.variables["u1"] + result.variables["u2"] == 3


def test_embedded_subprocess_with_a_user_task(ctx: Any) -> None:
    run = runner("subprocess.bpmn", ctx)
    result = run.start({"bidder": "甲公司"})
    assert [(t.element_id, t.name) for t in result.user_tasks] == [("inner", "审查资格")]
    result = complete(run, result, "inner", {"passed": True})
    assert ready(result) == ["after"]
    assert result.variables["inner_done"] is True and result.variables["bidder"] == "甲公司"
    result = complete(run, result, "after")
    assert result.status == "completed" and result.variables["inner_done"] is True


def test_parallel_multi_instance_over_a_collection(ctx: Any) -> None:
    run = runner("multi_instance.bpmn", ctx)
    result = run.start({"items": [{"expert": f"E{i}"} for i in range(5)]})
    assert ready(result) == ["review"] * 5
    for k in (3, 0, 4, 1, 2):  # completed out of order, one per request
        assert ready(result) == ["review"] * (5 - [3, 0, 4, 1, 2].index(k))
        task = result.user_tasks[0]
        result = run.complete(result.state, task.id, {"item": {"expert": "?", "score": 10 * k + 1}})
    assert ready(result) == ["after"]
    items = result.variables["items"]
    assert len(items) == 5 and all("score" in item for item in items)
    assert result.variables["total"] == sum(10 * k + 1 for k in range(5))


MI_CARDINALITY = model(
    "mi_cardinality",
    '<bpmn:startEvent id="start"/><bpmn:userTask id="sign" name="会签" camunda:candidateGroups="expert">'
    "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>5</bpmn:loopCardinality>"
    "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    + user("after") + '<bpmn:endEvent id="end"/>' + flows("start>sign", "sign>after", "after>end"),
)


def test_parallel_multi_instance_with_loop_cardinality(ctx: Any) -> None:
    run = runner(MI_CARDINALITY, ctx)
    result = run.start({"signed": 0})
    ids = {t.id for t in result.user_tasks}
    assert ready(result) == ["sign"] * 5 and len(ids) == 5
    for left in range(4, -1, -1):
        result = run.complete(result.state, result.user_tasks[-1].id, {"last_signer": left})
        assert ready(result) == (["sign"] * left if left else ["after"])
    assert complete(run, result, "after").status == "completed"


# ---------------------------------------------------------------- 9. pruning changes nothing observable

Trace = list[tuple[str, list[str], dict]]


def observe(result: StepResult, trace: Trace) -> StepResult:
    trace.append((result.status, ready(result), result.variables))
    return result


def scenario_user_loop(ctx: Any, clock: Clock) -> Trace:
    trace: Trace = []
    run = runner("loop_user.bpmn", ctx)
    result = observe(run.start({"done": 0, "finish": False}), trace)
    for k in range(120):
        result = observe(complete(run, result, "work", {"finish": k == 119}), trace)
    return trace


def scenario_exclusive_and_parallel2(ctx: Any, clock: Clock) -> Trace:
    trace: Trace = []
    for amount in (5_000_000, 2_000_000, 5):
        run = runner("exclusive.bpmn", ctx)
        result = observe(run.start({"amount": amount}), trace)
        observe(complete(run, result, result.user_tasks[0].element_id), trace)
    for order in (("tech", "biz", "after"), ("biz", "tech", "after")):
        run = runner("parallel2.bpmn", ctx)
        result = observe(run.start({}), trace)
        for element in order:
            result = observe(complete(run, result, element, {element: order.index(element)}), trace)
    return trace


def scenario_mi_cardinality(ctx: Any, clock: Clock) -> Trace:
    trace: Trace = []
    run = runner(MI_CARDINALITY, ctx)
    result = observe(run.start({}), trace)
    while result.user_tasks:
        result = observe(run.complete(result.state, result.user_tasks[0].id, {"votes": len(trace)}), trace)
    return trace


def scenario_inclusive(ctx: Any, clock: Clock) -> Trace:
    trace: Trace = []
    run = runner("inclusive.bpmn", ctx)
    result = observe(run.start({"amount": 5_000_000, "special": True}), trace)
    for element in ("expert", "legal", "finance", "after"):
        result = observe(complete(run, result, element, {element: 1}), trace)
    return trace


def scenario_cycle_timer(ctx: Any, clock: Clock) -> Trace:
    trace: Trace = []
    run = runner(boundary_timer("timeCycle", "R3/PT1H", interrupting=False), ctx)
    result = observe(run.start({"x": 1}), trace)
    for _ in range(5):
        clock.advance(hours=1)
        result = observe(run.fire_timers(result.state), trace)
    for element in ("alert", "review", "alert", "alert"):
        result = observe(complete(run, result, element, {element: 2}), trace)
    return trace


def scenario_subprocess_and_parallel3(ctx: Any, clock: Clock) -> Trace:
    trace: Trace = []
    run = runner("subprocess.bpmn", ctx)
    result = observe(run.start({}), trace)
    result = observe(complete(run, result, "inner", {"passed": False}), trace)
    observe(complete(run, result, "after"), trace)
    run = runner("parallel3.bpmn", ctx)
    result = observe(run.start({}), trace)
    for element, value in (("c", 5), ("a", 6), ("b", 7), ("after", 0)):
        result = observe(complete(run, result, element, {f"r{element}": value}), trace)
    return trace


@pytest.mark.parametrize(
    "scenario",
    [scenario_user_loop, scenario_exclusive_and_parallel2, scenario_inclusive, scenario_cycle_timer,
     scenario_subprocess_and_parallel3, scenario_mi_cardinality],
)
def test_pruning_is_invisible(ctx: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch, scenario: Callable) -> None:
    pruned = scenario(ctx, clock)
    clock.set(T0)
    disable_pruning(monkeypatch)
    unpruned = scenario(ctx, clock)
    assert pruned[-1][0] == "completed"
    assert [t[0] for t in pruned] == [t[0] for t in unpruned]
    assert [t[1] for t in pruned] == [t[1] for t in unpruned]
    assert [t[2] for t in pruned] == [t[2] for t in unpruned]


def test_without_pruning_a_user_loop_stalls_silently(ctx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: SpiffWorkflow alone loses the user task after ~333 rounds, so the 10,000-round test
    above is meaningful (if this starts failing, SpiffWorkflow changed and prune() may be revisited)."""
    disable_pruning(monkeypatch)
    run = runner("loop_user.bpmn", ctx)
    result = run.start({"done": 0, "finish": False})
    while result.user_tasks and result.variables["done"] < 400:
        result = run.complete(result.state, result.user_tasks[0].id, {})
    assert result.variables["done"] < 400 and result.user_tasks == []
    assert result.status == "completed" and result.variables["finish"] is False  # the silent stall


# ---------------------------------------------------------------------------------------- 10. cancel


@pytest.mark.parametrize(
    "source",
    ["loop_user.bpmn", "parallel3.bpmn", "subprocess.bpmn"],
)
def test_cancel_leaves_nothing_open(ctx: Any, clock: Clock, source: str) -> None:
    run = runner(source, ctx)
    result = run.start({"done": 0, "finish": False})
    assert result.user_tasks
    cancelled = run.cancel(result.state)
    assert cancelled.status == "cancelled"
    assert cancelled.user_tasks == [] and cancelled.timers == []
    with pytest.raises(Conflict):
        run.complete(cancelled.state, result.user_tasks[0].id, {})


@pytest.mark.parametrize("stale", ["twice", "unknown", "garbage"])
def test_completing_a_finished_or_unknown_task_is_a_conflict(ctx: Any, stale: str) -> None:
    run = runner("loop_user.bpmn", ctx)
    first = run.start({"done": 0, "finish": False})
    second = complete(run, first, "work")  # a double submission arrives with the first task's id
    task_id = {"twice": first.user_tasks[0].id, "unknown": str(uuid.uuid4()), "garbage": "not-a-uuid"}[stale]
    with pytest.raises((Conflict, NotFound)):
        run.complete(second.state, task_id, {})


def test_cancel_drops_pending_timers(ctx: Any, clock: Clock) -> None:
    run = runner(boundary_timer("timeCycle", "R3/PT1H", interrupting=False), ctx)
    result = run.start({})
    assert result.timers
    cancelled = run.cancel(result.state)
    assert cancelled.status == "cancelled" and cancelled.timers == [] and cancelled.user_tasks == []
    clock.advance(days=1)
    assert run.fire_timers(cancelled.state).user_tasks == []


# ----------------------------------------------------------------------------- 11. parse refusals

HEAD = b'<?xml version="1.0"?>\n'
DEFS = b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="u">'
LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%s;" % (str(i - 1).encode() if i > 1 else b"") for _ in range(10)))
        for i in range(1, 10)
    )
    + b"]>"
)
REFUSED = {
    "xxe": HEAD + b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + DEFS
    + b'<bpmn:process id="p" name="&e;" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>',
    "xxe_utf16": (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        + DEFS.decode() + '<bpmn:process id="p" name="&e;"><bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>'
    ).encode("utf-16"),
    "billion_laughs": HEAD + LAUGHS + DEFS
    + b'<bpmn:process id="p" name="&lol9;"><bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>',
    "not_xml": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "not_bpmn": HEAD + b"<html><body>hello</body></html>",
    "truncated": model("p", '<bpmn:startEvent id="s"/>')[:-20],
    "no_executable_process": HEAD + DEFS
    + b'<bpmn:process id="p" isExecutable="false"><bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>',
    "no_process": HEAD + DEFS + b"</bpmn:definitions>",
    "flow_to_missing_node": model("p", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + flows("s>ghost")),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_parse_definition_refuses(name: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_definition(REFUSED[name])
    errors = caught.value.errors
    assert isinstance(errors, list) and errors, errors
    for error in errors:
        assert set(error) == {"element_id", "message"}, error
        assert isinstance(error["message"], str) and error["message"]
    if name == "flow_to_missing_node":
        assert any(e["element_id"] in ("f0", "s", "ghost") for e in errors), errors
    assert "root:" not in str(caught.value.errors)  # nothing from /etc/passwd leaked into a message


def test_parse_definition_refuses_a_flow_from_a_missing_node() -> None:
    data = model("p", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + flows("s>e", "ghost>e"))
    with pytest.raises(Invalid) as caught:
        parse_definition(data)
    assert any(e["element_id"] in ("f1", "ghost") for e in caught.value.errors)


def test_parse_definition_accepts_and_describes_a_good_model() -> None:
    parsed = parse_definition(fixture_bytes("subprocess.bpmn"))
    assert (parsed.key, parsed.name) == ("subprocess", "内嵌子流程")
    inner = parsed.elements["inner"]
    assert (inner.type, inner.role, inner.form_key, inner.name) == ("userTask", "staff", "qualify", "审查资格")
    assert parsed.elements["sub"].type == "subProcess"
    assert ("inner_script", "exec", "inner_done = passed") in parsed.expressions
    parsed = parse_definition(boundary_timer("timeCycle", "R3/PT1H", interrupting=False))
    bt = parsed.elements["bt"]
    assert (bt.timer, bt.cancel_activity, bt.attached_to) == ({"kind": "timeCycle", "expression": "R3/PT1H"}, False, "review")
    assert not [e for e in parsed.expressions if e[0] == "bt"], "an ISO literal is not an expression"
