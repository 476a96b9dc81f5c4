"""SpiffWorkflow task specs as the platform runs them: timers on the platform clock, joins that merge
what each branch changed, multi-instance specs fixed at parse time, the serializer that knows them, and the
decoded specs of deployed versions that steps share."""
from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.task_spec import (
    BpmnTaskSpecConverter,
    ConditionalGatewayConverter,
    ParallelGatewayConverter,
)
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway, ServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.multiinstance_task import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.util.task import TaskState

from domain.errors import ScriptError

# ---------------------------------------------------------------- timers on the platform clock

_ISO_LITERAL = re.compile(
    r"^(R\d*/)?(P(?=\d|T\d)[\dYMWD.,]*(T[\dHMS.,]+)?"
    r"|\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)"
    r"(/(P[\dYMWDTHS.,]+|\d{4}-\d{2}-\d{2}\S*))?$"
)


def is_iso_literal(expression: str) -> bool:
    return bool(_ISO_LITERAL.match(expression.strip()))


def _context(my_task: Any) -> Any:
    return my_task.workflow.top_workflow.script_engine.context


def _timer_value(my_task: Any, expression: str) -> str:
    """Literal ISO 8601 as every BPMN engine reads it, or a sandboxed expression over the variables."""
    text = expression.strip()
    value = text if is_iso_literal(text) else my_task.workflow.script_engine.evaluate(my_task, text)
    return _normalize_time(value, _context(my_task).tz)


def _normalize_time(value: Any, tz: Any) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).isoformat()
    if isinstance(value, date):
        value = value.isoformat()
    if not isinstance(value, str):
        raise ScriptError(f"定时器表达式必须得到 ISO 8601 字符串，得到的是 {type(value).__name__}")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        # A period ends at 24:00 of its last day (STATUTES.md), in the statutory zone.
        end = datetime.combine(date.fromisoformat(value) + timedelta(days=1), datetime.min.time(), tz)
        return end.isoformat()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T[^+Z]*", value) and not re.search(r"[+-]\d{2}:?\d{2}$", value):
        return datetime.fromisoformat(value).replace(tzinfo=tz).isoformat()
    return value


def _utc_now(my_task: Any) -> datetime:
    return _context(my_task).now().astimezone(UTC)


def parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def timer_keys(definition: Any, my_task: Any) -> tuple[str, str]:
    """Where a timer keeps its due time; timers behind one event-based gateway share a task, so each
    needs its own slot."""
    parent = getattr(my_task.task_spec, "event_definition", None)
    if not isinstance(parent, MultipleEventDefinition):
        return "event_value", "event_fired"
    index = next(i for i, d in enumerate(parent.event_definitions) if d is definition)
    return f"event_value_{index}", f"event_fired_{index}"


class _Clocked:
    """has_fired on the platform clock; subclasses say how the due instant is computed."""

    expression: str
    due_value: Callable[[Any], str]  # each timer kind says how its due instant is computed

    def has_fired(self, my_task: Any) -> bool:
        value_key, fired_key = timer_keys(self, my_task)
        value = my_task._get_internal_data(value_key)
        if value is None:
            value = self.due_value(my_task)
            parse_instant(value)
            my_task._set_internal_data(**{value_key: value})
        if parse_instant(value) <= _utc_now(my_task):
            my_task._set_internal_data(**{fired_key: True})
        return bool(my_task._get_internal_data(fired_key, False))


class ClockedTimeDate(_Clocked, TimeDateEventDefinition):
    """A timeDate timer read on the platform clock."""

    def due_value(self, my_task: Any) -> str:
        return _timer_value(my_task, self.expression)


class ClockedDuration(_Clocked, DurationTimerEventDefinition):
    """A timeDuration timer counted from the platform clock."""

    def due_value(self, my_task: Any) -> str:
        duration = _timer_value(my_task, self.expression)
        start = _context(my_task).now()
        return (start + TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(duration), start)).isoformat()


class ClockedCycle(CycleTimerEventDefinition):
    """A timeCycle timer (R3/PT1H) stepped on the platform clock."""

    def cycle_complete(self, my_task: Any) -> bool:
        value = my_task._get_internal_data("event_value")
        if value is None:
            cycles, start, duration = _parse_cycle(_timer_value(my_task, self.expression), my_task)
            value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if value["cycles"] != 0:
            next_event = parse_instant(value["next"])
            if next_event <= _utc_now(my_task):
                value["next"] = (next_event + timedelta(seconds=value["duration"])).isoformat()
                value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=value)
        return ready


def _parse_cycle(expression: str, my_task: Any) -> tuple[int, datetime, timedelta]:
    parts = expression.upper().strip("R").split("/")
    cycles = int(parts[0]) if parts[0] else -1
    if len(parts) == 2 and parts[1].startswith("P"):
        now = _context(my_task).now()
        duration = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(parts[1]), now
        )
        return cycles, now + duration, duration
    return TimerEventDefinition.parse_iso_recurring_interval(expression)



# ---------------------------------------------------------------- joins

FORKS = "__forks__"  # a stack of the data as it was at each open split, hidden from variables
MAX_OPEN_FORKS = 32


class _MergingJoin:
    """A join that merges what each branch changed since the split.

    SpiffWorkflow merges every branch's whole copy of the data in completion order, so a variable that
    existed before the split keeps the stale value of the last branch to finish, whatever the others
    set it to. Tokens of earlier loop rounds are left out.
    """

    inputs: list[Any]
    outputs: list[Any]

    def _merge(self, my_task: Any) -> None:
        workflow = my_task.workflow
        fired = [t.last_state_change for t in workflow.tasks.values()
                 if t.task_spec == self and t.state == TaskState.COMPLETED and my_task.is_descendant_of(t)]
        since = max(fired, default=0.0)
        tokens = sorted(
            (t for t in workflow.tasks.values()
             if t.task_spec == self and t.has_state(TaskState.FINISHED_MASK)
             and not my_task.is_descendant_of(t) and t.last_state_change > since),
            key=lambda t: t.last_state_change,
        )
        my_task._inherit_data()
        if len(self.inputs) > 1:
            stack = my_task.data.get(FORKS) or [{}]
            baseline = stack[-1]
            branches = [t.parent.data for t in tokens if t.parent is not None] + [my_task.data]
            merged = copy.deepcopy(baseline)
            for branch in branches:
                for key, value in branch.items():
                    if key != FORKS and (key not in baseline or baseline[key] != value):
                        merged[key] = copy.deepcopy(value)
            for key in [k for k in merged if all(k not in b for b in branches)]:
                del merged[key]  # every branch deleted it
            merged[FORKS] = stack[:-1]
            my_task.data = merged
            for token in tokens:
                if token.has_state(TaskState.COMPLETED):
                    token._drop_children(force=True)
        if len(self.outputs) > 1:
            snapshot = {k: copy.deepcopy(v) for k, v in my_task.data.items() if k != FORKS}
            my_task.data[FORKS] = ((my_task.data.get(FORKS) or []) + [snapshot])[-MAX_OPEN_FORKS:]


class MergingParallelGateway(_MergingJoin, ParallelGateway):
    """bpmn:parallelGateway with the platform's data merge."""

    def _run_hook(self, my_task: Any) -> bool:
        self._merge(my_task)
        return True


class MergingInclusiveGateway(_MergingJoin, InclusiveGateway):
    """bpmn:inclusiveGateway with the platform's data merge."""

    def _run_hook(self, my_task: Any) -> bool:
        self._merge(my_task)
        matches, defaults = self._get_matching_outputs(my_task)
        if not matches + defaults:
            raise WorkflowTaskException("No conditions satisfied on gateway", task=my_task)
        my_task._sync_children(matches or defaults, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


# ---------------------------------------------------------------- service tasks


class PlatformServiceTask(ServiceTask):
    """bpmn:serviceTask with ggzy:service: runs a registered platform service inside the step's transaction."""

    def _execute(self, task: Any) -> bool:
        call = _context(task).call_service
        if call is None:
            raise ScriptError(f"服务任务 {self.bpmn_id} 无法在此环境中执行")
        data = {k: v for k, v in task.data.items() if k != FORKS}
        result = call(self.bpmn_id, copy.deepcopy(data))
        if result:
            task.data.update(result)
        return True


# ---------------------------------------------------------------- installing and serializing

_CLOCKED = {
    TimeDateEventDefinition: ClockedTimeDate,
    DurationTimerEventDefinition: ClockedDuration,
    CycleTimerEventDefinition: ClockedCycle,
}


_GATEWAYS: dict[type, type] = {
    ParallelGateway: MergingParallelGateway,
    InclusiveGateway: MergingInclusiveGateway,
    ServiceTask: PlatformServiceTask,
}


def install(spec: Any) -> None:
    """Turn a freshly parsed spec into the platform's: clocked timers, merging joins, fixed multi-instance."""
    for task_spec in spec.task_specs.values():
        gateway = _GATEWAYS.get(type(task_spec))
        if gateway is not None:
            task_spec.__class__ = gateway
        if isinstance(task_spec, (ParallelMultiInstanceTask, SequentialMultiInstanceTask)):
            _fix_collection_multi_instance(task_spec)
        definition = getattr(task_spec, "event_definition", None)
        if definition is None:
            continue
        for d in [definition, *getattr(definition, "event_definitions", [])]:
            clocked = _CLOCKED.get(type(d))
            if clocked is not None:
                d.__class__ = clocked


def _fix_collection_multi_instance(task_spec: Any) -> None:
    # Camunda's multi-instance sets its input collection on the spec at run time; the platform reloads
    # the deployed spec every step, so set it at parse time, as the run would have.
    if task_spec.cardinality is None and task_spec.data_output is not None and task_spec.data_input is None:
        task_spec.data_input = TaskDataReference(task_spec.data_output.bpmn_id)
        if task_spec.output_item is not None:
            task_spec.input_item = TaskDataReference(task_spec.output_item.bpmn_id)


def _serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    for cls in _CLOCKED.values():
        config[cls] = TimerConditionalEventDefinitionConverter
    config[MergingParallelGateway] = ParallelGatewayConverter
    config[MergingInclusiveGateway] = ConditionalGatewayConverter
    config[PlatformServiceTask] = BpmnTaskSpecConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _serializer()


# ---------------------------------------------------------------- deployed specs, decoded once

# Deployed versions whose decoded spec is kept in memory, shared by every step of their instances.
SHARED_SPECS = 64
_SHARED: dict[str, tuple[Any, dict[str, Any]] | None] = {}
_SHARED_LOCK = threading.Lock()


def shared_specs(spec_json: str) -> tuple[Any, dict[str, Any]]:
    """A deployed version's process spec and subprocess specs, decoded once and shared when that is safe."""
    with _SHARED_LOCK:
        shared = _SHARED.get(spec_json, False)
    if shared:
        spec, subs = shared  # type: ignore[misc]
        return spec, dict(subs)
    specs = json.loads(spec_json)
    spec = SERIALIZER.from_dict(specs["spec"])
    subs = {name: SERIALIZER.from_dict(s) for name, s in specs["subprocess_specs"].items()}
    if shared is False:
        # Specs are only read while instances run, except loop and multi-instance tasks (SpiffWorkflow
        # connects listeners to them and Camunda's multi-instance rewrites its inputs): those versions get
        # a freshly decoded spec every step, as before.
        loops = any(isinstance(t, LoopTask) for sp in (spec, *subs.values()) for t in sp.task_specs.values())
        with _SHARED_LOCK:
            if len(_SHARED) >= SHARED_SPECS:
                _SHARED.pop(next(iter(_SHARED)))
            _SHARED[spec_json] = None if loops else (spec, subs)
    return spec, dict(subs)
