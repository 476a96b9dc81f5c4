"""The audit chain's head on each instance: seq and hash of its last event.

Revision ID: 0008_audit_head
Revises: 0007_merge_trading
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_audit_head"
down_revision: str | Sequence[str] | None = "0007_merge_trading"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add event_seq and event_head to process_instances."""
    with op.batch_alter_table("process_instances") as batch:
        batch.add_column(sa.Column("event_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("event_head", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("event_head")
        batch.drop_column("event_seq")
