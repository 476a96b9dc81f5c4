"""Fixtures for the database-backed tiers: one migrated database per test worker, emptied after each test.

GGZY_TEST_DATABASE picks the backend: `sqlite` (default) or `postgresql`. `make test` runs the suite on both.
GGZY_TEST_POSTGRES_URL may name a PostgreSQL server URL with rights to CREATE DATABASE; by default the
local server is tried as user postgres, then root.
"""
from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, pool, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from persistence.db import Database
from persistence.migrate import upgrade
from persistence.models import Base
from services.platform import Platform

try:
    from flask import Flask
    from flask.testing import FlaskClient
except ImportError:  # pragma: no cover - flask is a hard dependency; this only keeps annotations importable
    Flask = FlaskClient = object  # type: ignore[misc,assignment]

BACKENDS = ("sqlite", "postgresql")
PG_CANDIDATES = tuple(
    f"postgresql+psycopg://{user}@127.0.0.1:5432/{db}"
    for user in ("postgres", "root")
    for db in ("test", "postgres")
)
_serial = itertools.count()


def backend() -> str:
    """The backend under test, from GGZY_TEST_DATABASE."""
    name = os.environ.get("GGZY_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
    if name in ("postgres", "pg"):
        name = "postgresql"
    if name not in BACKENDS:
        raise pytest.UsageError(f"GGZY_TEST_DATABASE must be one of {BACKENDS}, not {name!r}")
    return name


def pytest_report_header(config: pytest.Config) -> str:
    return f"ggzy test database: {backend()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backend() == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: run with GGZY_TEST_DATABASE=postgresql (make test does)")
    for item in items:
        if item.get_closest_marker("postgres") is not None:
            item.add_marker(skip)


# --- PostgreSQL server --------------------------------------------------------------------------------


@cache
def pg_admin_url() -> str | None:
    """A URL on the local server whose user may CREATE DATABASE, or None when none answers."""
    candidates = [os.environ["GGZY_TEST_POSTGRES_URL"]] if os.environ.get("GGZY_TEST_POSTGRES_URL") else []
    for url in [*candidates, *PG_CANDIDATES]:
        engine = _admin_engine(url)
        try:
            with engine.connect() as connection:
                allowed = connection.execute(
                    text("SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user")
                ).scalar()
            if allowed:
                return url
        except OperationalError:
            continue
        finally:
            engine.dispose()
    return None


def _admin_engine(url: str) -> Engine:
    return create_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool, connect_args={"connect_timeout": 3}
    )


def create_pg_database(prefix: str) -> str:
    """Create an empty database with a name unique to this worker and process; return its URL."""
    admin = pg_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (tried users postgres and root)")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{prefix}_{worker}_{os.getpid()}_{next(_serial)}".lower()
    engine = _admin_engine(admin)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
    finally:
        engine.dispose()
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    """Drop the database of url, closing any connection a test left open."""
    admin = pg_admin_url()
    assert admin is not None
    name = make_url(url).database
    engine = _admin_engine(admin)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


# --- one migrated database per worker -----------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_session_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'ggzy.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def _pg_session_url() -> Iterator[str]:
    url = create_pg_database("ggzy_test")
    try:
        upgrade(url)
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(scope="session")
def _cleaners() -> Iterator[dict[str, Engine]]:
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


def _empty_tables(url: str, cleaners: dict[str, Engine]) -> None:
    # Far quicker than migrating again; alembic_version is not in the metadata and so survives.
    engine = cleaners.get(url)
    if engine is None:
        # A lock a test leaked should fail the clean-up, not hang the run.
        options = {"options": "-c lock_timeout=10000"} if url.startswith("postgresql") else {}
        engine = cleaners[url] = create_engine(url, poolclass=pool.NullPool, connect_args=options)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def db_url(request: pytest.FixtureRequest, _cleaners: dict[str, Engine]) -> Iterator[str]:
    """URL of a migrated, empty database on the backend under test."""
    url: str = request.getfixturevalue("_pg_session_url" if backend() == "postgresql" else "_sqlite_session_url")
    yield url
    _empty_tables(url, _cleaners)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """A persistence.db.Database on db_url, disposed after the test."""
    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture
def pg_url(_pg_session_url: str, _cleaners: dict[str, Engine]) -> Iterator[str]:
    """URL of a migrated, empty PostgreSQL database whatever the backend under test; skips without a server."""
    yield _pg_session_url
    _empty_tables(_pg_session_url, _cleaners)


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """URL of a new PostgreSQL database with no tables at all (for migration tests), dropped after."""
    url = create_pg_database("ggzy_empty")
    yield url
    drop_pg_database(url)


# --- app / client fixtures ----------------------------------------------------------------------------
# ---------------------------------------------------------------- the platform and its HTTP API


@pytest.fixture
def platform(db_url: str) -> Iterator[Platform]:
    """A platform on a clean database with the fake clock on, calendar seeded, forms and processes deployed."""
    from ggzy.config import Config
    from services import bootstrap, steps

    steps.clear_cache()
    p = Platform.build(Config(database_url=db_url, fake_clock=True))
    snapshot = _REFERENCE_DATA.get(db_url)
    if snapshot is None:
        bootstrap.load_data(p)
        _REFERENCE_DATA[db_url] = _snapshot(p.db.engine)
    else:
        _restore(p.db.engine, snapshot)
    yield p
    p.dispose()


# Deploying every form and process and seeding the calendar costs about a second; a test's database is emptied
# after it, so the rows load_data wrote the first time are kept and inserted again (ids and hashes unchanged).
_REFERENCE_DATA: dict[str, list[tuple[Any, list[dict[str, Any]]]]] = {}


def _snapshot(engine: Engine) -> list[tuple[Any, list[dict[str, Any]]]]:
    with engine.connect() as connection:
        tables = [(t, [dict(row._mapping) for row in connection.execute(t.select())])
                  for t in Base.metadata.sorted_tables]
    return [(table, rows) for table, rows in tables if rows]


def _restore(engine: Engine, snapshot: list[tuple[Any, list[dict[str, Any]]]]) -> None:
    # The ids were drawn from the tables' sequences, which DELETE never rewinds: later inserts cannot collide.
    with engine.begin() as connection:
        for table, rows in snapshot:
            connection.execute(table.insert(), rows)


@pytest.fixture
def app(platform: Platform) -> Iterator[Flask]:
    """The Flask app without a timer worker (tests fire timers explicitly or start one)."""
    from api.app import create_app

    yield create_app(platform=platform, start_worker=False)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """The Flask test client."""
    return app.test_client()


@pytest.fixture
def make_user(platform: Platform) -> Callable[..., dict[str, str]]:
    """make_user(roles, region=None, org=None, name=None) -> Authorization headers of a new user."""
    from services.users import create_user

    counter = iter(range(1, 1_000_000))

    def make(*roles: str, region: str | None = None, org: str | None = None, name: str | None = None) -> dict[str, str]:
        username = name or f"{'_'.join(roles)}{next(counter)}"
        token = create_user(platform, username, list(roles), region=region, org=org)["token"]
        return {"Authorization": f"Bearer {token}"}

    return make
