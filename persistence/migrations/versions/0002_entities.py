"""Market entities: organisations, their contacts and qualifications, credit listings.

Revision ID: 0002_entities
Revises: 0001
Create Date: 2026-11-22
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_entities"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "organisations",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=True),
        sa.Column("legal_representative", sa.String(length=100), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("updated_at", AWARE, nullable=False),
        sa.PrimaryKeyConstraint("uscc"),
    )
    op.create_index("ix_organisations_name", "organisations", ["name"])

    op.create_table(
        "organisation_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=60), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", AWARE, nullable=False),
        sa.ForeignKeyConstraint(["uscc"], ["organisations.uscc"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_organisation_contacts_uscc", "organisation_contacts", ["uscc"])

    op.create_table(
        "organisation_qualifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("grade", sa.String(length=40), nullable=True),
        sa.Column("certificate_no", sa.String(length=100), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("updated_at", AWARE, nullable=False),
        sa.ForeignKeyConstraint(["uscc"], ["organisations.uscc"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uscc", "type", "certificate_no"),
    )
    op.create_index("ix_organisation_qualifications_uscc", "organisation_qualifications", ["uscc"])

    op.create_table(
        "credit_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("list", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("document_no", sa.String(length=100), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("revoked_at", AWARE, nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_credit_listings_uscc_list", "credit_listings", ["uscc", "list"])


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_index("ix_credit_listings_uscc_list", table_name="credit_listings")
    op.drop_table("credit_listings")
    op.drop_index("ix_organisation_qualifications_uscc", table_name="organisation_qualifications")
    op.drop_table("organisation_qualifications")
    op.drop_index("ix_organisation_contacts_uscc", table_name="organisation_contacts")
    op.drop_table("organisation_contacts")
    op.drop_index("ix_organisations_name", table_name="organisations")
    op.drop_table("organisations")
