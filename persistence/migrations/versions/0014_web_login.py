"""Web login: password hashes for users who sign in with credentials (issue 8).

Revision ID: 0014_web_login
Revises: 0013_supervision
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0014_web_login"
down_revision: str | Sequence[str] | None = "0013_supervision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade the schema."""


def downgrade() -> None:
    """Downgrade the schema."""
