"""Two timer workers on one database: every due timer fires exactly once, on time."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from domain.access import SYSTEM
from persistence.models import Event, Timer
from services import definitions, instances
from services.platform import Platform
from tests.workers.timer_support import BPMN, STAFF, wait_until
from workers.embedded import EmbeddedTimerWorker

INSTANCES = 30


def test_two_embedded_workers_fire_each_timer_exactly_once(platform: Platform) -> None:
    definitions.deploy_bytes(platform, (BPMN / "timer_simple.bpmn").read_bytes(), SYSTEM)
    ids = [instances.start(platform, STAFF, "timer_simple", f"T-{i}", {})[0]["id"] for i in range(INSTANCES)]
    # Each worker gets its own Platform (own connection pool, own clock cache), as two processes would.
    other = Platform.build(platform.config)
    workers = [EmbeddedTimerWorker(platform), EmbeddedTimerWorker(other)]
    for worker in workers:
        worker.start()
    try:
        platform.clock.set(platform.clock.now() + timedelta(hours=2))

        def all_fired() -> bool:
            with platform.db.sessions() as session:
                return session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "pending")) == 0

        wait_until(all_fired, timeout=15)
    finally:
        for worker in workers:
            worker.stop()
        other.dispose()
    with platform.db.sessions() as session:
        fired = session.execute(
            select(Event.instance_id, func.count()).where(Event.type == "timer.fired").group_by(Event.instance_id)
        ).all()
    assert sorted(i for i, _ in fired) == sorted(ids)
    assert all(count == 1 for _, count in fired), fired
    for instance_id in ids:
        view = instances.get(platform, STAFF, instance_id)
        assert [t["element_id"] for t in view["tasks"]] == ["review"], view
