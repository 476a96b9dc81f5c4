"""Supervision: trade results for statistics, alert scoring and collusion evidence (issue 7).

Revision ID: 0013_supervision
Revises: 0012_publications
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_supervision"
down_revision: str | Sequence[str] | None = "0012_publications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Money: whole fen (cents) as BIGINT.
FEN = sa.BigInteger()


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "trade_results",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("lot", sa.String(length=50), nullable=False),
        sa.Column("process_key", sa.String(length=100), nullable=False),
        sa.Column("trade_code", sa.String(length=40), nullable=True),
        sa.Column("category", sa.String(length=2), nullable=True),
        sa.Column("region", sa.String(length=12), nullable=True),
        sa.Column("project_name", sa.String(length=200), nullable=True),
        sa.Column("project_code", sa.String(length=50), nullable=True),
        sa.Column("purchaser_uscc", sa.String(length=18), nullable=True),
        sa.Column("purchaser_name", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("winner_uscc", sa.String(length=18), nullable=True),
        sa.Column("winner_name", sa.String(length=200), nullable=True),
        sa.Column("award_amount", FEN, nullable=True),
        sa.Column("budget_amount", FEN, nullable=True),
        sa.Column("bidder_count", sa.Integer(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("closed_at", AWARE, nullable=False),
        sa.Column("closed_month", sa.String(length=7), nullable=False),
        sa.Column("recorded_at", AWARE, nullable=False),
        sa.Column("updated_at", AWARE, nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], name="fk_trade_results_instance"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "lot", name="uq_trade_results_instance_lot"),
    )
    op.create_index("ix_trade_results_region_month", "trade_results", ["region", "closed_month"])
    op.create_index("ix_trade_results_category_month", "trade_results", ["category", "closed_month"])
    op.create_index("ix_trade_results_purchaser", "trade_results", ["purchaser_uscc", "outcome"])
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("score", sa.Integer(), nullable=True))
    op.create_index("ix_alerts_kind_subject", "alerts", ["kind", "subject"])


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_index("ix_alerts_kind_subject", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("score")
    op.drop_index("ix_trade_results_purchaser", table_name="trade_results")
    op.drop_index("ix_trade_results_category_month", table_name="trade_results")
    op.drop_index("ix_trade_results_region_month", table_name="trade_results")
    op.drop_table("trade_results")
