"""Auctions, their participants (paddle numbers) and bids: the live bidding engine (issue 5).

Revision ID: 0010_auctions
Revises: 0009_gp_offers
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0010_auctions"
down_revision: str | Sequence[str] | None = "0009_gp_offers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade the schema."""


def downgrade() -> None:
    """Downgrade the schema."""
