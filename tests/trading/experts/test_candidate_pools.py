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


def _reads(platform):
    return candidate_pools.pools_for(platform.db.engine).misses


def _version(platform):
    with platform.db.sessions() as session:
        return session.scalar(select(ExpertPoolVersion.xact_id).where(ExpertPoolVersion.id == 1))


@pytest.mark.postgres
def test_a_kept_pool_serves_until_the_experts_change(platform, pool):
    ids = pool.add(30)
    pool.add(3, away=(EVALUATION_DAY, EVALUATION_DAY))  # away on the day: excluded from every draw below
    pool.add(5, codes=(OTHER,))
    employed = pool.add(2, employer=BIDDERS[0])
    reads = _reads(platform)
    first = _eligible(platform, employers=[BIDDERS[0]])
    assert first == ids and _reads(platform) == reads + 1
    # The same pool again, with other exclusions: no read, and what it yields is still the database's list.
    assert _eligible(platform) == sorted(ids + employed)
    assert _eligible(platform, employers=[BIDDERS[0], PURCHASER]) == ids
    assert _reads(platform) == reads + 1
    # Every way the pool can change makes the next draw read it again, and see the change.
    expert_pool.set_blacklist(platform, STAFF, ids[0], True, "测试")
    assert ids[0] not in _eligible(platform) and _reads(platform) == reads + 2
    expert_pool.set_availability(platform, STAFF, ids[1], False, None)
    assert ids[1] not in _eligible(platform) and _reads(platform) == reads + 3
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
    # An unavailable period is an exclusion, read with every draw: the pool stays, and the period counts.
    reads = _reads(platform)
    with platform.db.unit_of_work() as session:
        session.add(ExpertUnavailability(expert_id=ids[4], starts_on=EVALUATION_DAY, ends_on=EVALUATION_DAY))
    assert ids[4] not in _eligible(platform) and _reads(platform) == reads
    with platform.db.unit_of_work() as session:
        session.execute(text("TRUNCATE expert_specialties"))
    assert _eligible(platform) == [] and _reads(platform) == reads + 1


@pytest.mark.postgres
def test_a_pool_its_own_transaction_changed_is_read_and_not_kept(platform, pool):
    ids = pool.add(4)
    _eligible(platform)
    reads = _reads(platform)
    with platform.db.unit_of_work() as session:
        session.execute(update(ExpertSpecialty).where(ExpertSpecialty.expert_id == ids[0]).values(active=False))
        args = (session, [CODE], None, [], EVALUATION_DAY, "none", None)
        assert list(expert_pool._eligible_pg(*args).ids) == ids[1:]
        # A second change in the same transaction: the version stays this transaction's, so a pool kept from
        # the first would now be wrong; none was kept.
        session.execute(update(ExpertSpecialty).where(ExpertSpecialty.expert_id == ids[1]).values(active=False))
        assert list(expert_pool._eligible_pg(*args).ids) == ids[2:]
        assert _reads(platform) == reads + 2
        session.rollback()
    # Rolled back: the version is the one of before, and so is the pool kept then.
    assert _eligible(platform) == ids and _reads(platform) == reads + 2


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
    assert _version(platform) != before
    reads = _reads(platform)
    assert _eligible(platform) == ids[1:] and _reads(platform) == reads + 1


@pytest.mark.postgres
def test_the_version_is_written_once_per_transaction(platform, pool):
    ids = pool.add(3)
    updates = text("SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'expert_pool_version'")
    with platform.db.unit_of_work() as session:
        before = session.scalar(updates)
        for expert_id in ids:
            session.execute(update(ExpertSpecialty).where(ExpertSpecialty.expert_id == expert_id)
                            .values(active=False))
        mine = session.scalar(text("SELECT txid_current()"))
        assert session.scalar(text("SELECT xact_id FROM expert_pool_version WHERE id = 1")) == mine
        # Three statements changed the pool; the version row was rewritten once.
        assert session.scalar(updates) == before + 1
    assert _version(platform) == mine
