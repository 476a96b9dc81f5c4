"""Kept candidate pools: the pool less the exclusions is the database's list, and a kept pool is used only while
the database still reports the version it was read at."""
from __future__ import annotations

import random
import threading
from array import array

import pytest
from sqlalchemy import delete, select, text, update

from persistence.models_experts import ExpertPoolVersion, ExpertSpecialty, ExpertUnavailability
from services.trading import candidate_pools, expert_pool
from services.trading.candidate_pools import Pool, Pools
from tests.trading.experts.conftest import BIDDERS, CODE, EVALUATION_DAY, PURCHASER, STAFF
from trading.experts import candidates_hash

OTHER = "B010101"

# --- pure: no database ---------------------------------------------------------------------------------


def _int4(ids: list[int]) -> array[int]:
    return array(expert_pool._INT4, ids)


@pytest.mark.parametrize("seed", range(12))
def test_the_pool_less_the_excluded_is_the_filtered_list_and_its_hash(seed):
    rng = random.Random(seed)
    # Ids across several lengths (1 to 8 digits), so the text offsets cross length classes.
    span = rng.choice([50, 2_000, 150_000, 20_000_000])
    ids = sorted(rng.sample(range(1, span), min(span - 1, rng.randint(0, 3_000))))
    given_text = ",".join(map(str, ids)).encode() if seed % 2 else None
    pool = Pool(7, _int4(ids), given_text)
    choices = [[], ids[:1], ids[-1:], ids, ids[::2], ids[1::3], [0, 10**9],
               sorted(rng.sample(range(0, span + 10), min(span, 200)))]
    for excluded in choices:
        gone = set(excluded)
        expected = [i for i in ids if i not in gone]
        kept, digest = pool.without(excluded)
        assert list(kept) == expected
        assert digest == candidates_hash(expected)


@pytest.mark.parametrize("seed", range(12))
def test_a_patched_pool_is_the_pool_read_after_the_change(seed):
    rng = random.Random(seed)
    span = rng.choice([50, 2_000, 150_000, 20_000_000])
    ids = sorted(rng.sample(range(1, span), min(span - 1, rng.randint(0, 3_000))))
    pool = Pool(7, _int4(ids))
    outside = sorted(rng.sample(range(1, span + 10), min(span, rng.randint(0, 50))))
    for changed in ([], ids[:1], ids[-1:], ids[::7], sorted(set(outside) | set(ids[1::11])), [0, 10**9 + 1]):
        members = [i for i in changed if rng.random() < 0.5]
        patched = pool.patched(8, changed, members)
        expected = sorted((set(ids) - set(changed)) | set(members))
        assert patched.version == 8 and list(patched.ids) == expected
        assert patched.without([])[1] == candidates_hash(expected)
        gone = expected[::3]
        assert list(patched.without(gone)[0]) == [i for i in expected if i not in set(gone)]


def test_a_pool_refuses_a_text_that_does_not_match_its_ids():
    with pytest.raises(ValueError):
        Pool(1, _int4([1, 22, 333]), b"1,22,334,")
    with pytest.raises(ValueError):
        Pool(1, _int4([1, 22, 333]), b"1,22")


def test_kept_pools_stay_within_their_budget_least_recently_used_first():
    pools = Pools(max_ids=10)
    pools.keep("a", Pool(1, _int4(list(range(1, 5)))))
    pools.keep("b", Pool(1, _int4(list(range(1, 5)))))
    assert pools.get("a") is not None  # a is now the most recently used
    pools.keep("c", Pool(1, _int4(list(range(1, 5)))))
    assert pools.get("b") is None and pools.get("a") is not None and pools.get("c") is not None
    pools.keep("huge", Pool(1, _int4(list(range(1, 12)))))  # larger than the whole budget: not kept
    pools.keep("unversioned", Pool(None, _int4([1])))  # read without a version: not kept
    assert pools.get("huge") is None and pools.get("unversioned") is None
    assert pools.get("a") is not None and pools.get("c") is not None


# --- PostgreSQL: the version and the kept pools -------------------------------------------------------


def _eligible(platform, codes=(CODE,), region=None, employers=(), trade="none", drawn_for=None):
    with platform.db.unit_of_work() as session:
        args = (session, list(codes), region, list(employers), EVALUATION_DAY, trade, drawn_for)
        found, python = expert_pool._eligible_pg(*args), expert_pool._eligible_py(*args)
        assert (list(found.ids), found.filtered) == (python.ids, python.filtered)
        assert found.ids_hash == candidates_hash(python.ids)
        return list(found.ids)


def _counts(platform):
    """How many draws read their pool whole, and how many brought a kept one up to date."""
    pools = candidate_pools.pools_for(platform.db.engine)
    return pools.misses, pools.patches


def _version(platform):
    with platform.db.sessions() as session:
        return session.scalar(select(ExpertPoolVersion.counter).where(ExpertPoolVersion.id == 1))


@pytest.mark.postgres
def test_a_kept_pool_serves_until_the_experts_change_then_takes_in_only_the_change(platform, pool):
    ids = pool.add(30)
    pool.add(3, away=(EVALUATION_DAY, EVALUATION_DAY))  # away on the day: excluded from every draw below
    pool.add(5, codes=(OTHER,))
    employed = pool.add(2, employer=BIDDERS[0])
    reads, patches = _counts(platform)
    first = _eligible(platform, employers=[BIDDERS[0]])
    assert first == ids and _counts(platform) == (reads + 1, patches)
    # The same pool again, with other exclusions: no read, and what it yields is still the database's list.
    assert _eligible(platform) == sorted(ids + employed)
    assert _eligible(platform, employers=[BIDDERS[0], PURCHASER]) == ids
    assert _counts(platform) == (reads + 1, patches)
    # Every way the pool can change: the next draw takes in only the experts that changed (never a read of the
    # whole pool), sees the change, and still gives the database's list (_eligible compares).
    expert_pool.set_blacklist(platform, STAFF, ids[0], True, "测试")
    assert ids[0] not in _eligible(platform) and _counts(platform) == (reads + 1, patches + 1)
    expert_pool.set_availability(platform, STAFF, ids[1], False, None)
    assert ids[1] not in _eligible(platform) and _counts(platform) == (reads + 1, patches + 2)
    expert_pool.set_availability(platform, STAFF, ids[1], True, None)
    assert ids[1] in _eligible(platform)
    (added,) = pool.add(1)
    assert added in _eligible(platform)
    with platform.db.unit_of_work() as session:
        session.execute(delete(ExpertSpecialty).where(ExpertSpecialty.expert_id == ids[2]))
    assert ids[2] not in _eligible(platform)
    with platform.db.unit_of_work() as session:
        session.execute(update(ExpertSpecialty).where(ExpertSpecialty.expert_id == ids[3]).values(region="320100"))
    assert ids[3] in _eligible(platform) and ids[3] not in _eligible(platform, region="330000")
    # Two changes since the kept pool, in two transactions: one catch-up for both.
    reads, patches = _counts(platform)
    expert_pool.set_blacklist(platform, STAFF, ids[5], True, "测试")
    (later,) = pool.add(1)
    found = _eligible(platform)
    assert ids[5] not in found and later in found and _counts(platform) == (reads, patches + 1)
    # A statement that changes no row changes no pool.
    version = _version(platform)
    with platform.db.unit_of_work() as session:
        session.execute(update(ExpertSpecialty).where(ExpertSpecialty.expert_id == -1).values(active=False))
    assert _version(platform) == version
    # An unavailable period is an exclusion, read with every draw: the pool stays, and the period counts.
    reads, patches = _counts(platform)
    with platform.db.unit_of_work() as session:
        session.add(ExpertUnavailability(expert_id=ids[4], starts_on=EVALUATION_DAY, ends_on=EVALUATION_DAY))
    assert ids[4] not in _eligible(platform) and _counts(platform) == (reads, patches)
    # A TRUNCATE logs no experts: every kept pool is read again whole.
    with platform.db.unit_of_work() as session:
        session.execute(text("TRUNCATE expert_specialties"))
    assert _eligible(platform) == [] and _counts(platform) == (reads + 1, patches)


@pytest.mark.postgres
def test_a_pool_older_than_the_log_or_behind_too_many_changes_is_read_whole(platform, pool, monkeypatch):
    ids = pool.add(12)
    _eligible(platform)
    reads, patches = _counts(platform)
    # The log was cut past the kept pool's version (as the trigger does, 10,000 changes back).
    expert_pool.set_blacklist(platform, STAFF, ids[0], True, "测试")
    with platform.db.unit_of_work() as session:
        session.execute(text("UPDATE expert_pool_version SET log_from = counter + 1 WHERE id = 1"))
    assert _eligible(platform) == ids[1:] and _counts(platform) == (reads + 1, patches)
    # More changes than a catch-up takes (PATCH_MOST experts logged since).
    monkeypatch.setattr(expert_pool, "PATCH_MOST", 2)
    for expert_id in ids[1:4]:
        expert_pool.set_blacklist(platform, STAFF, expert_id, True, "测试")
    assert _eligible(platform) == ids[4:] and _counts(platform) == (reads + 2, patches)
    expert_pool.set_blacklist(platform, STAFF, ids[4], True, "测试")
    assert _eligible(platform) == ids[5:] and _counts(platform) == (reads + 2, patches + 1)


@pytest.mark.postgres
def test_the_trigger_cuts_the_log_behind_it(platform, pool):
    ids = pool.add(2)
    with platform.db.unit_of_work() as session:
        # Just before a cut: the next change is number 11,000, which cuts what is 10,000 changes older.
        session.execute(text("UPDATE expert_pool_version SET counter = 10999 WHERE id = 1"))
        session.execute(text("INSERT INTO expert_pool_changes (counter, expert_id) VALUES (1000, 1), (1001, 1)"))
    expert_pool.set_blacklist(platform, STAFF, ids[0], True, "测试")
    with platform.db.sessions() as session:
        assert session.execute(text("SELECT counter, log_from FROM expert_pool_version")).one() == (11000, 1001)
        assert session.scalars(text("SELECT counter FROM expert_pool_changes ORDER BY counter")).all() == [
            1001, 11000]


@pytest.mark.postgres
def test_a_pool_its_own_transaction_changed_is_not_kept(platform, pool):
    ids = pool.add(4)
    _eligible(platform)
    version = _version(platform)
    with platform.db.unit_of_work() as session:
        session.execute(update(ExpertSpecialty).where(ExpertSpecialty.expert_id == ids[0]).values(active=False))
        args = (session, [CODE], None, [], EVALUATION_DAY, "none", None)
        assert list(expert_pool._eligible_pg(*args).ids) == ids[1:]
        # A second change in the same transaction: the version stays this transaction's, so a pool kept from
        # the first would now be wrong; none was kept, and the pool kept before is brought up to date again.
        session.execute(update(ExpertSpecialty).where(ExpertSpecialty.expert_id == ids[1]).values(active=False))
        assert list(expert_pool._eligible_pg(*args).ids) == ids[2:]
        session.rollback()
    # Rolled back: the version is the one of before, and so is the pool kept then.
    reads, patches = _counts(platform)
    assert _version(platform) == version
    assert _eligible(platform) == ids and _counts(platform) == (reads, patches)


@pytest.mark.postgres
def test_a_draw_beside_an_uncommitted_change_keeps_the_pool_it_saw(platform, pool):
    ids = pool.add(6)
    changed, go_on = threading.Event(), threading.Event()

    def change() -> None:
        with platform.db.unit_of_work() as session:
            session.execute(update(ExpertSpecialty).where(ExpertSpecialty.expert_id == ids[0])
                            .values(active=False))
            changed.set()
            go_on.wait(10)

    writer = threading.Thread(target=change)
    writer.start()
    assert changed.wait(10)
    before = _version(platform)
    assert _eligible(platform) == ids  # the change is not committed: the pool of before, kept at its version
    go_on.set()
    writer.join(10)
    assert _version(platform) == before + 1
    reads, patches = _counts(platform)
    assert _eligible(platform) == ids[1:] and _counts(platform) == (reads, patches + 1)


@pytest.mark.postgres
def test_the_version_is_written_once_per_transaction(platform, pool):
    ids = pool.add(3)
    updates = text("SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'expert_pool_version'")
    version = _version(platform)
    with platform.db.unit_of_work() as session:
        before = session.scalar(updates)
        for expert_id in ids:
            session.execute(update(ExpertSpecialty).where(ExpertSpecialty.expert_id == expert_id)
                            .values(active=False))
        mine = session.scalar(text("SELECT txid_current()"))
        assert session.scalar(text("SELECT xact_id FROM expert_pool_version WHERE id = 1")) == mine
        # Three statements changed the pool; the version row was rewritten once, and counts one change.
        assert session.scalar(updates) == before + 1
        logged = session.execute(text("SELECT counter, expert_id FROM expert_pool_changes WHERE counter > :v "
                                      "ORDER BY expert_id"), {"v": version}).all()
        assert logged == [(version + 1, expert_id) for expert_id in sorted(ids)]
    assert _version(platform) == version + 1
