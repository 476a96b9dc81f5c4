"""Events: drop the index on instance_id alone, which the unique (instance_id, seq) index already covers.

Every event written paid for both; every read by instance (a chain's head, its history, verification) is
served by the unique index's leading column.

Revision ID: 0016_events_one_instance_index
Revises: 0015_expert_draw_order
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016_events_one_instance_index"
down_revision: str | Sequence[str] | None = "0015_expert_draw_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.drop_index("ix_events_instance_id", table_name="events")


def downgrade() -> None:
    """Downgrade the schema."""
    op.create_index("ix_events_instance_id", "events", ["instance_id"])
