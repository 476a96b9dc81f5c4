"""State-owned property trades: payments, instalments and transaction vouchers (issue 6).

Revision ID: 0011_property
Revises: 0010_auctions
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_property"
down_revision: str | Sequence[str] | None = "0010_auctions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Money: whole fen (cents) as BIGINT.
FEN = sa.BigInteger()


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "property_payment_plans",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("transferee_uscc", sa.String(length=18), nullable=False),
        sa.Column("transferee_name", sa.String(length=200), nullable=False),
        sa.Column("total", FEN, nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("contract_no", sa.String(length=100), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("guarantee", sa.String(length=500), nullable=True),
        sa.Column("interest_rate", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("paid_at", AWARE, nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], name="fk_property_plans_instance"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", name="uq_property_plans_instance"),
    )
    op.create_index("ix_property_plans_transferee", "property_payment_plans", ["transferee_uscc"])

    op.create_table(
        "property_instalments",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("plan_id", BIG_ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("amount", FEN, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("paid", FEN, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("paid_at", AWARE, nullable=True),
        sa.Column("overdue_alert_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["property_payment_plans.id"], name="fk_property_instalments_plan"),
        sa.ForeignKeyConstraint(["overdue_alert_id"], ["alerts.id"], name="fk_property_instalments_alert"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "seq", name="uq_property_instalments_plan_seq"),
    )
    op.create_index("ix_property_instalments_overdue_scan", "property_instalments", ["status", "due_on"])

    op.create_table(
        "property_payments",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("plan_id", BIG_ID, nullable=False),
        sa.Column("amount", FEN, nullable=False),
        sa.Column("paid_at", AWARE, nullable=False),
        sa.Column("bank_reference", sa.String(length=100), nullable=False),
        sa.Column("payer_account_name", sa.String(length=200), nullable=False),
        sa.Column("payer_account_no", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", AWARE, nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["property_payment_plans.id"], name="fk_property_payments_plan"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "bank_reference", name="uq_property_payments_plan_reference"),
    )
    op.create_index("ix_property_payments_plan", "property_payments", ["plan_id"])

    op.create_table(
        "property_vouchers",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("voucher_no", sa.String(length=40), nullable=False),
        sa.Column("issued_at", AWARE, nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], name="fk_property_vouchers_instance"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", name="uq_property_vouchers_instance"),
        sa.UniqueConstraint("voucher_no", name="uq_property_vouchers_no"),
    )


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_table("property_vouchers")
    op.drop_index("ix_property_payments_plan", table_name="property_payments")
    op.drop_table("property_payments")
    op.drop_index("ix_property_instalments_overdue_scan", table_name="property_instalments")
    op.drop_table("property_instalments")
    op.drop_index("ix_property_plans_transferee", table_name="property_payment_plans")
    op.drop_table("property_payment_plans")
