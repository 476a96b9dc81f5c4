"""State-owned property trades: payments, instalments and transaction vouchers (issue 6).

Revision ID: 0011_property
Revises: 0010_auctions
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0011_property"
down_revision: str | Sequence[str] | None = "0010_auctions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade the schema."""


def downgrade() -> None:
    """Downgrade the schema."""
