"""Sealed bids: bid files with receipts, their events (IP, device), and each lot's opening.

Revision ID: 0003_bids
Revises: 0001
Create Date: 2026-11-28
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_bids"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "bids",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("lot", sa.String(length=40), nullable=False),
        sa.Column("bidder_org", sa.String(length=18), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("receipt_no", sa.String(length=32), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received_at", AWARE, nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.Column("replaces_id", sa.String(length=32), nullable=True),
        sa.Column("superseded_at", AWARE, nullable=True),
        sa.Column("withdrawn_at", AWARE, nullable=True),
        sa.Column("decrypted_at", AWARE, nullable=True),
        sa.Column("plain_key", sa.String(length=64), nullable=True),
        sa.Column("plain_sha256", sa.String(length=64), nullable=True),
        sa.Column("plain_size", sa.BigInteger(), nullable=True),
        sa.Column("decrypt_attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt_no"),
    )
    op.create_index("ix_bids_trade", "bids", ["instance_id", "lot", "bidder_org"])

    op.create_table(
        "bid_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("bid_id", sa.String(length=32), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("at", AWARE, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("bidder_org", sa.String(length=18), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=True),
        sa.Column("device_fingerprint", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["bid_id"], ["bids.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bid_events_bid_id", "bid_events", ["bid_id"])
    op.create_index("ix_bid_events_instance_id", "bid_events", ["instance_id"])

    op.create_table(
        "bid_openings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("lot", sa.String(length=40), nullable=False),
        sa.Column("deadline", AWARE, nullable=False),
        sa.Column("opened_at", AWARE, nullable=False),
        sa.Column("bid_count", sa.Integer(), nullable=False),
        sa.Column("min_bidders_rule", sa.String(length=60), nullable=False),
        sa.Column("min_bidders", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("decrypt_until", AWARE, nullable=True),
        sa.Column("closed_at", AWARE, nullable=True),
        sa.Column("decrypted_count", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "lot"),
    )


def downgrade() -> None:
    """Downgrade the schema."""
    for table in ("bid_openings", "bid_events", "bids"):
        op.drop_table(table)
