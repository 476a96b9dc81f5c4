"""A pooled connection the server dropped (a restart, an idle limit) costs no failed request, and no pre-ping per
transaction: an idle connection is pinged before use, a busy one fails its first statement and run() retries the
use case on a fresh connection, unless the connection died during COMMIT (then whether it committed is unknown)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import persistence.db as db_module
from persistence.db import Database

# On PostgreSQL in both passes of `make test` (pg_url, whatever the backend under test): pooled connections,
# pings and server-side terminations are PostgreSQL's; the SQLite engine keeps no pre-ping to drop.


@pytest.fixture
def db(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    database.dispose()


def _terminate(url: str, pid: int) -> None:
    """End one backend from outside, as a server restart or a proxy's idle limit would."""
    admin = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        # Wait until the backend is really gone, so the next statement on its connection fails.
        for _ in range(200):
            if not connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                      {"pid": pid}).scalar():
                break
            connection.execute(text("SELECT pg_sleep(0.01)"))
    admin.dispose()


def _backend_pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_busy_pool_sends_no_ping_before_a_transaction(db: Database) -> None:
    statements: list[str] = []
    db.run(_backend_pid)  # the pool now holds a connection used a moment ago

    from sqlalchemy import event

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    pings: list[int] = []
    original = db.engine.dialect.do_ping
    db.engine.dialect.do_ping = lambda c: pings.append(1) or original(c)  # type: ignore[method-assign]
    try:
        db.run(_backend_pid)
    finally:
        db.engine.dialect.do_ping = original  # type: ignore[method-assign]
    assert pings == []
    assert statements == ["SELECT pg_backend_pid()"]


def test_an_idle_connection_is_pinged_and_replaced_when_the_server_dropped_it(
        db: Database, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = db.run(_backend_pid)
    _terminate(pg_url, first)
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)
    calls: list[int] = []

    def use_case(session: Session) -> int:
        calls.append(1)
        return _backend_pid(session)

    second = db.run(use_case)
    assert second != first
    assert calls == [1]  # the dead connection was refused at checkout, before the use case ran


def test_a_connection_dropped_before_commit_is_retried_on_a_fresh_one(
        db: Database, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = db.run(_backend_pid)
    _terminate(pg_url, first)
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 3600.0)  # recently used: no ping
    pids: list[int] = []

    def use_case(session: Session) -> int:
        pid = _backend_pid(session)  # fails on the dead connection the first time
        pids.append(pid)
        return pid

    assert db.run(use_case) != first
    assert len(pids) == 1  # the first attempt never got an answer; the second ran once on a new connection


def test_a_connection_lost_during_commit_is_not_retried(db: Database, pg_url: str) -> None:
    calls: list[int] = []

    def use_case(session: Session) -> None:
        calls.append(1)
        session.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS t (x int)"))
        _terminate(pg_url, _backend_pid(session))  # the backend dies before COMMIT reaches it

    with pytest.raises(DBAPIError) as raised:
        db.run(use_case)
    assert raised.value.connection_invalidated
    assert calls == [1]
    assert db.run(_backend_pid) > 0  # the pool recovered
