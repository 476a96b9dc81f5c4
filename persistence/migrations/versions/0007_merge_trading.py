"""Join the trading-service branches (entities, bids, experts, deposits, tender) into one history.

Revision ID: 0007_merge_trading
Revises: 0002_entities, 0003_bids, 0004_experts, 0005_deposits, 0006_tender
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

revision: str = "0007_merge_trading"
down_revision: str | Sequence[str] | None = (
    "0002_entities", "0003_bids", "0004_experts", "0005_deposits", "0006_tender",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the branches touch separate tables."""


def downgrade() -> None:
    """Nothing to change: the branches touch separate tables."""
