"""Expert draw: a version of the candidate pools (the transaction that last changed expert_specialties).

On PostgreSQL a statement-level trigger keeps the one row current, so a draw can tell whether a pool it read
before is still the pool (services.trading.candidate_pools). SQLite gets the table only.

Revision ID: 0017_expert_pool_version
Revises: 0016_events_one_instance_index
Create Date: 2026-11-21
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_expert_pool_version"
down_revision: str | Sequence[str] | None = "0016_events_one_instance_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Once per transaction: a bulk change of many statements rewrites the row once, not once per statement (a
# row updated thousands of times in one transaction makes each later update walk all its versions).
# Concurrent changers queue on the row; each commit publishes its own transaction id.
_FUNCTION = """
CREATE FUNCTION ggzy_expert_pool_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO expert_pool_version AS v (id, xact_id) VALUES (1, txid_current())
    ON CONFLICT (id) DO UPDATE SET xact_id = EXCLUDED.xact_id WHERE v.xact_id <> EXCLUDED.xact_id;
    RETURN NULL;
END
$$
"""
_TRIGGER = """
CREATE TRIGGER expert_pool_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON expert_specialties
FOR EACH STATEMENT EXECUTE FUNCTION ggzy_expert_pool_changed()
"""


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "expert_pool_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("xact_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)
        op.execute(_TRIGGER)
        op.execute("INSERT INTO expert_pool_version (id, xact_id) VALUES (1, txid_current())")


def downgrade() -> None:
    """Downgrade the schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER expert_pool_changed ON expert_specialties")
        op.execute("DROP FUNCTION ggzy_expert_pool_changed()")
    op.drop_table("expert_pool_version")
