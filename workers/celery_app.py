"""Celery worker and beat for timers when GGZY_REDIS_URL is set (`ggzy worker`)."""
from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any

import redis
from celery import Celery, signals

from ggzy.config import Config
from services import bootstrap, obligations, timers
from services.platform import Platform
from workers.health import HEARTBEAT_KEY

log = logging.getLogger(__name__)

SCAN_EVERY_SECONDS = 0.25
# While this key exists the instance has a firing task queued or running; a crashed worker's key expires
# so the next scan queues the instance again.
QUEUED_KEY = "ggzy:timers:queued:{instance_id}"
QUEUED_TTL_MS = 5000
# Instances per firing task, fired in one transaction (timers.fire_instances): also one broker message per batch.
FIRE_BATCH = timers.BATCH
# A scan queues nothing while this many messages wait: a backlog (400 instances) drains before its keys
# expire, so a long queue never gets the same instances a second time.
MAX_BACKLOG = 16
# The scans (and the obligation checks) have a queue of their own, which every worker reads beside the
# firing queue (`ggzy worker` passes both): a scan never waits behind the backlog it is meant to refill.
SCAN_QUEUE = "ggzy.scan"
# Set while a scan is scheduled for a due instant (to the 10 ms), so the scans before it schedule it once.
PRECISE_KEY = "ggzy:timers:scan-at:{instant}"


@signals.worker_init.connect(weak=False)
def _warm_up(**_: Any) -> None:
    """At worker start, before a prefork pool forks: services.bootstrap.warm_up."""
    bootstrap.warm_up()


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
        task_routes={"ggzy.scan_timers": {"queue": SCAN_QUEUE}, "ggzy.check_obligations": {"queue": SCAN_QUEUE}},
    )
    state = WorkerState(config)
    app.ggzy_state = state  # type: ignore[attr-defined]
    # The tasks below close over this app's state: shared=False keeps them out of Celery's registry of tasks
    # shared by every app, where a second app (tests build several) would get the first app's callables.

    @app.task(name="ggzy.scan_timers", ignore_result=True, shared=False)
    def scan_timers() -> int:
        """Queue firing tasks (FIRE_BATCH instances each) for due instances that are not queued already."""
        p, r = state.platform(), state.redis()
        # The heartbeat workers.health.CeleryHealth reads for /healthz.
        r.set(HEARTBEAT_KEY, repr(time.time()), ex=3600)
        room = MAX_BACKLOG - int(r.llen(app.conf.task_default_queue))  # type: ignore[arg-type]
        if room <= 0:
            return 0
        # The most overdue come first, and up to MAX_BACKLOG batches of them are still queued or running: read
        # past those, so that a scan finds the next ones to queue while the queue drains.
        due = timers.due_instances(p, limit=(MAX_BACKLOG + room) * FIRE_BATCH)
        if not due:
            _scan_at_next_due(p, r)
            return 0
        # Two round trips for all the keys, not one per instance: which are free, then claim those.
        keys = [QUEUED_KEY.format(instance_id=i) for i in due]
        free = [(i, k) for i, k, taken in zip(due, keys, r.mget(keys), strict=True) if taken is None]
        free = free[:room * FIRE_BATCH]
        with r.pipeline(transaction=False) as pipe:
            for _, key in free:
                pipe.set(key, "1", nx=True, px=QUEUED_TTL_MS)
            claimed = [i for (i, _), ok in zip(free, pipe.execute(), strict=True) if ok]
        for start in range(0, len(claimed), FIRE_BATCH):
            fire_timers.delay(claimed[start:start + FIRE_BATCH])
        queued = len(claimed)
        if queued:
            log.info("timer firing queued", extra={"instances": queued})
        return queued

    def _scan_at_next_due(p: Platform, r: redis.Redis) -> None:
        """When the next timer falls due before the next regular scan, scan again at its due instant.

        A block of deadlines (bids at 9:00:00) then starts firing at once instead of up to one interval
        late. One such scan per due instant (a Redis key), whichever scan saw it first."""
        wait = timers.next_due_in(p)
        if wait is None or not 0 < wait <= SCAN_EVERY_SECONDS:
            return
        instant = f"{time.time() + wait:.3f}"
        if r.set(PRECISE_KEY.format(instant=instant[:-1]), "1", nx=True, px=int((wait + 5) * 1000)):
            scan_timers.apply_async(countdown=wait, expires=wait + 5)

    @app.task(name="ggzy.check_obligations", ignore_result=True, shared=False)
    def check_obligations() -> dict[str, Any]:
        """Raise alerts for obligations past due (bond refunds); safe to run twice."""
        return obligations.check_all(state.platform())

    @app.task(name="ggzy.fire_instance_timers", ignore_result=True, acks_late=True,
              reject_on_worker_lost=True, shared=False)
    def fire_instance_timers(instance_id: str) -> int:
        """Fire one instance's due timers; the row lock and status check make a second run a no-op."""
        p, r = state.platform(), state.redis()
        fired = timers.fire_instance(p, instance_id)
        # Released only on success: after a failure the key's expiry spaces out the retries.
        r.delete(QUEUED_KEY.format(instance_id=instance_id))
        if fired:
            log.info("timers fired", extra={"instance_id": instance_id, "timers": fired})
        return fired

    @app.task(name="ggzy.fire_timers", ignore_result=True, acks_late=True, reject_on_worker_lost=True,
              shared=False)
    def fire_timers(instance_ids: list[str]) -> int:
        """Fire a batch of instances one after another, each in its own step; a failure skips only its own."""
        p, r = state.platform(), state.redis()
        # One transaction for the batch when all goes well, else one per instance; a failed one is logged
        # there and left out, and its key expires so that a later scan queues it again.
        fired = timers.fire_instances(p, instance_ids, strict=False)
        # The keys of the fired instances go in one round trip at the end: until then they only keep the scans
        # from queueing instances whose timers this task has already fired (and a scan would find none due).
        if fired:
            r.delete(*(QUEUED_KEY.format(instance_id=i) for i in fired))
        return sum(fired.values())

    @app.task(name="ggzy.ping", shared=False)
    def ping() -> str:
        """Health check: answered by any live worker."""
        return "pong"

    return app


app = make_celery(Config.from_env())
