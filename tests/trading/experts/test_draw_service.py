"""Drawing a committee: exclusions, determinism and replay, the size rules, and not enough candidates."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid, StatuteViolation
from persistence.models import Event
from persistence.models_experts import CommitteeMember, ExpertDraw
from services.trading import experts
from tests.trading.experts.conftest import BIDDERS, CODE, EVALUATION_DAY, PURCHASER, STAFF, SUPERVISOR
from trading.experts import Candidate, draw, unpack_ids


def seats(platform, committee_id, *statuses):
    with platform.db.sessions() as session:
        query = select(CommitteeMember).where(CommitteeMember.committee_id == committee_id)
        if statuses:
            query = query.where(CommitteeMember.status.in_(statuses))
        return list(session.scalars(query.order_by(CommitteeMember.status, CommitteeMember.position)))


def draws(platform, committee_id):
    with platform.db.sessions() as session:
        return list(session.scalars(select(ExpertDraw).where(ExpertDraw.committee_id == committee_id)
                                    .order_by(ExpertDraw.id)))


def test_a_draw_seats_the_committee_and_its_reserves(platform, pool, trade):
    pool.add(20)
    view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=2)
    assert (view["size"], view["experts_needed"], view["pending"], view["vacant"]) == (5, 5, 5, 0)
    assert [m["status"] for m in view["members"]] == ["pending"] * 5 + ["reserve"] * 2
    assert all(m["name"].startswith("专家姓名") for m in view["members"])  # staff see names
    (row,) = draws(platform, view["id"])
    assert row.members == [m["expert_id"] for m in view["members"][:5]]
    assert row.reserves == [m["expert_id"] for m in view["members"][5:]]
    assert len(row.seed) == 32 and row.candidate_count == 20


def test_the_seed_and_candidate_hash_are_in_the_audit_chain_and_replay(platform, pool, trade):
    pool.add(30)
    view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=3)
    (row,) = draws(platform, view["id"])
    with platform.db.sessions() as session:
        event = session.scalar(select(Event).where(Event.instance_id == trade, Event.type == "experts.drawn"))
    assert event.data["seed"] == row.seed and event.data["candidates_hash"] == row.candidates_hash
    # Replay by hand from what was recorded:
    again = draw([Candidate(i) for i in unpack_ids(row.candidates)], 5, 3, event.data["seed"])
    assert list(again.members) == event.data["members"] and list(again.reserves) == event.data["reserves"]
    assert experts.replay_draw(platform, SUPERVISOR, row.id) is True
    assert experts.replay_draw(platform, STAFF, row.id) is True
    with pytest.raises(Forbidden):
        experts.replay_draw(platform, Actor("b", frozenset({"bidder"})), row.id)


def test_replay_catches_a_tampered_draw(platform, pool, trade):
    pool.add(12)
    view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=0)
    (row,) = draws(platform, view["id"])
    with platform.db.unit_of_work() as session:
        stored = session.get(ExpertDraw, row.id)
        stored.members = [*stored.members[1:], stored.members[0]]  # the same people, another order
    assert experts.replay_draw(platform, SUPERVISOR, row.id) is False
    with platform.db.unit_of_work() as session:
        stored = session.get(ExpertDraw, row.id)
        stored.members = row.members
        stored.candidates = experts.pack_ids(unpack_ids(row.candidates)[:-1])  # one candidate left out
    assert experts.replay_draw(platform, SUPERVISOR, row.id) is False


def test_employees_of_bidders_and_of_the_purchaser_are_never_drawn(platform, pool, start_trade):
    conflicted = pool.add(3, employer=BIDDERS[0]) + pool.add(2, employer=PURCHASER) + pool.add(1, employer=BIDDERS[2])
    clean = pool.add(5)
    for _ in range(3):  # each draw has a fresh seed: the conflicted are never drawn
        trade = start_trade()
        view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=0, exclusions=BIDDERS[:1] + BIDDERS[2:])
        assert sorted(m["expert_id"] for m in view["members"]) == sorted(clean)
        assert not set(conflicted) & {m["expert_id"] for m in view["members"]}
    # 11 experts would fill 9 seats; after the exclusions only the 5 clean ones are left
    trade = start_trade()
    with pytest.raises(Invalid, match="仅有 5 名"):
        experts.draw_committee(platform, STAFF, trade, [CODE], size=9, reserves=0, exclusions=BIDDERS)


def test_blacklisted_unavailable_and_elsewhere_are_never_drawn(platform, pool, trade):
    pool.add(2, blacklisted=True)
    pool.add(2, available=False)
    pool.add(2, away=(EVALUATION_DAY, EVALUATION_DAY))
    pool.add(2, region="320100")
    pool.add(2, codes=("B010101",))
    clean = pool.add(1, away=(EVALUATION_DAY.replace(day=4), EVALUATION_DAY.replace(day=9)))
    clean += pool.add(3, region="330102") + pool.add(1, codes=("B010101", CODE))
    view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=5)
    assert sorted(m["expert_id"] for m in view["members"]) == sorted(clean)


def test_a_province_wide_draw_reaches_its_cities(platform, pool, trade):
    pool.add(3, region="330100")
    pool.add(2, region="330200")
    pool.add(4, region="320100")
    view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=0, region="330000")
    assert view["pending"] == 5
    with pytest.raises(Invalid, match="仅有 3 名"):
        experts.draw_committee(platform, STAFF, trade, [CODE], lot="2", region="330100")


def test_not_enough_candidates_is_a_clear_refusal(platform, pool, trade):
    pool.add(4)
    with pytest.raises(Invalid) as caught:
        experts.draw_committee(platform, STAFF, trade, [CODE])
    assert "符合条件的专家不足" in caught.value.message and "需要 5 名" in caught.value.message
    with pytest.raises(Invalid, match="不足"):
        experts.draw_committee(platform, STAFF, trade, ["Z999"])


def test_committee_size_rules_apply_to_the_draw(platform, pool, start_trade):
    pool.add(12)
    with pytest.raises(StatuteViolation) as caught:
        experts.draw_committee(platform, STAFF, start_trade(), [CODE], size=6)
    assert (caught.value.rule, caught.value.citation) == ("cons.committee", "TBL 37")
    with pytest.raises(StatuteViolation):
        experts.draw_committee(platform, STAFF, start_trade(), [CODE], size=5, owner_reps=2)
    view = experts.draw_committee(platform, STAFF, start_trade(), [CODE], size=7, owner_reps=2, reserves=0)
    assert (view["size"], view["owner_reps"], view["experts_needed"], view["pending"]) == (7, 2, 5, 5)


def test_gp_committee_of_seven_for_a_budget_of_ten_million(platform, pool, start_trade):
    pool.add(12)
    view = experts.draw_committee(platform, STAFF, start_trade(budget="10000000"), [CODE], rule="gp.committee",
                                  reserves=0)
    assert (view["size"], view["experts_needed"]) == (7, 7)
    small = experts.draw_committee(platform, STAFF, start_trade(budget=9_999_999), [CODE], rule="gp.committee",
                                   reserves=0)
    assert small["size"] == 5
    with pytest.raises(StatuteViolation) as caught:
        experts.draw_committee(platform, STAFF, start_trade(), [CODE], rule="gp.committee", budget=20_000_000, size=5)
    assert caught.value.rule == "gp.committee"


def test_only_staff_draw_and_only_in_their_region(platform, pool, trade):
    pool.add(6)
    for actor in (SUPERVISOR, Actor("x", frozenset({"staff"}), "320000")):
        with pytest.raises(Forbidden):
            experts.draw_committee(platform, actor, trade, [CODE])


def test_a_second_draw_without_vacancies_conflicts(platform, pool, trade):
    pool.add(8)
    experts.draw_committee(platform, STAFF, trade, [CODE], reserves=0)
    with pytest.raises(Conflict, match="没有空缺"):
        experts.draw_committee(platform, STAFF, trade, [CODE], reserves=0)
    assert len(seats(platform, experts.get_committee(platform, STAFF, trade)["id"])) == 5


def test_bidders_known_to_the_bids_service_are_excluded_too(platform, pool, trade, monkeypatch):
    from services.trading import bids

    asked = []

    def valid_bidders(session, instance_id, lot="1"):
        asked.append((instance_id, lot))
        return [BIDDERS[1].lower()]

    monkeypatch.setattr(bids, "valid_bidders", valid_bidders)
    conflicted = pool.add(3, employer=BIDDERS[1])
    clean = pool.add(5)
    view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=0)
    assert asked == [(trade, "1")]
    assert sorted(m["expert_id"] for m in view["members"]) == sorted(clean)
    assert not set(conflicted) & {m["expert_id"] for m in view["members"]}
