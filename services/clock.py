"""The platform clock: real time, shifted by an offset when the fake clock is enabled."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, select
from sqlalchemy.pool import StaticPool

from domain.errors import NotFound
from persistence.db import Database
from persistence.models import Setting

_KEY = "clock_offset_seconds"
_CACHE_SECONDS = 0.2


class Clock:
    """now() for timers and deadlines; shared by every process through the settings table."""

    def __init__(self, db: Database, fake: bool) -> None:
        self.db = db
        self.fake = fake
        self._offset = 0.0
        self._read_at = -1.0
        self._lock = threading.Lock()
        # The offset is read inside use cases that already hold a pooled connection and a row lock, so it
        # has a connection of its own: under load the pool could otherwise be empty when the lock holder
        # asks for the time.
        args = {"check_same_thread": False} if db.is_sqlite else {}
        self._reader = create_engine(db.url, poolclass=StaticPool, connect_args=args) if fake else None

    def now(self) -> datetime:
        """The current platform time, aware, in UTC."""
        real = datetime.now(UTC)
        if not self.fake:
            return real
        return real + timedelta(seconds=self._current_offset())

    def set(self, when: datetime) -> datetime:
        """Move the fake clock to `when`; time keeps flowing from there."""
        if not self.fake:
            raise NotFound("未启用模拟时钟 (GGZY_FAKE_CLOCK)")
        offset = (when - datetime.now(UTC)).total_seconds()
        with self.db.unit_of_work() as session:
            row = session.get(Setting, _KEY)
            if row is None:
                session.add(Setting(key=_KEY, value=repr(offset)))
            else:
                row.value = repr(offset)
        with self._lock:
            self._offset, self._read_at = offset, time.monotonic()
        return self.now()

    def _current_offset(self) -> float:
        with self._lock:
            if self._read_at >= 0 and time.monotonic() - self._read_at < _CACHE_SECONDS:
                return self._offset
            assert self._reader is not None
            with self._reader.connect() as conn:
                value = conn.execute(select(Setting.value).where(Setting.key == _KEY)).scalar()
            self._offset, self._read_at = float(value) if value else 0.0, time.monotonic()
            return self._offset

    def dispose(self) -> None:
        """Close the clock's own connection."""
        if self._reader is not None:
            self._reader.dispose()
