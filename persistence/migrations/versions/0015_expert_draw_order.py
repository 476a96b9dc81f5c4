"""Expert draw: an index giving a specialty code's active experts in id order, so no draw sorts them.

Revision ID: 0015_expert_draw_order
Revises: 0014_web_login
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015_expert_draw_order"
down_revision: str | Sequence[str] | None = "0014_web_login"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_index("ix_expert_specialties_code_id", "expert_specialties", ["code", "active", "expert_id", "region"])


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_index("ix_expert_specialties_code_id", table_name="expert_specialties")
