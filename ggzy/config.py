"""Settings read once from the environment (CONTRACT.md, "Environment")."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Config:
    """Everything the platform reads from its environment."""

    database_url: str = "sqlite:///var/ggzy.sqlite3"
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    fake_clock: bool = False
    timezone: str = "Asia/Shanghai"
    processes_dir: Path = ROOT / "processes" / "bpmn"
    forms_dir: Path = ROOT / "forms"
    timer_poll_seconds: float = 0.25

    @classmethod
    def from_env(cls, **overrides: object) -> Config:
        """Read GGZY_* variables; keyword overrides win (used by tests and CLI flags)."""
        env = os.environ
        values: dict[str, object] = {
            "database_url": env.get("GGZY_DATABASE_URL") or "sqlite:///var/ggzy.sqlite3",
            "redis_url": env.get("GGZY_REDIS_URL") or None,
            "host": env.get("GGZY_HOST") or "127.0.0.1",
            "port": int(env.get("GGZY_PORT") or 8080),
            "fake_clock": env.get("GGZY_FAKE_CLOCK") == "1",
            "timezone": env.get("GGZY_TIMEZONE") or "Asia/Shanghai",
        }
        values.update(overrides)
        config = cls(**values)  # type: ignore[arg-type]
        _ensure_sqlite_folder(config.database_url)
        return config


def _ensure_sqlite_folder(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        path = Path(url[len(prefix):])
        if not path.is_absolute():
            path = Path.cwd() / path
        path.parent.mkdir(parents=True, exist_ok=True)
