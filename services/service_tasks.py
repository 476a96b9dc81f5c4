"""Platform services that BPMN service tasks call by name (ggzy:service="bids.open").

A service runs inside the step's own transaction, sees the instance and a copy of its data, and returns
the variables to set. Trading data (bids, deposits, experts, scores) stays in its own tables; only small
results (counts, ids, decisions) come back into the process.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from domain.access import Actor
from persistence.models import ProcessInstance
from services.platform import Platform


@dataclass(frozen=True)
class ServiceCall:
    """What a service task handler receives."""

    platform: Platform
    session: Session
    instance: ProcessInstance
    element_id: str
    data: dict[str, Any]
    actor: Actor | None
    now: datetime


Handler = Callable[[ServiceCall], "dict[str, Any] | None"]
_REGISTRY: dict[str, tuple[Handler, str]] = {}


def service_task(name: str, title: str) -> Callable[[Handler], Handler]:
    """Register a handler under a ggzy:service name, with a Chinese title for designers."""

    def register(handler: Handler) -> Handler:
        if name in _REGISTRY and _REGISTRY[name][0] is not handler:
            raise ValueError(f"service task {name} registered twice")
        _REGISTRY[name] = (handler, title)
        return handler

    return register


_loaded = False
_loading = threading.Lock()


def load_all() -> None:
    """Import every module of services.trading, where service task handlers register themselves (once per
    process: every service call asks, and listing the package's folder each time would be I/O per step)."""
    global _loaded
    if _loaded:
        return
    import importlib
    import os
    import pkgutil

    from services import trading

    with _loading:
        if _loaded:
            return
        for module in pkgutil.iter_modules(trading.__path__):
            importlib.import_module(f"services.trading.{module.name}")
        # Extra handler modules named by the deployment (the worker-kill tests load a deliberately slow service).
        for name in filter(None, (os.environ.get("GGZY_SERVICE_MODULES") or "").split(",")):
            importlib.import_module(name.strip())
        _loaded = True


def exists(name: str) -> bool:
    """True when a handler is registered under the name."""
    load_all()
    return name in _REGISTRY


def catalogue() -> dict[str, str]:
    """Every registered service with its title."""
    load_all()
    return {name: title for name, (_, title) in sorted(_REGISTRY.items())}


def caller(p: Platform, session: Session, instance: ProcessInstance, elements: dict[str, dict[str, Any]],
           actor: Actor | None, now: datetime) -> Callable[[str, dict[str, Any]], dict[str, Any] | None]:
    """The engine's call_service for one step."""

    def call(element_id: str, data: dict[str, Any]) -> dict[str, Any] | None:
        name = (elements.get(element_id) or {}).get("service")
        load_all()
        if not name or name not in _REGISTRY:
            from domain.errors import Invalid

            raise Invalid(f"服务任务 {element_id} 引用的服务 {name!r} 不存在")
        handler, _ = _REGISTRY[name]
        result = handler(ServiceCall(p, session, instance, element_id, data, actor, now))
        if (elements.get(element_id) or {}).get("publish"):
            # imported late: disclosure is a client of the services, not a base
            from services import disclosure

            disclosure.on_service_completed(session, instance, elements.get(element_id), result, actor, now)
        return result

    return call
