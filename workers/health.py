"""Scheduler health when timers run on Celery: Redis answers and the beat's scan heartbeat is fresh."""
from __future__ import annotations

import time

HEARTBEAT_KEY = "ggzy:timers:heartbeat"
STALE_SECONDS = 5.0


class CeleryHealth:
    """health() for /healthz in Celery mode; wake() is a no-op (beat scans every 0.5 s)."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url

    def wake(self) -> None:
        """Celery beat rescans on its own schedule."""

    def health(self) -> str:
        """ok, or why not."""
        import redis

        try:
            client = redis.Redis.from_url(self.redis_url, socket_timeout=1)
            beat = client.get(HEARTBEAT_KEY)
        except Exception as exc:  # noqa: BLE001 - health must report, not raise
            return f"redis unreachable: {exc.__class__.__name__}"
        if beat is None:
            return "no worker heartbeat (start `ggzy worker`)"
        age = time.time() - float(beat)
        return "ok" if age < STALE_SECONDS else f"stale: last scan {age:.0f} s ago"
