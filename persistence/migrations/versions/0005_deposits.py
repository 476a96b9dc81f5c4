"""Bid bonds and deposits with their refunds, and the alerts table.

Revision ID: 0005_deposits
Revises: 0001
Create Date: 2026-11-22
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_deposits"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AWARE = sa.DateTime(timezone=True)
# Money: whole fen (cents) as BIGINT.
FEN = sa.BigInteger()


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "alerts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.Column("region", sa.String(length=12), nullable=True),
        sa.Column("subject", sa.String(length=100), nullable=True),
        sa.Column("rule", sa.String(length=60), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("open_key", sa.String(length=250), nullable=True),
        sa.Column("handled_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("updated_at", AWARE, nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key"),
    )
    op.create_index("ix_alerts_instance_id", "alerts", ["instance_id"])
    op.create_index("ix_alerts_status_region", "alerts", ["status", "region"])

    op.create_table(
        "deposits",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("lot", sa.String(length=50), nullable=False),
        sa.Column("bidder_uscc", sa.String(length=18), nullable=False),
        sa.Column("bidder_name", sa.String(length=200), nullable=False),
        sa.Column("amount", FEN, nullable=False),
        sa.Column("payer_account_no", sa.String(length=64), nullable=False),
        sa.Column("payer_bank", sa.String(length=200), nullable=False),
        sa.Column("payer_account_name", sa.String(length=200), nullable=False),
        sa.Column("is_basic_account", sa.Boolean(), nullable=False),
        sa.Column("bank_reference", sa.String(length=100), nullable=False),
        sa.Column("paid_at", AWARE, nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("refund_rule", sa.String(length=60), nullable=True),
        sa.Column("refund_event", sa.String(length=30), nullable=True),
        sa.Column("refund_due_at", AWARE, nullable=True),
        sa.Column("interest_rate", sa.String(length=20), nullable=True),
        sa.Column("overdue_alert_id", BIG_ID, nullable=True),
        sa.Column("updated_at", AWARE, nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.ForeignKeyConstraint(["overdue_alert_id"], ["alerts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "lot", "bidder_uscc"),
    )
    op.create_index("ix_deposits_instance_id", "deposits", ["instance_id"])
    op.create_index("ix_deposits_bidder_uscc", "deposits", ["bidder_uscc"])
    op.create_index("ix_deposits_refund_scan", "deposits", ["status", "refund_due_at"])

    op.create_table(
        "deposit_refunds",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("deposit_id", BIG_ID, nullable=False),
        sa.Column("amount", FEN, nullable=False),
        sa.Column("interest", FEN, nullable=False),
        sa.Column("days_held", sa.Integer(), nullable=False),
        sa.Column("refunded_at", AWARE, nullable=False),
        sa.Column("bank_reference", sa.String(length=100), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["deposit_id"], ["deposits.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deposit_id"),
    )


def downgrade() -> None:
    """Downgrade the schema."""
    for table in ("deposit_refunds", "deposits", "alerts"):
        op.drop_table(table)
