"""The one module that knows SpiffWorkflow: parse BPMN, run an instance to its next wait state."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from domain.errors import Conflict, Invalid, ScriptError
from engine import spiff_quiet  # noqa: F401 - installs the quiet Task._set_state
from engine.bpmn_prune import all_workflows, prune
from engine.bpmn_specs import (
    FORKS,
    SERIALIZER,
    ClockedCycle,
    ClockedDuration,
    ClockedTimeDate,
    install,
    is_iso_literal,
    parse_instant,
    shared_specs,
    timer_keys,
)
from engine.xml import BPMN_NS, CAMUNDA_NS, GGZY_NS, parse_secure_xml

# Steps a single transaction may run before the engine calls it a runaway loop.
MAX_ENGINE_TASKS_PER_STEP = 200_000
# Prune the task tree whenever it holds more tasks than this; keeps every search shallow.
PRUNE_THRESHOLD = 64


class ScriptRunner(Protocol):
    """What the engine needs from the sandbox."""

    def evaluate(self, expression: str, context: dict[str, Any]) -> Any: ...

    def execute(self, script: str, context: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class EngineContext:
    """Per-step collaborators: the sandbox, the platform clock, the statutory time zone, and the platform
    services that ggzy:service tasks call (element id and a copy of the data in, updates out)."""

    scripts: ScriptRunner
    now: Callable[[], datetime]
    tz: Any
    call_service: Callable[[str, dict[str, Any]], dict[str, Any] | None] | None = None


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Element:
    """A flow node of a deployed process as the platform sees it."""

    id: str
    type: str
    name: str
    role: str | None = None
    form_key: str | None = None
    rule: str | None = None
    service: str | None = None
    publish: str | None = None  # ggzy:publish: the kind of public item the task publishes when it completes
    timer: dict[str, str] | None = None
    cancel_activity: bool | None = None
    attached_to: str | None = None


@dataclass(frozen=True)
class ParsedDefinition:
    """A BPMN file checked by the engine: key, name, elements, and the serialized spec."""

    key: str
    name: str
    elements: dict[str, Element]
    expressions: list[tuple[str, str, str]]  # (element_id, mode 'eval'|'exec', source)
    spec_json: str


class BpmnInvalid(Invalid):
    """A BPMN file the engine refuses; errors carry element ids."""

    code = "bpmn_invalid"


_FLOW_TYPES = {
    "userTask", "manualTask", "task", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "startEvent", "endEvent",
    "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
}


def parse_definition(data: bytes) -> ParsedDefinition:
    """Parse and check one BPMN file with one executable process; raise BpmnInvalid with element ids."""
    root = parse_secure_xml(data)
    ns = {"bpmn": BPMN_NS}
    processes = [p for p in root.findall("bpmn:process", ns) if p.get("isExecutable", "true") != "false"]
    if len(processes) != 1:
        raise BpmnInvalid(
            "BPMN 文件必须恰好包含一个可执行流程",
            [{"element_id": None, "message": f"找到 {len(processes)} 个可执行流程 (bpmn:process isExecutable)"}],
        )
    process = processes[0]
    key = process.get("id") or ""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]{0,99}", key):
        raise BpmnInvalid("流程标识不合法", [{"element_id": key, "message": "process id 须为字母、数字、下划线"}])

    flow_errors = _dangling_flows(process)
    if flow_errors:
        raise BpmnInvalid("BPMN 校验失败", flow_errors)
    elements, expressions = _collect_elements(process)
    parser = CamundaParser()
    try:
        parser.add_bpmn_xml(root, filename=f"{key}.bpmn")
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise BpmnInvalid("BPMN 校验失败", [{"element_id": exc.id or None, "message": str(exc)}]) from exc
    except SpiffWorkflowException as exc:
        element_id = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
        raise BpmnInvalid("BPMN 校验失败", [{"element_id": element_id, "message": str(exc)}]) from exc
    except Exception as exc:  # the parser raises bare KeyErrors etc. on malformed models
        raise BpmnInvalid("BPMN 解析失败", [{"element_id": None, "message": repr(exc)}]) from exc

    for sp in [spec, *subprocess_specs.values()]:
        install(sp)
    spec_dict = SERIALIZER.to_dict(spec)
    sub_dict = {name: SERIALIZER.to_dict(s) for name, s in subprocess_specs.items()}
    spec_json = json.dumps({"spec": spec_dict, "subprocess_specs": sub_dict}, ensure_ascii=False)
    return ParsedDefinition(key, process.get("name") or key, elements, expressions, spec_json)


def _dangling_flows(process: Any) -> list[dict[str, Any]]:
    """Sequence flows must join nodes of their own (sub)process; SpiffWorkflow drops some silently."""
    errors = []
    for scope in [process, *process.iter(f"{{{BPMN_NS}}}subProcess")]:
        ids = {n.get("id") for n in scope if isinstance(n.tag, str) and n.tag.split("}")[-1] in _FLOW_TYPES}
        for flow in scope.findall(f"{{{BPMN_NS}}}sequenceFlow"):
            for attr in ("sourceRef", "targetRef"):
                if flow.get(attr) not in ids:
                    errors.append({"element_id": flow.get("id"),
                                   "message": f"顺序流的 {attr}「{flow.get(attr)}」不是本流程中的节点"})
    return errors


def _collect_elements(process: Any) -> tuple[dict[str, Element], list[tuple[str, str, str]]]:
    ns = {"bpmn": BPMN_NS}
    lanes: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall("bpmn:flowNodeRef", ns):
            if ref.text:
                lanes[ref.text.strip()] = (lane.get("name") or "").strip()

    elements: dict[str, Element] = {}
    expressions: list[tuple[str, str, str]] = []
    for node in process.iter():
        if not isinstance(node.tag, str) or not node.tag.startswith(f"{{{BPMN_NS}}}"):
            continue
        tag = node.tag.split("}", 1)[1]
        element_id = node.get("id")
        if tag == "sequenceFlow":
            cond = node.find("bpmn:conditionExpression", ns)
            if cond is not None and (cond.text or "").strip():
                expressions.append((element_id or "", "eval", cond.text.strip()))
            continue
        if tag not in _FLOW_TYPES or not element_id:
            continue
        groups = node.get(f"{{{CAMUNDA_NS}}}candidateGroups")
        role = lanes.get(element_id) or (groups.split(",")[0].strip() if groups else None)
        timer = None
        timer_def = node.find("bpmn:timerEventDefinition", ns)
        if timer_def is not None:
            for kind in ("timeDate", "timeDuration", "timeCycle"):
                value = timer_def.find(f"bpmn:{kind}", ns)
                if value is not None:
                    timer = {"kind": kind, "expression": (value.text or "").strip()}
                    if not is_iso_literal(timer["expression"]):
                        expressions.append((element_id, "eval", timer["expression"]))
        if tag == "scriptTask":
            script = node.find("bpmn:script", ns)
            expressions.append((element_id, "exec", (script.text or "") if script is not None else ""))
        cancel = node.get("cancelActivity", "true") != "false" if tag == "boundaryEvent" else None
        elements[element_id] = Element(
            id=element_id,
            type=tag,
            name=(node.get("name") or element_id).strip(),
            role=role,
            form_key=node.get(f"{{{CAMUNDA_NS}}}formKey"),
            rule=node.get(f"{{{GGZY_NS}}}rule"),
            service=node.get(f"{{{GGZY_NS}}}service"),
            publish=node.get(f"{{{GGZY_NS}}}publish"),
            timer=timer,
            cancel_activity=cancel,
            attached_to=node.get("attachedToRef"),
        )
    return elements, expressions


# ---------------------------------------------------------------- the sandboxed script engine


class _SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, scripts: ScriptRunner) -> None:
        super().__init__({})
        self.scripts = scripts

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        return self.scripts.evaluate(expression, {**(external_context or {}), **context})

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        result = self.scripts.execute(script, {**(external_context or {}), **context})
        context.clear()
        context.update(result)
        return True


class _ScriptEngine(PythonScriptEngine):
    def __init__(self, context: EngineContext) -> None:
        super().__init__(environment=_SandboxEnvironment(context.scripts))
        self.context = context

    def evaluate(self, task: Any, expression: str, external_context: dict | None = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ScriptError as exc:
            raise _element_error(task, exc) from exc

    def execute(self, task: Any, script: str, external_context: dict | None = None) -> bool:
        try:
            return self.environment.execute(script, task.data, external_context)
        except ScriptError as exc:
            raise _element_error(task, exc) from exc


def _element_error(task: Any, exc: ScriptError) -> ScriptError:
    element = task.task_spec.bpmn_id or task.task_spec.name
    return ScriptError(f"{task.task_spec.bpmn_name or element}：{exc.message}", {"element_id": element})


# ---------------------------------------------------------------- running instances


@dataclass(frozen=True)
class ReadyTask:
    """A user task waiting for a person."""

    id: str
    element_id: str
    name: str


@dataclass(frozen=True)
class PendingTimer:
    """A timer event waiting for its due time."""

    task_id: str
    element_id: str
    name: str
    due_at: datetime
    kind: str
    boundary: bool


@dataclass
class StepResult:
    """What a step left behind: state to store, status, and the projections the platform keeps."""

    state: dict[str, Any]
    status: str
    variables: dict[str, Any]
    user_tasks: list[ReadyTask]
    timers: list[PendingTimer]
    ran: list[tuple[str, str, str]] = field(default_factory=list)  # (task id, element id, name)
    # What the step's tasks wrote, in the order they completed: parallel branches each carry a copy of the
    # data, so the platform's view of the variables is built from changes, never from one branch's copy.
    changed: dict[str, Any] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)


class Runner:
    """Loads one instance's workflow, acts on it, and runs it to the next wait state."""

    def __init__(self, spec_json: str, context: EngineContext) -> None:
        self.spec_json = spec_json
        self.context = context

    def start(self, variables: dict[str, Any]) -> StepResult:
        """Create the workflow with its start variables and run it."""
        spec, subs = shared_specs(self.spec_json)
        workflow = BpmnWorkflow(spec, subs, script_engine=_ScriptEngine(self.context))
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(variables)
        return self._advance(workflow, [])

    def complete(self, state: dict[str, Any], task_id: str, data: dict[str, Any]) -> StepResult:
        """Complete a ready user task with its form data."""
        workflow = self._load(state)
        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except (ValueError, TaskNotFoundException):
            raise _not_ready(task_id) from None
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise _not_ready(task_id)
        task.data.update(data)
        task.run()
        changes = _Changes()
        changes.note(task)
        return self._advance(workflow, [(str(task.id), task.task_spec.bpmn_id, task.task_spec.bpmn_name)], changes)

    def fire_timers(self, state: dict[str, Any]) -> StepResult:
        """Let every timer due by the platform clock fire, then run on."""
        workflow = self._load(state)
        workflow.refresh_timers()
        return self._advance(workflow, [])

    def cancel(self, state: dict[str, Any]) -> StepResult:
        """Cancel every open task."""
        workflow = self._load(state)
        workflow.cancel()
        result = self._result(workflow, [])
        result.status = "cancelled"
        return result

    def _load(self, state: dict[str, Any]) -> BpmnWorkflow:
        spec, subs = shared_specs(self.spec_json)
        # The serializer takes restored spec objects as they are: only the instance's own state is decoded.
        workflow = SERIALIZER.from_dict({**state, "spec": spec, "subprocess_specs": subs})
        workflow.script_engine = _ScriptEngine(self.context)
        return workflow

    def _advance(self, workflow: BpmnWorkflow, ran: list[tuple[str, str, str]],
                 changes: _Changes | None = None) -> StepResult:
        observed: dict[UUID, tuple[str, str, str]] = {}
        changes = changes or _Changes()

        def note(task: Any) -> None:
            observed[task.id] = (str(task.id), task.task_spec.bpmn_id or "", task.task_spec.bpmn_name or "")
            changes.note(task)

        count = 0
        try:
            while workflow._do_engine_steps(None, note):
                count = len(observed)
                if count > MAX_ENGINE_TASKS_PER_STEP:
                    raise ScriptError("流程在一次推进中执行的步骤过多，可能陷入无限循环")
                if _size(workflow) > PRUNE_THRESHOLD:
                    prune(workflow)
            # Timers that fell due while the step ran (a zero or past duration) fire in the same step; most steps
            # have none, and skip the extra pass over the tree.
            if _refresh_timers(workflow):
                while workflow._do_engine_steps(None, note):
                    if _size(workflow) > PRUNE_THRESHOLD:
                        prune(workflow)
        except SpiffWorkflowException as exc:
            element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
            raise ScriptError(f"流程执行失败（{element}）：{exc}", {"element_id": element}) from exc
        prune(workflow)
        ran = ran + [v for v in observed.values() if v[1]]
        result = self._result(workflow, ran)
        result.changed, result.removed = changes.updates, changes.deletions
        return result

    def _result(self, workflow: BpmnWorkflow, ran: list[tuple[str, str, str]]) -> StepResult:
        state = SERIALIZER.to_dict(workflow)
        state.pop("spec", None)
        state.pop("subprocess_specs", None)
        completed = workflow.is_completed()
        return StepResult(
            state=state,
            status="completed" if completed else "running",
            variables=_variables(workflow),
            user_tasks=[] if completed else _ready_user_tasks(workflow),
            timers=[] if completed else _pending_timers(workflow),
            ran=ran,
        )


class _Changes:
    """Accumulates what completed tasks changed relative to their parents, in completion order."""

    def __init__(self) -> None:
        self.updates: dict[str, Any] = {}
        self.deletions: set[str] = set()

    def note(self, task: Any) -> None:
        base = task.parent.data if task.parent is not None else {}
        for key, value in task.data.items():
            if key != FORKS and (key not in base or base[key] != value):
                self.updates[key] = value
                self.deletions.discard(key)
        for key in base:
            if key != FORKS and key not in task.data:
                self.deletions.add(key)
                self.updates.pop(key, None)


def _refresh_timers(workflow: BpmnWorkflow) -> bool:
    """Let waiting timer events see the clock; True when one of them changed state (fell due)."""
    waiting = workflow.event_manager.tasks
    before = {task_id: task.state for task_id, task in waiting.items()}
    workflow.refresh_timers()
    return {task_id: task.state for task_id, task in waiting.items()} != before


def _not_ready(task_id: str) -> Exception:
    return Conflict(f"任务 {task_id} 当前不可办理", {"task_id": task_id})


def _size(workflow: BpmnWorkflow) -> int:
    return sum(len(wf.tasks) for wf in all_workflows(workflow))


def _variables(workflow: BpmnWorkflow) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if workflow.last_task is not None:
        data.update(workflow.last_task.data)
    data.update(workflow.data)
    data.pop("data_objects", None)
    data.pop(FORKS, None)
    return data


def _ready_user_tasks(workflow: BpmnWorkflow) -> list[ReadyTask]:
    tasks = []
    for wf in all_workflows(workflow):
        for task in wf.tasks.values():
            if task.state == TaskState.READY and task.task_spec.manual:
                spec = task.task_spec
                tasks.append(ReadyTask(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id))
    return tasks


def _pending_timers(workflow: BpmnWorkflow) -> list[PendingTimer]:
    timers = []
    for wf in all_workflows(workflow):
        for task in wf.tasks.values():
            if task.state != TaskState.WAITING:
                continue
            spec = task.task_spec
            definition = getattr(spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition):
                candidates = [(definition, spec.bpmn_name or definition.name or spec.bpmn_id)]
            elif isinstance(definition, MultipleEventDefinition):
                # an event-based gateway: one task waits on several timers at once
                candidates = [(d, f"{d.name or spec.bpmn_name or spec.bpmn_id} #{i + 1}")
                              for i, d in enumerate(definition.event_definitions)
                              if isinstance(d, TimerEventDefinition)]
            else:
                continue
            for timer, name in candidates:
                value = task._get_internal_data(timer_keys(timer, task)[0])
                if isinstance(value, dict):
                    value = value.get("next")
                if not value:
                    continue
                kind = {ClockedTimeDate: "date", ClockedDuration: "duration", ClockedCycle: "cycle"}.get(
                    type(timer), "date")
                timers.append(PendingTimer(
                    task_id=str(task.id), element_id=spec.bpmn_id, name=name, due_at=parse_instant(value),
                    kind=kind, boundary=isinstance(spec, BoundaryEvent),
                ))
    return timers


