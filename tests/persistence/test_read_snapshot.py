"""Reads see one snapshot, so a view never mixes rows from before and after a concurrent step."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from persistence.db import Database


@pytest.mark.postgres
def test_postgresql_reads_run_in_repeatable_read(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.sessions() as session:
            assert session.execute(text("SHOW transaction_isolation")).scalar() == "repeatable read"
        with db.unit_of_work() as session:  # writers keep READ COMMITTED and rely on row locks
            assert session.execute(text("SHOW transaction_isolation")).scalar() == "read committed"
    finally:
        db.dispose()
