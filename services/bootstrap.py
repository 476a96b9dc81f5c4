"""Bring a database to a working platform: schema, calendar, forms, processes."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import configure_mappers

from domain.access import SYSTEM
from persistence.migrate import upgrade
from services import calendar as calendar_service
from services import definitions, forms, service_tasks
from services.platform import Platform


def warm_up() -> None:
    """What a new serving process does once, before its first request or task (and, in a prefork pool, before
    the fork, so every child inherits it): import the service task handlers and configure the ORM mappers.
    Otherwise the first steps pay for it, in whichever threads come first, at whatever instant (measured in a
    Celery worker: 0.2-0.3 s of CPU per process, in the middle of a block of timers)."""
    service_tasks.load_all()
    configure_mappers()


def init(p: Platform) -> dict[str, Any]:
    """Migrate to the latest schema, seed the holiday calendar, deploy new forms and BPMN files."""
    upgrade(p.config.database_url)
    return load_data(p)


def load_data(p: Platform) -> dict[str, Any]:
    """Seed the holiday calendar and deploy new forms and BPMN files (schema already current)."""

    def use_case(session: Any) -> dict[str, Any]:
        now = p.clock.now()
        years = calendar_service.seed(session, now)
        deployed_forms = forms.deploy_form_files(session, p.config.forms_dir, now)
        paths = sorted(p.config.processes_dir.glob("*.bpmn"))
        deployed = definitions.deploy_files(session, paths, SYSTEM, now)
        return {"calendar_years_added": years, "forms": deployed_forms, "processes": deployed}

    return p.db.run(use_case, retries=0)
