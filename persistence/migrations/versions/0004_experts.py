"""Expert pool, committees and their draws, evaluations and each expert's scores.

Revision ID: 0004_experts
Revises: 0001
Create Date: 2026-11-28
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_experts"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "experts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id_number_hash", sa.String(length=64), nullable=False),
        sa.Column("id_number_masked", sa.String(length=18), nullable=False),
        sa.Column("region", sa.String(length=12), nullable=False),
        sa.Column("employer_uscc", sa.String(length=18), nullable=True),
        sa.Column("username", sa.String(length=100), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("blacklisted", sa.Boolean(), nullable=False),
        sa.Column("blacklist_reason", sa.Text(), nullable=True),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("updated_at", AWARE, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_number_hash"),
        sa.UniqueConstraint("username"),
    )
    op.create_index("ix_experts_region", "experts", ["region"])
    op.create_index("ix_experts_employer_uscc", "experts", ["employer_uscc"])

    op.create_table(
        "expert_specialties",
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("expert_id", "code"),
    )
    op.create_index("ix_expert_specialties_code", "expert_specialties", ["code", "active", "region", "expert_id"])

    op.create_table(
        "expert_unavailability",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_expert_unavailability_expert_id", "expert_unavailability", ["expert_id"])
    op.create_index("ix_expert_unavailability_span", "expert_unavailability", ["ends_on", "starts_on"])

    op.create_table(
        "expert_recusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("declared_at", AWARE, nullable=False),
        sa.Column("declared_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "expert_id"),
    )

    op.create_table(
        "expert_committees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("lot", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("owner_reps", sa.Integer(), nullable=False),
        sa.Column("experts_needed", sa.Integer(), nullable=False),
        sa.Column("reserves", sa.Integer(), nullable=False),
        sa.Column("specialties", sa.JSON(), nullable=False),
        sa.Column("region", sa.String(length=12), nullable=True),
        sa.Column("evaluation_date", sa.Date(), nullable=False),
        sa.Column("excluded_employers", sa.JSON(), nullable=False),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "lot"),
    )

    op.create_table(
        "expert_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("committee_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("candidates_hash", sa.String(length=64), nullable=False),
        sa.Column("candidate_count", sa.Integer(), nullable=False),
        sa.Column("candidates", sa.LargeBinary(), nullable=False),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.Column("reserves_requested", sa.Integer(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("reserves", sa.JSON(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["committee_id"], ["expert_committees.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_expert_draws_committee_id", "expert_draws", ["committee_id"])
    op.create_index("ix_expert_draws_instance_id", "expert_draws", ["instance_id"])

    op.create_table(
        "expert_committee_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("committee_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("responded_at", AWARE, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["committee_id"], ["expert_committees.id"]),
        sa.ForeignKeyConstraint(["draw_id"], ["expert_draws.id"]),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("committee_id", "expert_id"),
    )
    op.create_index("ix_expert_committee_members_committee_id", "expert_committee_members", ["committee_id"])
    op.create_index("ix_expert_committee_members_expert_id", "expert_committee_members", ["expert_id"])

    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("lot", sa.String(length=40), nullable=False),
        sa.Column("committee_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=30), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("bidders", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("opened_at", AWARE, nullable=False),
        sa.Column("opened_by", sa.String(length=100), nullable=True),
        sa.Column("closed_at", AWARE, nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["committee_id"], ["expert_committees.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evaluations_trade", "evaluations", ["instance_id", "lot"])

    op.create_table(
        "evaluation_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("bidder_uscc", sa.String(length=18), nullable=False),
        sa.Column("criterion", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("submitted_at", AWARE, nullable=False),
        sa.ForeignKeyConstraint(["evaluation_id"], ["evaluations.id"]),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("evaluation_id", "expert_id", "bidder_uscc", "criterion"),
    )
    op.create_index("ix_evaluation_scores_evaluation_id", "evaluation_scores", ["evaluation_id"])


def downgrade() -> None:
    """Downgrade the schema."""
    for table in ("evaluation_scores", "evaluations", "expert_committee_members", "expert_draws",
                  "expert_committees", "expert_recusals", "expert_unavailability", "expert_specialties",
                  "experts"):
        op.drop_table(table)
