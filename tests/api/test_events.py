"""The audit log of an instance: ordered, hash-chained, tamper-evident."""
from __future__ import annotations

import hashlib
from itertools import pairwise

from sqlalchemy import create_engine, update

from persistence.models import Event
from services import audit
from tests.api.conftest import GENESIS, assert_error, chain, user_task


def run_two_steps(api, staff):
    api.deploy(chain("events_proc", [("accept", user_task("accept", "受理")),
                                     ("review", user_task("review", "复核"))]))
    instance = api.start("events_proc", "EV-1", staff, {"amount": 7})
    api.complete(instance["tasks"][0]["id"], staff)
    return instance["id"]


def test_events_are_a_hash_chain(api, staff):
    instance_id = run_two_steps(api, staff)
    events = api.events(instance_id, staff)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["prev_hash"] == GENESIS
    for previous, event in pairwise(events):
        assert event["prev_hash"] == previous["hash"]
    assert len({e["hash"] for e in events}) == len(events)
    for event in events:
        assert {"seq", "at", "type", "actor", "data", "hash", "prev_hash"} <= set(event)
        assert len(event["hash"]) == 64 and int(event["hash"], 16) >= 0
    types = [e["type"] for e in events]
    assert types[0] == "instance.started"
    assert types.count("task.created") == 2 and types.count("task.completed") == 1
    assert types.index("task.created") < types.index("task.completed")


def test_events_record_actor_client_ip_and_data(api, staff, client):
    instance_id = run_two_steps(api, staff)
    events = api.events(instance_id, staff)
    started = events[0]
    assert started["data"]["business_key"] == "EV-1"
    assert started["data"]["variables"] == {"amount": 7}
    completed = next(e for e in events if e["type"] == "task.completed")
    assert completed["client_ip"] == "127.0.0.1"
    assert completed["actor"] and completed["actor"] == started["actor"]
    assert completed["at"][:4].isdigit() and ("+" in completed["at"][10:] or completed["at"].endswith("Z"))

    # a call from another address is recorded with that address
    review = api.instance(instance_id, staff)["tasks"][0]["id"]
    client.post(f"/api/v1/tasks/{review}/complete", json={"data": {}}, headers=staff,
                environ_base={"REMOTE_ADDR": "10.1.2.3"})
    last_completed = [e for e in api.events(instance_id, staff) if e["type"] == "task.completed"][-1]
    assert last_completed["client_ip"] == "10.1.2.3"


def test_events_need_a_party_or_overseer(api, staff, make_user):
    instance_id = run_two_steps(api, staff)
    assert_error(api.call("GET", f"/process-instances/{instance_id}/events", make_user("bidder")), 403)
    assert api.call("GET", f"/process-instances/{instance_id}/events", make_user("supervisor"), 200).get_json()


def test_verify_passes_then_reports_the_tampered_seq(api, staff, platform, db_url):
    instance_id = run_two_steps(api, staff)
    with platform.db.sessions() as session:
        checked, broken = audit.verify(session, instance_id)
    events = api.events(instance_id, staff)
    assert (checked, broken) == (len(events), None)

    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            changed = connection.execute(
                update(Event.__table__)
                .where(Event.__table__.c.instance_id == instance_id, Event.__table__.c.seq == 3)
                .values(data={"forged": True}))
            assert changed.rowcount == 1
    finally:
        engine.dispose()

    with platform.db.sessions() as session:
        checked, broken = audit.verify(session, instance_id)
        assert broken is not None and broken["seq"] == 3 and broken["instance_id"] == instance_id
        assert checked == 2
        # the whole-database check finds it too
        _, anywhere = audit.verify(session)
        assert anywhere is not None and anywhere["instance_id"] == instance_id and anywhere["seq"] == 3
    # the API still shows the forged row, whose hash no longer matches its content
    forged = api.events(instance_id, staff)[2]
    assert forged["data"] == {"forged": True}


def test_deleting_an_event_breaks_the_chain(api, staff, platform, db_url):
    instance_id = run_two_steps(api, staff)
    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            table = Event.__table__
            connection.execute(table.delete().where(table.c.instance_id == instance_id, table.c.seq == 2))
    finally:
        engine.dispose()
    with platform.db.sessions() as session:
        _, broken = audit.verify(session, instance_id)
    assert broken is not None and broken["seq"] in (2, 3)


def test_rewriting_a_hash_is_caught_at_the_next_link(api, staff, platform, db_url):
    instance_id = run_two_steps(api, staff)
    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            table = Event.__table__
            connection.execute(update(table).where(table.c.instance_id == instance_id, table.c.seq == 2)
                               .values(hash=hashlib.sha256(b"forged").hexdigest()))
    finally:
        engine.dispose()
    with platform.db.sessions() as session:
        _, broken = audit.verify(session, instance_id)
    assert broken is not None and broken["seq"] == 2
