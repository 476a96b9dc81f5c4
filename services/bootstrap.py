"""Bring a database to a working platform: schema, calendar, forms, processes."""
from __future__ import annotations

from typing import Any

from domain.access import SYSTEM
from persistence.migrate import upgrade
from services import calendar as calendar_service
from services import definitions, forms
from services.platform import Platform


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
