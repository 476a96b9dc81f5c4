"""A throw-away database for a benchmark run: a SQLite file, or a fresh PostgreSQL database on 127.0.0.1."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, pool, text
from sqlalchemy.exc import OperationalError

PG_ADMIN_CANDIDATES = tuple(
    f"postgresql+psycopg://{user}@127.0.0.1:5432/{db}" for user in ("postgres", "root") for db in ("test", "postgres")
)


@contextmanager
def database(kind: str, prefix: str = "ggzy_bench") -> Iterator[tuple[str, str]]:
    """A fresh empty database; yields (url, server description) and removes it afterwards."""
    if kind == "sqlite":
        import sqlite3

        folder = tempfile.mkdtemp(prefix=f"{prefix}-")
        try:
            yield f"sqlite:///{folder}/bench.sqlite3", f"SQLite {sqlite3.sqlite_version} (file, WAL)"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    admin = admin_url()
    name = f"{prefix}_{os.getpid()}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
            version = connection.execute(text("SHOW server_version")).scalar()
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        yield url, f"PostgreSQL {version} (127.0.0.1, psycopg 3)"
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def admin_url() -> str:
    """A PostgreSQL URL allowed to CREATE DATABASE (GGZY_BENCH_POSTGRES_URL, else postgres or root locally)."""
    candidates = [os.environ["GGZY_BENCH_POSTGRES_URL"]] if os.environ.get("GGZY_BENCH_POSTGRES_URL") else []
    for url in [*candidates, *PG_ADMIN_CANDIDATES]:
        engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool,
                               connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                if connection.execute(text(
                        "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user")).scalar():
                    return url
        except OperationalError:
            continue
        finally:
            engine.dispose()
    raise SystemExit("PostgreSQL is not reachable on 127.0.0.1:5432 as postgres or root "
                     "(set GGZY_BENCH_POSTGRES_URL to a URL allowed to CREATE DATABASE)")
