"""The fast draw is the published draw: positions from the list's length, the list built by PostgreSQL, the
stored format of before; and on a mixed pool the database's list is exactly the Python path's."""
from __future__ import annotations

import operator
import random
import zlib
from array import array
from datetime import date

import pytest
from sqlalchemy import select

from domain.access import region_prefix
from domain.errors import Invalid
from persistence.models import Event
from persistence.models_experts import CommitteeMember, ExpertDraw, ExpertRecusal
from services.trading import expert_pool, experts
from tests.trading.experts.conftest import (
    BIDDERS,
    CODE,
    EVALUATION_DAY,
    NOW,
    PURCHASER,
    STAFF,
    SUPERVISOR,
    uscc,
)
from trading.experts import candidates_hash, draw_ids, draw_positions, draw_sorted, pack_ids, unpack_ids

OTHER, THIRD = "B010101", "C020202"


def reference_pack(ids: list[int]) -> bytes:
    """pack_ids as it was first written: the stored format every existing draw row holds."""
    deltas = array("I" if array("I").itemsize == 4 else "L", map(operator.sub, ids, [0, *ids[:-1]]))
    return zlib.compress(deltas.tobytes(), 1)  # (the platform's machines are little-endian)


# --- pure: no database ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 5, 7, 8, 20, 21, 22, 60, 1_000, 92_000])
def test_the_picked_positions_are_the_published_draw(count):
    rng = random.Random(count)
    ids = sorted(rng.sample(range(1, 3 * count + 10), count))
    for needed, reserves in ((1, 0), (5, 2), (min(count, 7), 3), (count, 0)):
        if needed > count:
            continue
        for seed in ("feedface", f"seed-{count}", rng.randbytes(16).hex()):
            published = draw_ids(ids, needed, reserves, seed)
            assert draw_sorted(ids, needed, reserves, seed) == published
            assert draw_sorted(array("i", ids), needed, reserves, seed, published.candidates_hash) == published
            positions = draw_positions(count, needed, reserves, seed)
            assert [ids[i] for i in positions] == [*published.members, *published.reserves]


def test_the_positions_refuse_a_thin_pool_as_the_published_draw_does():
    with pytest.raises(Invalid) as published:
        draw_ids(list(range(1, 4)), 5, 2, "s")
    with pytest.raises(Invalid) as positions:
        draw_sorted(array("i", [1, 2, 3]), 5, 2, "s")
    assert positions.value.message == published.value.message
    assert positions.value.errors == published.value.errors == {"needed": 5, "available": 3}
    with pytest.raises(Invalid, match="抽取人数不合法"):
        draw_positions(10, 0, 1, "s")


@pytest.mark.parametrize("ids", [
    [], [1], [2_147_483_647], [1, 2, 3, 5, 8], list(range(1, 100_001)),
    sorted(random.Random(3).sample(range(1, 2_147_483_647), 50_000)),
    sorted(random.Random(4).sample(range(1, 200_000), 92_000)),
])
def test_packing_keeps_the_stored_format_of_before(ids):
    stored = reference_pack(ids)
    assert pack_ids(ids, ascending=True) == stored
    assert pack_ids(list(reversed(ids))) == stored
    assert pack_ids(array("i", ids), ascending=True) == stored
    assert unpack_ids(stored) == ids


# --- the database's list -------------------------------------------------------------------------------


def mixed_pool(pool, seed=11):
    """About 120 experts: one to three codes, four cities, six employers, some off, blacklisted or away.
    Returns what the test knows of each: (id, codes, region, employer, active, away)."""
    rng = random.Random(seed)
    employers = [PURCHASER, *BIDDERS, uscc(910), uscc(911)]
    known = []
    for _ in range(120):
        away = rng.choice([None, None, None, (EVALUATION_DAY, EVALUATION_DAY),
                           (date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 12, 2), date(2026, 12, 9))])
        codes = tuple(rng.sample([CODE, OTHER, THIRD], rng.randint(1, 3)))
        region, employer = rng.choice(["330100", "330102", "330200", "320100"]), rng.choice([None, *employers])
        available, blacklisted = rng.random() > 0.1, rng.random() < 0.05
        (expert_id,) = pool.add(1, codes=codes, region=region, employer=employer, available=available,
                                blacklisted=blacklisted, away=away)
        known.append((expert_id, codes, region, employer, available and not blacklisted, away))
    return known


def oracle(known, codes, prefix, employers, day, excluded):
    """The eligible ids and the count before the exclusions, worked out from what the test put in."""
    pool = [e for e in known if set(e[1]) & set(codes) and e[2].startswith(prefix) and e[4]]
    kept = [e[0] for e in pool if e[3] not in employers and not (e[5] and e[5][0] <= day <= e[5][1])
            and e[0] not in excluded]
    return sorted(kept), len(pool)


def recuse(platform, trade, *expert_ids):
    with platform.db.unit_of_work() as session:
        session.add_all(ExpertRecusal(instance_id=trade, expert_id=i, reason="test", declared_at=NOW,
                                      declared_by="test") for i in expert_ids)


@pytest.mark.postgres
def test_the_database_builds_counts_and_hashes_the_python_list(platform, pool, trade):
    known = mixed_pool(pool)
    recused = {known[3][0], known[17][0], known[40][0]}
    recuse(platform, trade, *recused)
    view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=2, exclusions=BIDDERS[:1])
    drawn = {m["expert_id"] for m in view["members"]}
    cases = [([CODE], None), ([CODE, OTHER], None), ([OTHER, THIRD, CODE], "330000"), ([THIRD], "330100"),
             ([CODE, OTHER], "320000"), (["Z999"], None)]
    compared = 0
    with platform.db.sessions() as session:
        for codes, region in cases:
            for employers in ([], [PURCHASER], [PURCHASER, *BIDDERS]):
                for day, drawn_for in ((EVALUATION_DAY, None), (EVALUATION_DAY, view["id"]), (date(2026, 11, 15), None)):
                    args = (session, codes, region, employers, day, trade, drawn_for)
                    python, database = expert_pool._eligible_py(*args), expert_pool._eligible_pg(*args)
                    assert list(database.ids) == python.ids and database.filtered == python.filtered, args[1:]
                    assert (python.ids, python.filtered) == oracle(
                        known, codes, region_prefix(region) if region else "", employers, day,
                        recused | drawn if drawn_for else recused)
                    assert database.ids_hash == candidates_hash(python.ids)
                    assert pack_ids(database.ids, ascending=True) == reference_pack(python.ids)
                    if len(python.ids) >= 5:
                        for seed in ("a1", "b2", "c3"):
                            assert draw_sorted(database.ids, 5, 2, seed, database.ids_hash) == \
                                   draw_ids(python.ids, 5, 2, seed, ascending=True)
                        compared += 1
    assert compared > 20


def test_a_mixed_pool_draws_only_the_eligible_and_replays(platform, pool, trade):
    known = mixed_pool(pool, seed=5)
    recused = {known[2][0], known[9][0], known[30][0]}
    recuse(platform, trade, *recused)
    conflicted = [PURCHASER, BIDDERS[0], BIDDERS[1]]
    view = experts.draw_committee(platform, STAFF, trade, [CODE, OTHER], reserves=3, region="330000",
                                  exclusions=BIDDERS[:2])
    expected, filtered = oracle(known, [CODE, OTHER], "33", conflicted, EVALUATION_DAY, recused)
    with platform.db.sessions() as session:
        (row,) = session.scalars(select(ExpertDraw).where(ExpertDraw.committee_id == view["id"]))
        event = session.scalar(select(Event).where(Event.instance_id == trade, Event.seq == row.event_seq))
    assert unpack_ids(row.candidates) == expected and row.candidate_count == len(expected)
    assert row.candidates_hash == candidates_hash(expected) == event.data["candidates_hash"]
    assert event.data["filtered_count"] == filtered > len(expected) + 10
    assert (row.members, row.reserves) == (event.data["members"], event.data["reserves"])
    assert draw_ids(expected, 5, 3, row.seed) == draw_sorted(unpack_ids(row.candidates), 5, 3, row.seed)
    assert list(draw_ids(expected, 5, 3, row.seed).members) == row.members
    assert experts.replay_draw(platform, SUPERVISOR, row.id) is True
    # A redraw (a seat left vacant, then drawn again) leaves out everyone drawn before, and replays too.
    with platform.db.unit_of_work() as session:
        seat = session.scalar(select(CommitteeMember).where(CommitteeMember.committee_id == view["id"],
                                                            CommitteeMember.status == "pending"))
        seat.status = "declined"
    experts.draw_committee(platform, STAFF, trade, [CODE, OTHER], exclusions=BIDDERS[:2])
    with platform.db.sessions() as session:
        second = session.scalars(select(ExpertDraw).where(ExpertDraw.committee_id == view["id"])
                                 .order_by(ExpertDraw.id.desc())).first()
    left = [i for i in expected if i not in row.members + row.reserves]
    assert second.reason == "redraw" and len(second.members) == 1 and second.members[0] in left
    assert unpack_ids(second.candidates) == left and second.candidates_hash == candidates_hash(left)
    assert experts.replay_draw(platform, SUPERVISOR, second.id) is True
