"""Unified trading codes (统一交易编码) of tender trades and their per-region, per-year sequences.

Revision ID: 0006_tender
Revises: 0001
Create Date: 2026-11-23
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_tender"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "trade_code_sequences",
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("category", sa.String(length=2), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("region", "category", "year"),
    )
    op.create_table(
        "trade_registrations",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("trade_code", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("category", sa.String(length=2), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("registered_at", AWARE, nullable=False),
        sa.Column("registered_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("instance_id"),
        sa.UniqueConstraint("trade_code"),
    )


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_table("trade_registrations")
    op.drop_table("trade_code_sequences")
