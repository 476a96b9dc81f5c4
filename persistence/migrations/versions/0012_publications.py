"""Published items (announcements, results, corrections) and the public change feed (issue 7).

Revision ID: 0012_publications
Revises: 0011_property
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0012_publications"
down_revision: str | Sequence[str] | None = "0011_property"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade the schema."""


def downgrade() -> None:
    """Downgrade the schema."""
