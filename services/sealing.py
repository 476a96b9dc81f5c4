"""Sealed values (标底、底价): kept by the engine and the trading services, masked in every API view.

A form field marked `"x-ggzy-sealed": true` holds a value no one may read through the platform while the
trade runs, staff included (国土资源部令第39号 第十条: 标底、底价在出让活动结束前必须保密). The names are
fixed when a process version is deployed and kept with its elements; views of its instances, tasks and
events show a mask instead. The audit chain hashes the real values (`ggzy audit verify` checks them).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from domain.forms import SEALED_KEY
from persistence.models import ProcessInstance
from services import steps

MASK = "******"
ELEMENT_KEY = "sealed"


def form_fields(schema: dict[str, Any] | None) -> list[str]:
    """The top-level fields of a form that are sealed."""
    properties = (schema or {}).get("properties") or {}
    return sorted(name for name, prop in properties.items() if isinstance(prop, dict) and prop.get(SEALED_KEY) is True)


def names(session: Session, instance: ProcessInstance | None) -> frozenset[str]:
    """The sealed variable names of an instance's process version."""
    if instance is None:
        return frozenset()
    compiled = steps.definition(session, instance.definition_id)
    return frozenset(n for element in compiled.elements.values() for n in element.get(ELEMENT_KEY) or ())


def mask(value: Any, sealed: frozenset[str]) -> Any:
    """A copy of value with every entry named in sealed masked, at any depth."""
    if not sealed:
        return value
    if isinstance(value, dict):
        return {k: (MASK if k in sealed and v is not None else mask(v, sealed)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(item, sealed) for item in value]
    return value
