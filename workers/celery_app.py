"""Celery worker and beat for timers when GGZY_REDIS_URL is set (`ggzy worker`)."""
from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any

import redis
from celery import Celery

from ggzy.config import Config
from services import obligations, timers
from services.platform import Platform
from workers.health import HEARTBEAT_KEY

log = logging.getLogger(__name__)

SCAN_EVERY_SECONDS = 0.5
# While this key exists the instance has a firing task queued or running; a crashed worker's key expires
# so the next scan queues the instance again.
QUEUED_KEY = "ggzy:timers:queued:{instance_id}"
QUEUED_TTL_MS = 5000


class WorkerState:
    """The Platform and Redis client of one worker process, built on first use after any fork."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._platform: Platform | None = None
        self._redis: redis.Redis | None = None

    def _ensure(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            # Built in this process only: engine pools and sockets must not cross a fork.
            self._platform = Platform.build(self.config)
            self._redis = redis.Redis.from_url(self.config.redis_url or "redis://127.0.0.1:6379/0")
            self._pid = os.getpid()

    def platform(self) -> Platform:
        """The process's Platform."""
        self._ensure()
        assert self._platform is not None
        return self._platform

    def redis(self) -> redis.Redis:
        """The process's Redis client (for the de-duplication keys)."""
        self._ensure()
        assert self._redis is not None
        return self._redis


def make_celery(config: Config) -> Celery:
    """A Celery app on the configured Redis with the timer tasks and a beat that scans every 0.5 s."""
    # Without a Redis URL the app stays importable (nothing connects at import); `ggzy worker` refuses to run.
    broker = config.redis_url or "memory://"
    app = Celery("ggzy", broker=broker, backend=config.redis_url or "cache+memory://")
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=3600,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # Redelivery of an unacknowledged task after a lost connection; the firing step is idempotent.
        broker_transport_options={"visibility_timeout": 120},
        # The schedule is a fixed 0.5 s interval, so beat needs no state file.
        beat_scheduler="celery.beat:Scheduler",
        beat_schedule={
            "scan-timers": {
                "task": "ggzy.scan_timers",
                "schedule": timedelta(seconds=SCAN_EVERY_SECONDS),
                # A scan that waited longer than this is superseded by a newer one.
                "options": {"expires": 5},
            },
            "check-obligations": {
                "task": "ggzy.check_obligations",
                "schedule": timedelta(seconds=obligations.EVERY_SECONDS),
                "options": {"expires": obligations.EVERY_SECONDS},
            },
        },
        timezone="UTC",
    )
    state = WorkerState(config)
    app.ggzy_state = state  # type: ignore[attr-defined]

    @app.task(name="ggzy.scan_timers", ignore_result=True)
    def scan_timers() -> int:
        """Queue one firing task per instance with due timers, unless one is already queued."""
        p, r = state.platform(), state.redis()
        # The heartbeat workers.health.CeleryHealth reads for /healthz.
        r.set(HEARTBEAT_KEY, repr(time.time()), ex=3600)
        queued = 0
        for instance_id in timers.due_instances(p):
            if r.set(QUEUED_KEY.format(instance_id=instance_id), "1", nx=True, px=QUEUED_TTL_MS):
                fire_instance_timers.delay(instance_id)
                queued += 1
        if queued:
            log.info("timer firing queued", extra={"instances": queued})
        return queued

    @app.task(name="ggzy.check_obligations", ignore_result=True)
    def check_obligations() -> dict[str, Any]:
        """Raise alerts for obligations past due (bond refunds); safe to run twice."""
        return obligations.check_all(state.platform())

    @app.task(name="ggzy.fire_instance_timers", ignore_result=True, acks_late=True,
              reject_on_worker_lost=True)
    def fire_instance_timers(instance_id: str) -> int:
        """Fire one instance's due timers; the row lock and status check make a second run a no-op."""
        p, r = state.platform(), state.redis()
        fired = timers.fire_instance(p, instance_id)
        # Released only on success: after a failure the key's expiry spaces out the retries.
        r.delete(QUEUED_KEY.format(instance_id=instance_id))
        if fired:
            log.info("timers fired", extra={"instance_id": instance_id, "timers": fired})
        return fired

    @app.task(name="ggzy.ping")
    def ping() -> str:
        """Health check: answered by any live worker."""
        return "pong"

    return app


app = make_celery(Config.from_env())
