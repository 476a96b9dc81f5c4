"""Database engine, sessions, and the unit of work every use case runs in."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from domain.errors import Conflict


def shared(statement: Any) -> Any:
    """A statement built once and run by many threads (a module's constant): compiled here, once, first.

    SQLAlchemy fills in parts of a statement lazily, on its first compile: the column collections of an
    aliased subquery, among others. Two threads compiling a shared statement for the first time at once can
    each see them half built; for the tasks' UNION ALL (services/tasks.py) the ORM then fell back to the
    table's own columns, SELECT ... FROM tasks, anon_1, which reads every task with the wrong status, and the
    statement stayed wrong for the life of the process (a new gunicorn worker's first concurrent requests:
    every completion on that worker answered 409 "任务状态为 completed", slowly). A first compile in one thread,
    at import, fills them all in; later compiles only read them."""
    str(statement)
    return statement


class Database:
    """One SQLAlchemy engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            # No pre-ping on every checkout (a round trip before every transaction): only a connection idle
            # for a while is pinged (_ping_if_idle); a busy pool's connections were in use moments ago. A
            # connection dropped in between fails its first statement, and run() retries on a fresh one.
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=False, pool_recycle=3600)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)
        else:
            event.listen(self.engine.pool, "checkin", _note_checkin)
            event.listen(self.engine.pool, "checkout", partial(_ping_if_idle, self.engine.dialect))
        # Reads see one snapshot: a view of an instance must not mix rows from before and after a step that
        # commits between its queries (PostgreSQL's default READ COMMITTED takes a snapshot per statement;
        # SQLite in WAL mode already keeps one per transaction).
        reader = self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="REPEATABLE READ")
        self.sessions = sessionmaker(reader, expire_on_commit=False)
        # Writers take SQLite's write lock at BEGIN; readers stay deferred so they never wait on a writer.
        self._writers = sessionmaker(self.engine.execution_options(ggzy_write=True), expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commit once at the end, roll back everything on any error."""
        session = self._writers()
        try:
            yield session
            session.info["committing"] = True
            session.commit()
        except BaseException as exc:
            if isinstance(exc, DBAPIError) and exc.connection_invalidated and not session.info.get("committing"):
                exc.ggzy_retry = True  # type: ignore[attr-defined]  # nothing reached the database: run() retries
            session.rollback()
            raise
        finally:
            session.close()

    def run(self, use_case: Any, *args: Any, retries: int = 5, **kwargs: Any) -> Any:
        """Run use_case(session, ...) in its own unit of work, retrying when a concurrent step won."""
        for attempt in range(retries + 1):
            try:
                with self.unit_of_work() as session:
                    return use_case(session, *args, **kwargs)
            except StaleDataError as exc:
                if attempt == retries:
                    raise Conflict("流程实例正被其他操作更新，请重试") from exc
            except IntegrityError as exc:
                # A concurrent transaction inserted the same unique key first; a retry sees its row.
                if attempt == retries:
                    raise Conflict("并发操作冲突，请重试") from exc
            except DBAPIError as exc:
                # A lock timeout or deadlock, or a pooled connection the server had dropped (a restart, an idle
                # limit) failing before COMMIT: the transaction is gone and a retry on a fresh connection is safe.
                # A connection lost during COMMIT is not retried: whether it committed is unknown.
                retry = getattr(exc, "ggzy_retry", False) or (isinstance(exc, OperationalError) and _is_lock_error(exc))
                if not retry or attempt == retries:
                    raise
            time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


# A pooled connection unused for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dialect: Any, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """The pessimistic disconnect check, for idle connections only: the pool replaces one that fails."""
    checked_in = record.info.get("checked_in")
    if checked_in is None or time.monotonic() - checked_in < IDLE_PING_SECONDS:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as exc:  # noqa: BLE001 - any failure of the ping means a dead connection
        raise DisconnectionError(f"idle pooled connection failed its ping: {exc}") from exc


def _is_lock_error(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "deadlock" in text or "could not serialize" in text


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN IMMEDIATE ourselves so that a
    # step holds the write lock from its first read and concurrent steps serialize instead of failing late.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    write = connection.get_execution_options().get("ggzy_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
