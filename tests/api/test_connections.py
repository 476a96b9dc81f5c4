"""A step holds one pooled connection at a time; a second one inside a locked step can exhaust the pool.

With N concurrent steps on one instance and a pool of N connections, every waiter holds a connection while
it waits for the instance lock; if the lock holder then asks the pool for another connection, nobody can
move until the pool times out (30 s) and the requests fail with 500.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from api.app import create_app
from ggzy.config import Config
from services.platform import Platform
from tests.api.conftest import Api, one_task


@contextmanager
def peak_connections_per_thread(engine: Engine) -> Iterator[Counter]:
    """The most pooled connections any one thread held at once while the block ran."""
    held: Counter = Counter()
    peak: Counter = Counter()
    lock = threading.Lock()

    def checkout(*_args: object) -> None:
        with lock:
            me = threading.get_ident()
            held[me] += 1
            peak[me] = max(peak[me], held[me])

    def checkin(*_args: object) -> None:
        with lock:
            held[threading.get_ident()] -= 1

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        yield peak
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)


def steps_hold_one_connection(p: Platform, make_user) -> Counter:
    """Deploy, start, claim, complete, suspend, resume, cancel; the per-thread connection peak."""
    api = Api(create_app(platform=p, start_worker=False).test_client(), make_user)
    staff = make_user("staff", region="330100")
    api.deploy(one_task("one_conn"))
    with peak_connections_per_thread(p.db.engine) as peak:
        for n in range(2):
            time.sleep(0.25)  # past the fake clock's 0.2 s offset cache, as between two real requests
            instance = api.start("one_conn", f"ONE-{n}", staff)
            task_id = instance["tasks"][0]["id"]
            path = f"/process-instances/{instance['id']}"
            time.sleep(0.25)
            api.call("POST", f"/tasks/{task_id}/claim", staff, 200)
            time.sleep(0.25)
            if n == 0:
                api.complete(task_id, staff)
            else:
                api.action("suspend", path, staff)
                time.sleep(0.25)
                api.action("resume", path, staff)
                time.sleep(0.25)
                api.action("cancel", path, staff)
    return peak


def test_steps_hold_one_connection_with_the_real_clock(db_url, platform, make_user):
    real = Platform.build(Config(database_url=db_url, fake_clock=False))
    try:
        peak = steps_hold_one_connection(real, make_user)
    finally:
        real.dispose()
    assert peak and max(peak.values()) == 1, dict(peak)


def test_steps_hold_one_connection_with_the_fake_clock(platform, make_user):
    peak = steps_hold_one_connection(platform, make_user)
    assert peak and max(peak.values()) == 1, dict(peak)
