"""History pruning of SpiffWorkflow's task tree."""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState


def all_workflows(workflow: Any) -> list[Any]:
    """The top workflow and every live subprocess."""
    return [workflow, *workflow.subprocesses.values()]


def prune(workflow: Any) -> None:
    """Drop finished tasks nothing still depends on, so a step costs the same at any history length.

    SpiffWorkflow keeps every finished task in one tree and searches it from the root, which makes each
    step slower with history and silently stops finding tasks below depth 1000. The platform keeps
    history in its own tables, so the engine only needs the live frontier: unfinished tasks, their
    parents (data source, boundary splits), join tokens not yet consumed, and the children of started
    tasks (multi-instance and loop bookkeeping).
    """
    for wf in all_workflows(workflow):
        _prune_one(wf)
    while True:
        live = {tid for wf in all_workflows(workflow) for tid in wf.tasks}
        orphans = [sp_id for sp_id in workflow.subprocesses if sp_id not in live]
        if not orphans:
            return
        for sp_id in orphans:
            del workflow.subprocesses[sp_id]


def _live_children(tasks: dict[Any, Any], task: Any) -> list[Any]:
    """A started loop or multi-instance task needs its unfinished children and the one merged last (its
    completion condition reads it); the instances finished before are merged into its data already."""
    children = [tasks[c] for c in task._children if c in tasks]
    finished = [c for c in children if c.has_state(TaskState.FINISHED_MASK)]
    newest = max(finished, key=lambda c: c.last_state_change, default=None)
    return [c.id for c in children if c is newest or not c.has_state(TaskState.FINISHED_MASK)]


def _prune_one(wf: Any) -> None:
    tasks = wf.tasks
    root = wf.task_tree
    keep = {root.id}
    last_join_fire: dict[str, float] = {}
    for task in tasks.values():
        if isinstance(task.task_spec, UnstructuredJoin) and task.state == TaskState.COMPLETED:
            name = task.task_spec.name
            last_join_fire[name] = max(last_join_fire.get(name, 0.0), task.last_state_change)
    for task in tasks.values():
        unfinished = not task.has_state(TaskState.FINISHED_MASK)
        unconsumed_token = (
            isinstance(task.task_spec, UnstructuredJoin)
            and task.has_state(TaskState.FINISHED_MASK)
            and task.last_state_change > last_join_fire.get(task.task_spec.name, 0.0)
        )
        if unfinished or unconsumed_token:
            keep.add(task.id)
            if task._parent is not None:
                keep.add(task._parent)
            if task.state == TaskState.STARTED:
                keep.update(_live_children(tasks, task))
    if wf.last_task is not None:
        keep.add(wf.last_task.id)
    if len(keep) == len(tasks):
        return
    kept = {tid: t for tid, t in tasks.items() if tid in keep}
    for task in kept.values():
        task._children = []
    for task in kept.values():
        if task is root:
            continue
        parent_id = task._parent
        while parent_id is not None and parent_id not in kept:
            parent_id = tasks[parent_id]._parent if parent_id in tasks else None
        parent_id = parent_id if parent_id is not None else root.id
        task._parent = parent_id
        kept[parent_id]._children.append(task.id)
    wf.tasks = kept
    if wf.last_task is not None and wf.last_task.id not in kept:
        wf.last_task = None
