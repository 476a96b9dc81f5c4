"""100,000 pending timers, a block of them due at one instant: lateness and duplicates with 2 Celery workers."""
from __future__ import annotations

import os
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.loadkit import (
    CpuMeter,
    Stack,
    env_int,
    flush_redis,
    log,
    percentiles,
    pg_backends,
    postgres,
    settled_probe,
    with_children,
)

BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="urn:bench">
  <bpmn:process id="bench_timer" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait" name="wait">
      <bpmn:timerEventDefinition><bpmn:timeDate xsi:type="bpmn:tFormalExpression">due</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""

# event_seq/event_head too: a real instance's row holds its audit chain's head, so its steps never query the
# events table for it. The copies share the template's head without its events (their chains do not verify,
# which this bench does not need); without a head, every firing would cost two statements more than in life.
INSTANCE_COLUMNS = ("definition_id, process_key, version, region, status, variables, state, error, lock_version, "
                    "event_seq, event_head, created_by, created_at, updated_at, completed_at")
TIMER_COLUMNS = "task_id, element_id, name, kind, boundary, rule, due_at, status, fired_at, created_at"


def seed(url: str, total: int, block: int, due: datetime) -> None:
    """Two instances started through the service (due at `due`, and 30 days later), copied in SQL to `total`."""
    from sqlalchemy import text

    from domain.access import SYSTEM, Actor
    from ggzy.config import Config
    from services import definitions, instances
    from services.platform import Platform

    p = Platform.build(Config(database_url=url, fake_clock=True))
    staff = Actor("bench", frozenset({"staff"}))
    try:
        definitions.deploy_bytes(p, BPMN, SYSTEM)
        templates = {}
        for tag, at, count in (("BLOCK", due, block), ("LATER", due + timedelta(days=30), total - block)):
            view, _ = instances.start(p, staff, "bench_timer", f"{tag}-0", {"due": at.isoformat()})
            assert [t["element_id"] for t in view["timers"]] == ["wait"], view
            templates[tag] = (view["id"], count)
        with p.db.engine.begin() as connection:
            for tag, (template, count) in templates.items():
                # Copies share the template's engine state: the same timer, due at the same instant.
                connection.execute(text(
                    f"INSERT INTO process_instances (id, business_key, {INSTANCE_COLUMNS}) "
                    f"SELECT gen_random_uuid()::text, :tag || '-' || g, {INSTANCE_COLUMNS} "
                    "FROM process_instances, generate_series(1, :n) g WHERE id = :template"),
                    {"tag": tag, "n": count - 1, "template": template})
                connection.execute(text(
                    f"INSERT INTO timers (instance_id, {TIMER_COLUMNS}) SELECT i.id, {', '.join(f't.{c.strip()}' for c in TIMER_COLUMNS.split(','))} "
                    "FROM process_instances i JOIN timers t ON t.instance_id = :template "
                    "WHERE i.business_key LIKE :tag || '-%' AND i.id <> :template"),
                    {"tag": tag, "template": template})
        with p.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("process_instances", "timers", "events"):
                connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
    finally:
        p.dispose()


class _Watch:
    """Counts on one open connection. The polls during the block use one: a new engine and connection every
    0.1 s (a backend forked, authenticated, its caches warmed) took CPU from the workers being measured."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine, pool

        self.engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        self.connection = self.engine.connect()
        self.backend = self.count("SELECT pg_backend_pid()")  # not one of the processes doing the work

    def count(self, sql: str, **params: Any) -> int:
        from sqlalchemy import text

        return int(self.connection.execute(text(sql), params).scalar() or 0)

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


def blocks() -> list[int]:
    """The block sizes to measure (GGZY_BENCH_TIMER_BLOCKS, comma-separated)."""
    return sorted(int(b) for b in (os.environ.get("GGZY_BENCH_TIMER_BLOCKS") or "100,1000").split(",") if b.strip())


def run(kill: bool = False, block: int | None = None) -> dict[str, Any]:
    """Seed, start 2 Celery workers and beat, move the clock to just before the block, measure the firing."""
    from ggzy.config import Config
    from services.platform import Platform

    total, block = env_int("GGZY_BENCH_TIMERS", 100_000), block or blocks()[-1]
    workers = env_int("GGZY_BENCH_CELERY_WORKERS", 2)
    concurrency = env_int("GGZY_BENCH_CELERY_CONCURRENCY", 2)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    result: dict[str, Any] = {"timers": total, "block": block, "celery_workers": workers,
                              "celery_concurrency": concurrency}
    with postgres("ggzy_bench_timers") as (url, description), tempfile.TemporaryDirectory() as folder:
        result["server"] = description
        started = time.monotonic()
        seed(url, total, block, due)
        result["seed_seconds"] = round(time.monotonic() - started, 1)
        seeded = _Watch(url)
        pending = seeded.count("SELECT count(*) FROM timers WHERE status = 'pending'")
        seeded.close()
        log(f"timers: {pending:,} pending timers seeded in {result['seed_seconds']} s, block of {block:,}")
        assert pending == total, pending
        flush_redis()
        stack = Stack(url, Path(folder), extra_env={"GGZY_FAKE_CLOCK": "1"})
        p = Platform.build(Config(database_url=url, fake_clock=True))
        try:
            stack.celery(workers, concurrency)
            time.sleep(8)  # workers and beat up, a few idle scans over 100,000 pending rows
            result["probe_ms"] = settled_probe()
            lead = 3.0
            meter = CpuMeter()
            working = with_children([proc.pid for name, proc in stack.procs.items() if name.startswith("worker")])
            # The bench's own connections (this poll, and the killer's) are not the work being measured.
            watches = [_Watch(url) for _ in range(2 if kill else 1)]
            watch, own = watches[0], {w.backend for w in watches}

            def database() -> list[int]:
                return [pid for pid in pg_backends(url) if pid not in own]
            meter.start(working + database())
            p.clock.set(due - timedelta(seconds=lead))
            victim: list[int] = []
            if kill:
                def killer() -> None:
                    # In the middle of the block: after the first firings, while most are still pending.
                    while watches[1].count("SELECT count(*) FROM timers WHERE status = 'fired'") < block // 4:
                        time.sleep(0.02)
                    victim.append(stack.kill("worker1"))
                    log("timers: SIGKILLed Celery worker1 in the middle of the block")
                threading.Thread(target=killer, daemon=True).start()
            deadline = time.monotonic() + lead + 120
            try:
                while time.monotonic() < deadline:
                    if watch.count("SELECT count(*) FROM timers WHERE status = 'pending' AND due_at <= :due",
                                   due=due) == 0:
                        break
                    time.sleep(0.1)
            finally:
                for each in watches:
                    each.close()
            cpu = meter.stop(working + database())
            time.sleep(3)  # late duplicates, if any, would show up now
        finally:
            p.dispose()
            stack.stop()
        result.update(check(url, block, due))
        result["killed"] = victim
        result["cpu_ms_per_firing"] = round(cpu * 1000 / max(result["fired"], 1), 2)
    log(f"timers: {result}")
    return result


def check(url: str, block: int, due: datetime) -> dict[str, Any]:
    """Lateness of the block, and every timer fired exactly once (events and rows agree)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        lateness = [float(v) for v in connection.execute(text(
            "SELECT EXTRACT(EPOCH FROM fired_at - due_at) FROM timers WHERE due_at = :due AND status = 'fired'"),
            {"due": due}).scalars()]
        fired_events = connection.execute(text("SELECT count(*) FROM events WHERE type = 'timer.fired'")).scalar()
        doubled = connection.execute(text(
            "SELECT count(*) FROM (SELECT instance_id FROM events WHERE type = 'timer.fired' "
            "GROUP BY instance_id HAVING count(*) > 1) d")).scalar()
        completed = connection.execute(text(
            "SELECT count(*) FROM process_instances WHERE status = 'completed'")).scalar()
        still_pending = connection.execute(text(
            "SELECT count(*) FROM timers WHERE status = 'pending' AND due_at <= :due"), {"due": due}).scalar()
        later_fired = connection.execute(text(
            "SELECT count(*) FROM timers WHERE status <> 'pending' AND due_at > :due"), {"due": due}).scalar()
    engine.dispose()
    ms = [v * 1000 for v in lateness]
    return {"fired": len(lateness), "lateness_ms": percentiles(ms), "fired_events": fired_events,
            "doubled": doubled, "completed": completed, "lost": block - len(lateness), "still_pending": still_pending, "later_fired": later_fired,
            "span_ms": round(max(ms) - min(ms), 1) if ms else 0.0}
