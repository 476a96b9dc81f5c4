"""Deploy and read task forms (JSON Schemas), versioned by content."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from domain import forms
from domain.errors import Invalid, NotFound
from persistence.db import shared
from persistence.models import Form
from services.platform import Platform

KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$")


def deploy_form(session: Session, key: str, schema: Any, now: Any) -> tuple[dict[str, Any], bool]:
    """Store a new version unless the same schema is already the latest; (form, created)."""
    if not KEY.match(key):
        raise Invalid("表单标识不合法", [{"field": "key", "message": "字母、数字、下划线、点、连字符"}])
    if not isinstance(schema, dict):
        raise Invalid("表单必须是 JSON 对象形式的 JSON Schema")
    forms.check_schema(schema)
    checksum = hashlib.sha256(json.dumps(schema, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    existing = session.scalar(select(Form).where(Form.key == key, Form.checksum == checksum))
    if existing is not None:
        return form_to_dict(existing), False
    version = (session.scalar(select(func.max(Form.version)).where(Form.key == key)) or 0) + 1
    row = Form(key=key, version=version, checksum=checksum, schema=schema, deployed_at=now)
    session.add(row)
    session.flush()
    return form_to_dict(row), True


def put_form(p: Platform, key: str, schema: Any) -> tuple[dict[str, Any], bool]:
    """Deploy one form (designer, admin)."""
    return p.db.run(lambda s: deploy_form(s, key, schema, p.clock.now()))


def deploy_form_files(session: Session, folder: Path, now: Any) -> list[dict[str, Any]]:
    """Deploy every forms/*.json whose content is new."""
    out = []
    for path in sorted(folder.glob("*.json")):
        key, schema = forms.load_form_file(path)
        form, created = deploy_form(session, key, schema, now)
        out.append({**form, "created": created})
    return out


_schemas: dict[tuple[int, str], dict[str, Any]] = {}


def latest_version_columns(key: Any) -> tuple[Any, Any]:
    """Id and checksum of the latest version of the form named by the SQL expression key, as subqueries."""
    def column(name: Any) -> Any:
        return select(name).where(Form.key == key).order_by(Form.version.desc()).limit(1).scalar_subquery()

    return column(Form.id), column(Form.checksum)


def schema_of(session: Session, form_id: int, checksum: str) -> dict[str, Any]:
    """A deployed version's schema, kept in memory: a version never changes. Callers only read it."""
    # The checksum guards against ids that repeat when a database is recreated.
    cached = _schemas.get((form_id, checksum))
    if cached is None:
        row = session.get(Form, form_id)
        if row is None or row.checksum != checksum:
            raise NotFound(f"表单版本 {form_id} 不存在")
        cached = row.schema
        if len(_schemas) >= 1000:
            _schemas.clear()
        _schemas[(form_id, checksum)] = cached
    return cached


_LATEST = shared(select(Form).where(Form.key == bindparam("key")).order_by(Form.version.desc()).limit(1))


def latest(session: Session, key: str) -> Form | None:
    """The latest deployed version of a form."""
    return session.scalars(_LATEST, {"key": key}).first()


def get_form(p: Platform, key: str) -> dict[str, Any]:
    """The latest schema of a form."""
    with p.db.sessions() as session:
        row = latest(session, key)
        if row is None:
            raise NotFound(f"表单 {key} 不存在")
        return form_to_dict(row)


def form_to_dict(row: Form) -> dict[str, Any]:
    """A form's metadata and schema."""
    return {"key": row.key, "version": row.version, "checksum": row.checksum, "schema": row.schema}
