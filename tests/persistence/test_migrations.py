"""The migrations build exactly the schema of persistence.models, on SQLite and on PostgreSQL."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, pool

from persistence.db import Database
from persistence.migrate import MIGRATIONS, check_current, current, downgrade, heads, upgrade
from persistence.models import Base, Setting


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    url: str = request.getfixturevalue("empty_pg_url")
    return url


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    engine = create_engine(empty_url, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_creates_every_table_and_column(empty_url: str, engine: Engine) -> None:
    upgrade(empty_url)

    inspector = inspect(engine)
    assert set(inspector.get_table_names()) == {*Base.metadata.tables, "alembic_version"}
    for table in Base.metadata.sorted_tables:
        columns = {column["name"]: column for column in inspector.get_columns(table.name)}
        assert set(columns) == set(table.columns.keys()), table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, f"{table.name}.{column.name}"
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        assert {index.name for index in table.indexes} <= indexes, table.name


def test_migrated_schema_matches_the_models(empty_url: str, engine: Engine) -> None:
    upgrade(empty_url)

    assert _differences(engine) == []


def test_upgrade_twice_is_a_no_op(empty_url: str, engine: Engine) -> None:
    upgrade(empty_url)
    before = current(empty_url)

    upgrade(empty_url)

    assert current(empty_url) == before == heads()
    assert _differences(engine) == []


def test_check_current_tells_a_stale_database(empty_url: str) -> None:
    assert not check_current(empty_url)
    upgrade(empty_url)
    assert check_current(empty_url)


def test_downgrade_to_base_and_back(empty_url: str, engine: Engine) -> None:
    upgrade(empty_url)
    downgrade(empty_url, "base")

    assert set(inspect(engine).get_table_names()) == {"alembic_version"}

    upgrade(empty_url)
    assert _differences(engine) == []


def test_migrations_ship_with_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert len(heads()) == 1, "the migrations have branched: merge the heads"


def test_db_url_is_migrated_and_emptied_between_tests(db_url: str) -> None:
    assert check_current(db_url)
    engine = create_engine(db_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            for table in Base.metadata.sorted_tables:
                assert connection.execute(table.select()).first() is None, table.name
            connection.execute(Base.metadata.tables["settings"].insert().values(key="probe", value="1"))
    finally:
        engine.dispose()


def test_db_url_is_emptied_again(db_url: str) -> None:
    # Runs after the test above in the same worker (or in a fresh one): either way the probe row is gone.
    test_db_url_is_migrated_and_emptied_between_tests(db_url)


def test_database_fixture_runs_a_use_case(database: Database) -> None:
    database.run(lambda session: session.add(Setting(key="clock_offset", value="0")))

    assert database.run(lambda session: session.get(Setting, "clock_offset")).value == "0"


def test_pg_url_is_always_postgresql(pg_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://")
    assert check_current(pg_url)
