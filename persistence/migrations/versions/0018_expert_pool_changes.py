"""Expert draw: a log of which experts each change to expert_specialties touched, so a kept candidate pool is
brought up to date from the few experts that changed instead of read again whole.

The version row gains `counter`, taken once per changing transaction; changers queue on the row until they
commit, so counters follow commit order and a snapshot that sees counter C sees every change up to C and none
after. Statement-level triggers with transition tables log (counter, expert id) for every inserted, updated
or deleted specialty row; `log_from` is the first counter whose changes are all still logged (the log is cut
10,000 changes back; a TRUNCATE logs nothing and moves it past itself). SQLite gets the tables only.

Revision ID: 0018_expert_pool_changes
Revises: 0017_expert_pool_version
Create Date: 2026-11-22
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_expert_pool_changes"
down_revision: str | Sequence[str] | None = "0017_expert_pool_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# How many changes back the log reaches (a kept pool older than that is read again whole), and how often the
# cut runs (once per that many changes, in the changing transaction).
KEEP = 10_000
CUT_EVERY = 1_000

_FUNCTION = f"""
CREATE OR REPLACE FUNCTION ggzy_expert_pool_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    taken bigint;
    now_at bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM new_rows LIMIT 1;
    ELSIF TG_OP <> 'TRUNCATE' THEN
        PERFORM 1 FROM old_rows LIMIT 1;
    END IF;
    IF TG_OP <> 'TRUNCATE' AND NOT FOUND THEN
        RETURN NULL;  -- a statement that changed no row changes no pool
    END IF;
    -- The transaction's first change takes the next counter, and the row's lock until it commits.
    INSERT INTO expert_pool_version AS v (id, xact_id, counter, log_from) VALUES (1, txid_current(), 1, 1)
    ON CONFLICT (id) DO UPDATE SET xact_id = EXCLUDED.xact_id, counter = v.counter + 1
    WHERE v.xact_id <> EXCLUDED.xact_id
    RETURNING counter INTO taken;
    IF taken IS NULL THEN  -- a later statement of the same transaction: its counter is taken already
        SELECT counter INTO now_at FROM expert_pool_version WHERE id = 1;
    ELSE
        now_at := taken;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE expert_pool_version SET log_from = now_at + 1 WHERE id = 1;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO expert_pool_changes (counter, expert_id)
        SELECT DISTINCT now_at, expert_id FROM new_rows ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO expert_pool_changes (counter, expert_id)
        SELECT now_at, expert_id FROM new_rows UNION SELECT now_at, expert_id FROM old_rows
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO expert_pool_changes (counter, expert_id)
        SELECT DISTINCT now_at, expert_id FROM old_rows ON CONFLICT DO NOTHING;
    END IF;
    IF taken IS NOT NULL AND taken % {CUT_EVERY} = 0 AND taken > {KEEP} THEN
        DELETE FROM expert_pool_changes WHERE counter <= taken - {KEEP};
        UPDATE expert_pool_version SET log_from = GREATEST(log_from, taken - {KEEP} + 1) WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$
"""
_TRIGGERS = (
    "CREATE TRIGGER expert_pool_inserted AFTER INSERT ON expert_specialties REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION ggzy_expert_pool_changed()",
    "CREATE TRIGGER expert_pool_updated AFTER UPDATE ON expert_specialties "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ggzy_expert_pool_changed()",
    "CREATE TRIGGER expert_pool_deleted AFTER DELETE ON expert_specialties REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION ggzy_expert_pool_changed()",
    "CREATE TRIGGER expert_pool_truncated AFTER TRUNCATE ON expert_specialties "
    "FOR EACH STATEMENT EXECUTE FUNCTION ggzy_expert_pool_changed()",
)

# 0017's function, for the downgrade.
_FUNCTION_0017 = """
CREATE OR REPLACE FUNCTION ggzy_expert_pool_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO expert_pool_version AS v (id, xact_id) VALUES (1, txid_current())
    ON CONFLICT (id) DO UPDATE SET xact_id = EXCLUDED.xact_id WHERE v.xact_id <> EXCLUDED.xact_id;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    """Upgrade the schema."""
    op.add_column("expert_pool_version", sa.Column("counter", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("expert_pool_version", sa.Column("log_from", sa.BigInteger(), nullable=False, server_default="1"))
    op.create_table(
        "expert_pool_changes",
        sa.Column("counter", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("expert_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("counter", "expert_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER expert_pool_changed ON expert_specialties")
        op.execute(_FUNCTION)
        for trigger in _TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    """Downgrade the schema."""
    if op.get_bind().dialect.name == "postgresql":
        for name in ("inserted", "updated", "deleted", "truncated"):
            op.execute(f"DROP TRIGGER expert_pool_{name} ON expert_specialties")
        op.execute(_FUNCTION_0017)
        op.execute("CREATE TRIGGER expert_pool_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "
                   "expert_specialties FOR EACH STATEMENT EXECUTE FUNCTION ggzy_expert_pool_changed()")
    op.drop_table("expert_pool_changes")
    op.drop_column("expert_pool_version", "log_from")
    op.drop_column("expert_pool_version", "counter")
