"""The pure draw and committee-size rules: no database."""
from __future__ import annotations

import hashlib
import random
from decimal import Decimal

import pytest

from domain.errors import Invalid, StatuteViolation
from domain.statutes import get_rule
from trading.experts import Candidate, candidates_hash, committee_size, draw, eligible, pack_ids, unpack_ids

POOL = [Candidate(i, f"EMP{i % 4}") for i in range(1, 41)]


def test_the_draw_is_the_documented_algorithm():
    result = draw(POOL, 5, 2, "feedface")
    # Anyone can replay it with nothing but the standard library:
    expected = random.Random("feedface").sample(list(range(1, 41)), 7)
    assert list(result.members) == expected[:5]
    assert list(result.reserves) == expected[5:]
    assert result.candidates_hash == hashlib.sha256(",".join(map(str, range(1, 41))).encode()).hexdigest()
    assert result.candidate_count == 40 and result.seed == "feedface"


def test_the_draw_ignores_the_order_the_candidates_came_in():
    shuffled = list(POOL)
    random.Random(1).shuffle(shuffled)
    assert draw(shuffled, 5, 2, "seed-1") == draw(POOL, 5, 2, "seed-1")
    assert candidates_hash(c.id for c in shuffled) == draw(POOL, 5, 2, "x").candidates_hash


def test_another_seed_gives_another_committee():
    committees = {draw(POOL, 5, 0, f"seed-{n}").members for n in range(20)}
    assert len(committees) > 15
    for members in committees:
        assert len(set(members)) == 5


def test_too_few_candidates_is_refused_with_the_numbers():
    with pytest.raises(Invalid) as caught:
        draw(POOL[:3], 5, 2, "s")
    assert "需要 5 名" in caught.value.message and "仅有 3 名" in caught.value.message
    assert caught.value.errors == {"needed": 5, "available": 3}


def test_reserves_are_best_effort():
    result = draw(POOL[:6], 5, 3, "s")
    assert len(result.members) == 5 and len(result.reserves) == 1
    assert set(result.members) | set(result.reserves) == {1, 2, 3, 4, 5, 6}


def test_eligible_drops_conflicting_employers_and_excluded_ids():
    pool = [Candidate(1, "91330100MA0000000X"), Candidate(2, None), Candidate(3, "OTHER"), Candidate(4, "other")]
    kept = eligible(pool, ["91330100ma0000000x", "OTHER"], {2})
    assert kept == []
    assert eligible(reversed(pool), [], set()) == pool


def test_packed_candidate_lists_round_trip_and_stay_small():
    ids = sorted(random.Random(7).sample(range(1, 200_000), 100_000))
    packed = pack_ids(ids)
    assert unpack_ids(packed) == ids
    assert len(packed) < 200_000
    assert unpack_ids(pack_ids([])) == []


# --- committee size ------------------------------------------------------------------------------------


def test_default_size_is_the_rules_minimum():
    committee = committee_size("cons.committee", None, None)
    assert (committee.size, committee.experts, committee.owner_reps) == (get_rule("cons.committee").n, 5, 0)


@pytest.mark.parametrize("size", [4, 6, 8])
def test_an_even_committee_is_a_statute_violation(size):
    with pytest.raises(StatuteViolation) as caught:
        committee_size("cons.committee", None, size)
    assert caught.value.rule == "cons.committee"
    assert caught.value.citation == get_rule("cons.committee").citation == "TBL 37"
    assert "TBL 37" in caught.value.message


def test_fewer_than_five_is_a_statute_violation():
    with pytest.raises(StatuteViolation) as caught:
        committee_size("cons.committee", None, 3)
    assert caught.value.rule == "cons.committee" and "5人以上单数" in caught.value.message


@pytest.mark.parametrize(("size", "reps", "experts"), [(5, 0, 5), (5, 1, 4), (7, 2, 5), (9, 3, 6), (11, 3, 8)])
def test_experts_are_at_least_two_thirds(size, reps, experts):
    assert committee_size("cons.committee", None, size, reps).experts == experts


@pytest.mark.parametrize(("size", "reps"), [(5, 2), (7, 3), (9, 4)])
def test_too_many_owner_representatives_is_a_statute_violation(size, reps):
    with pytest.raises(StatuteViolation) as caught:
        committee_size("cons.committee", None, size, reps)
    assert caught.value.rule == "cons.committee" and "三分之二" in caught.value.message
    assert f"最多 {size // 3} 人" in caught.value.message


def test_gp_committee_is_seven_from_ten_million():
    rule = get_rule("gp.committee")
    assert committee_size(rule, Decimal("9999999.99"), None).size == 5
    assert committee_size(rule, 10_000_000, None).size == 7
    assert committee_size(rule, "12000000", 9).size == 9
    with pytest.raises(StatuteViolation) as caught:
        committee_size(rule, 10_000_000, 5)
    assert caught.value.rule == "gp.committee" and caught.value.citation == "87号令 47"
    assert "7人以上单数" in caught.value.message


def test_the_large_budget_figures_come_from_the_rule_params():
    params = get_rule("gp.committee").params
    assert committee_size("gp.committee", params["large_budget_yuan"], None).size == params["n_large_budget"]
    # cons.committee has no budget parameters: the budget changes nothing.
    assert committee_size("cons.committee", 10**9, None).size == 5


def test_nonsense_sizes_are_invalid():
    with pytest.raises(Invalid):
        committee_size("cons.committee", None, 5, -1)
    with pytest.raises(Invalid):
        committee_size("gp.committee", "lots", None)
    with pytest.raises(Invalid, match="未知"):
        committee_size("cons.no_such_rule", None, None)
    with pytest.raises(Invalid, match="不是人数规则"):
        committee_size("cons.bond_cap", None, None)
