"""Published items (announcements, results, corrections) and the public change feed (issue 7).

Revision ID: 0012_publications
Revises: 0011_property
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_publications"
down_revision: str | Sequence[str] | None = "0011_property"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)
REFUSAL = "publications are immutable: publish a correction that supersedes the item instead"


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_seq", sa.BigInteger(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("element_id", sa.String(length=100), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("trade_code", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=12), nullable=False),
        sa.Column("process_key", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("published_at", AWARE, nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], name="fk_publications_instance_id"),
        sa.ForeignKeyConstraint(["supersedes_id"], ["publications.id"], name="fk_publications_supersedes_id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("feed_seq", name="uq_publications_feed_seq"),
        sa.UniqueConstraint("supersedes_id", name="uq_publications_supersedes_id"),
    )
    op.create_index("ix_publications_trade_code", "publications", ["trade_code"])
    op.create_index("ix_publications_instance_id", "publications", ["instance_id"])
    op.create_index("ix_publications_region_published", "publications", ["region", "published_at"])
    op.create_index("ix_publications_published_at", "publications", ["published_at"])
    _title_index()
    op.create_table(
        "publication_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _immutable_rows()


def _title_index() -> None:
    """A trigram index where PostgreSQL has pg_trgm (`title ILIKE '%q%'` uses it), else a plain one."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _has_trigrams(bind):
        op.execute("CREATE INDEX ix_publications_title ON publications USING gin (title gin_trgm_ops)")
    else:
        op.create_index("ix_publications_title", "publications", ["title"])


def _has_trigrams(bind: sa.engine.Connection) -> bool:
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
    if available is None:
        return False
    # Creating an extension may need rights the migrating user lacks: try it in a savepoint, so that a refusal
    # leaves the migration's transaction usable and the plain index is made instead.
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return False
    return True


def _immutable_rows() -> None:
    """Refuse every UPDATE of a published item in the database itself, whatever client writes."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION publications_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'integrity_constraint_violation'; END $$"
        )
        op.execute("CREATE TRIGGER publications_immutable BEFORE UPDATE ON publications "
                   "FOR EACH ROW EXECUTE FUNCTION publications_immutable()")
    else:
        op.execute("CREATE TRIGGER publications_immutable BEFORE UPDATE ON publications "
                   f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")


def downgrade() -> None:
    """Downgrade the schema."""
    bind = op.get_bind()
    op.execute("DROP TRIGGER IF EXISTS publications_immutable" + (" ON publications" if bind.dialect.name ==
                                                                   "postgresql" else ""))
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS publications_immutable()")
    op.drop_table("publication_feed")
    op.drop_index("ix_publications_title", table_name="publications")
    op.drop_index("ix_publications_published_at", table_name="publications")
    op.drop_index("ix_publications_region_published", table_name="publications")
    op.drop_index("ix_publications_instance_id", table_name="publications")
    op.drop_index("ix_publications_trade_code", table_name="publications")
    op.drop_table("publications")
    # pg_trgm stays installed: other tables may use it, and it holds no data of ours.
