"""Deploy BPMN process definitions: checked, versioned by content, immutable once deployed."""
from __future__ import annotations

import hashlib
import re
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import statutes
from domain.access import ROLES, Actor
from domain.errors import Invalid, NotFound
from engine.bpmn import BpmnInvalid, ParsedDefinition, parse_definition
from persistence.models import ProcessDefinition
from services import audit, disclosure, sealing, service_tasks
from services.forms import latest as latest_form
from services.platform import Platform
from services.scripting import static_checker

HUMAN_TASKS = {"userTask", "manualTask"}


def deploy(session: Session, data: bytes, actor: Actor | None, now: Any) -> tuple[ProcessDefinition, bool]:
    """Check and store a BPMN file; the same bytes again return the existing version."""
    checksum = hashlib.sha256(data).hexdigest()
    parsed = parse_definition(data)
    existing = session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == parsed.key, ProcessDefinition.checksum == checksum)
    )
    if existing is not None:
        return existing, False
    errors = check(session, parsed)
    if errors:
        raise BpmnInvalid("流程定义未通过部署检查", errors)
    version = (session.scalar(
        select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == parsed.key)) or 0) + 1
    row = ProcessDefinition(
        key=parsed.key, version=version, checksum=checksum, name=parsed.name,
        bpmn_xml=_as_text(data), spec_json=parsed.spec_json,
        elements=_elements(session, parsed),
        deployed_at=now, deployed_by=actor.username if actor else None,
    )
    session.add(row)
    session.flush()
    audit.append(session, audit.PLATFORM_CHAIN, "definition.deployed", actor, now,
                 {"key": row.key, "version": version, "checksum": checksum})
    return row, True


def _elements(session: Session, parsed: ParsedDefinition) -> dict[str, dict[str, Any]]:
    """The elements' metadata, with the sealed fields of each task's form as deployed now."""
    elements = {k: asdict(v) for k, v in parsed.elements.items()}
    for element in elements.values():
        form = latest_form(session, element["form_key"]) if element.get("form_key") else None
        fields = sealing.form_fields(form.schema) if form is not None else []
        if fields:
            element[sealing.ELEMENT_KEY] = fields
    return elements


def _as_text(data: bytes) -> str:
    """The XML as UTF-8 text; files saved as GBK by Chinese Windows tools are converted, declaration too."""
    with suppress(UnicodeDecodeError):
        return data.decode("utf-8")
    match = re.match(rb"""<\?xml[^>]*encoding=["']([A-Za-z0-9_\-]+)["']""", data)
    encoding = match.group(1).decode("ascii") if match else "gb18030"
    text = data.decode(encoding if encoding.lower() not in ("gbk", "gb2312") else "gb18030")
    return re.sub(r"""(<\?xml[^>]*encoding=["'])[A-Za-z0-9_\-]+(["'])""", r"\1UTF-8\2", text, count=1)


def check(session: Session, parsed: ParsedDefinition) -> list[dict[str, Any]]:
    """Platform rules beyond the engine's: roles, forms, statutory rule ids, sandbox-safe scripts."""
    errors: list[dict[str, Any]] = []
    for element in parsed.elements.values():
        if element.type in HUMAN_TASKS:
            if not element.role:
                errors.append(_err(element.id, "用户任务必须放在以角色命名的泳道中，或设置 camunda:candidateGroups"))
            elif element.role not in ROLES:
                errors.append(_err(element.id, f"未知角色 {element.role!r}（泳道名须为角色标识：{', '.join(ROLES)}）"))
        if element.form_key and latest_form(session, element.form_key) is None:
            errors.append(_err(element.id, f"表单 {element.form_key} 尚未部署（forms/{element.form_key}.json）"))
        if element.rule and not statutes.rule_exists(element.rule):
            errors.append(_err(element.id, f"未知的法定时限规则 {element.rule!r}"))
        if element.type == "serviceTask":
            if not element.service:
                errors.append(_err(element.id, "服务任务须用 ggzy:service 指定平台服务"))
            elif not service_tasks.exists(element.service):
                errors.append(_err(element.id, f"未知的平台服务 {element.service!r}"))
        errors.extend(_err(element.id, message) for message in disclosure.deploy_errors(session, element))
    checker = static_checker()
    for element_id, mode, source in parsed.expressions:
        for message in checker.check(source, "exec" if mode == "exec" else "eval"):
            errors.append(_err(element_id, f"脚本/表达式不安全或有误：{message}"))
    return errors


def _err(element_id: str, message: str) -> dict[str, Any]:
    return {"element_id": element_id, "message": message}


def deploy_bytes(p: Platform, data: bytes, actor: Actor | None) -> tuple[dict[str, Any], bool]:
    """Deploy one BPMN file (designer, admin, CLI)."""
    def use_case(session: Session) -> tuple[dict[str, Any], bool]:
        row, created = deploy(session, data, actor, p.clock.now())
        return summary(row), created

    return p.db.run(use_case)


def validate_bytes(p: Platform, data: bytes) -> dict[str, Any]:
    """Run the deploy checks on a BPMN file without deploying it (the modeler's dry run)."""
    try:
        parsed = parse_definition(data)
    except Invalid as exc:  # BpmnInvalid, or XML that is not well-formed
        errors = exc.errors if isinstance(exc.errors, list) else [{"element_id": None, "message": exc.message}]
        return {"valid": False, "key": None, "name": None, "message": exc.message, "errors": errors}
    with p.db.sessions() as session:
        errors = check(session, parsed)
    return {"valid": not errors, "key": parsed.key, "name": parsed.name,
            "message": "流程定义未通过部署检查" if errors else "校验通过", "errors": errors}


def deploy_files(session: Session, paths: list[Path], actor: Actor | None, now: Any) -> list[dict[str, Any]]:
    """Deploy BPMN files in one transaction (ggzy init)."""
    out = []
    for path in paths:
        row, created = deploy(session, path.read_bytes(), actor, now)
        out.append({**summary(row), "created": created, "file": str(path)})
    return out


def latest(session: Session, key: str) -> ProcessDefinition:
    """The latest version of a process, or NotFound."""
    row = session.scalars(
        select(ProcessDefinition).where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc()).limit(1)
    ).first()
    if row is None:
        raise NotFound(f"流程 {key} 不存在")
    return row


def list_latest(p: Platform) -> list[dict[str, Any]]:
    """The latest version of every process key."""
    with p.db.sessions() as session:
        newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
                  .group_by(ProcessDefinition.key).subquery())
        rows = session.scalars(
            select(ProcessDefinition).join(
                newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.v))
            .order_by(ProcessDefinition.key)
        )
        return [summary(r) for r in rows]


def describe(p: Platform, key: str) -> dict[str, Any]:
    """Metadata of a process with its versions."""
    with p.db.sessions() as session:
        row = latest(session, key)
        versions = session.execute(
            select(ProcessDefinition.version, ProcessDefinition.checksum, ProcessDefinition.deployed_at)
            .where(ProcessDefinition.key == key).order_by(ProcessDefinition.version)
        ).all()
        return {
            **summary(row),
            "elements": row.elements,
            "versions": [{"version": v, "checksum": c, "deployed_at": d.isoformat()} for v, c, d in versions],
        }


def xml(p: Platform, key: str, version: int | None) -> str:
    """The BPMN XML of the latest or a given version."""
    with p.db.sessions() as session:
        if version is None:
            return latest(session, key).bpmn_xml
        row = session.scalar(select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.version == version))
        if row is None:
            raise NotFound(f"流程 {key} 没有第 {version} 版")
        return row.bpmn_xml


def summary(row: ProcessDefinition) -> dict[str, Any]:
    """Key, version, checksum and name."""
    return {"key": row.key, "version": row.version, "checksum": row.checksum, "name": row.name,
            "deployed_at": row.deployed_at.isoformat()}
