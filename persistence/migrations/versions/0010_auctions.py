"""Auctions, their participants (paddle numbers) and bids: the live bidding engine (issue 5).

Revision ID: 0010_auctions
Revises: 0009_gp_offers
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_auctions"
down_revision: str | Sequence[str] | None = "0009_gp_offers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Money: whole fen (cents) as BIGINT.
FEN = sa.BigInteger()


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "auctions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("lot", sa.String(length=50), nullable=False),
        sa.Column("element_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("start_price", FEN, nullable=False),
        sa.Column("increment", FEN, nullable=False),
        sa.Column("reserve_price", FEN, nullable=True),
        sa.Column("starts_at", AWARE, nullable=False),
        sa.Column("ends_at", AWARE, nullable=True),
        sa.Column("quiet_seconds", sa.Integer(), nullable=True),
        sa.Column("free_quote_until", AWARE, nullable=True),
        sa.Column("extend_window_seconds", sa.Integer(), nullable=True),
        sa.Column("extend_seconds", sa.Integer(), nullable=True),
        sa.Column("previous_id", BIG_ID, nullable=True),
        sa.Column("closes_at", AWARE, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("bid_count", sa.Integer(), nullable=False),
        sa.Column("current_price", FEN, nullable=True),
        sa.Column("leader_id", BIG_ID, nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("winner_uscc", sa.String(length=18), nullable=True),
        sa.Column("winner_name", sa.String(length=200), nullable=True),
        sa.Column("award_amount", FEN, nullable=True),
        sa.Column("continue_count", sa.Integer(), nullable=False),
        sa.Column("closed_at", AWARE, nullable=True),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("updated_at", AWARE, nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.ForeignKeyConstraint(["previous_id"], ["auctions.id"], name="fk_auctions_previous_id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_auctions_instance_lot", "auctions", ["instance_id", "lot"])

    op.create_table(
        "auction_participants",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("auction_id", BIG_ID, nullable=False),
        sa.Column("bidder_uscc", sa.String(length=18), nullable=False),
        sa.Column("bidder_name", sa.String(length=200), nullable=False),
        sa.Column("paddle", sa.String(length=10), nullable=False),
        sa.Column("continue_requested_at", AWARE, nullable=True),
        sa.Column("created_at", AWARE, nullable=False),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.id"], name="fk_auction_participants_auction_id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("auction_id", "bidder_uscc", name="uq_auction_participants_bidder"),
        sa.UniqueConstraint("auction_id", "paddle", name="uq_auction_participants_paddle"),
    )
    op.create_index("ix_auction_participants_bidder_uscc", "auction_participants", ["bidder_uscc"])

    op.create_table(
        "auction_bids",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("auction_id", BIG_ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("participant_id", BIG_ID, nullable=False),
        sa.Column("amount", FEN, nullable=False),
        sa.Column("placed_at", AWARE, nullable=False),
        sa.Column("closes_at", AWARE, nullable=False),
        sa.Column("placed_by", sa.String(length=100), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("carried_from", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.id"], name="fk_auction_bids_auction_id"),
        sa.ForeignKeyConstraint(["participant_id"], ["auction_participants.id"],
                                name="fk_auction_bids_participant_id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("auction_id", "seq", name="uq_auction_bids_seq"),
    )


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_table("auction_bids")
    op.drop_index("ix_auction_participants_bidder_uscc", table_name="auction_participants")
    op.drop_table("auction_participants")
    op.drop_index("ix_auctions_instance_lot", table_name="auctions")
    op.drop_table("auctions")
