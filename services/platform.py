"""The collaborators every use case needs, built once per process."""
from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ggzy.config import Config
from persistence.db import Database
from services.clock import Clock


@dataclass
class Platform:
    """Database, clock and settings; passed to every service function."""

    config: Config
    db: Database
    clock: Clock
    tz: ZoneInfo = field(init=False)

    def __post_init__(self) -> None:
        self.tz = ZoneInfo(self.config.timezone)

    @classmethod
    def build(cls, config: Config) -> Platform:
        """Connect to the configured database."""
        db = Database(config.database_url)
        return cls(config=config, db=db, clock=Clock(db, fake=config.fake_clock))

    def dispose(self) -> None:
        """Close every connection the platform holds."""
        self.clock.dispose()
        self.db.dispose()
