"""Offers per round of 竞争性谈判 and 询价 trades, and the team's findings on each supplier.

Revision ID: 0009_gp_offers
Revises: 0008_audit_head
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_gp_offers"
down_revision: str | Sequence[str] | None = "0008_audit_head"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "gp_offers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("lot", sa.String(length=40), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("supplier_uscc", sa.String(length=18), nullable=False),
        sa.Column("supplier_name", sa.String(length=200), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("submitted_at", AWARE, nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "lot", "round", "supplier_uscc"),
    )
    op.create_index(op.f("ix_gp_offers_instance_id"), "gp_offers", ["instance_id"], unique=False)
    op.create_table(
        "gp_assessments",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("lot", sa.String(length=40), nullable=False),
        sa.Column("supplier_uscc", sa.String(length=18), nullable=False),
        sa.Column("meets_requirements", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("recorded_at", AWARE, nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("instance_id", "lot", "supplier_uscc"),
    )


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_table("gp_assessments")
    op.drop_index(op.f("ix_gp_offers_instance_id"), table_name="gp_offers")
    op.drop_table("gp_offers")
