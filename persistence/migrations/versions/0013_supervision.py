"""Supervision: trade results for statistics, alert scoring and collusion evidence (issue 7).

Revision ID: 0013_supervision
Revises: 0012_publications
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0013_supervision"
down_revision: str | Sequence[str] | None = "0012_publications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade the schema."""


def downgrade() -> None:
    """Downgrade the schema."""
