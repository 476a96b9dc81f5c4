"""Drawn experts confirm, decline (a reserve or a fresh draw takes the seat) or recuse themselves."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.access import Actor
from domain.errors import Conflict, Forbidden
from persistence.models import Event
from persistence.models_experts import ExpertDraw, ExpertRecusal
from services.trading import experts
from tests.trading.experts.conftest import CODE, STAFF, expert_actor, set_variables


@pytest.fixture
def drawn(platform, pool, trade):
    """A committee of 5 with 2 reserves from a pool of 10 experts, each linked to user e<id>."""
    ids = pool.add(10)
    for expert_id in ids:
        pool.link(expert_id, f"e{expert_id}")
    view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=2)
    return trade, view


def member(view, status, index=0):
    return [m for m in view["members"] if m["status"] == status][index]


def as_expert(m):
    return expert_actor(f"e{m['expert_id']}")


def events(platform, trade, type_):
    with platform.db.sessions() as session:
        return list(session.scalars(select(Event).where(Event.instance_id == trade, Event.type == type_)))


def test_confirm_is_the_experts_own_answer(platform, drawn):
    trade, view = drawn
    seat = member(view, "pending")
    other = member(view, "pending", 1)
    with pytest.raises(Forbidden):
        experts.confirm(platform, as_expert(other), trade, seat["id"])
    with pytest.raises(Forbidden):
        experts.confirm(platform, Actor(f"e{seat['expert_id']}", frozenset({"bidder"})), trade, seat["id"])
    after = experts.confirm(platform, as_expert(seat), trade, seat["id"])
    assert after["confirmed"] == 1 and after["pending"] == 4
    assert experts.confirm(platform, as_expert(seat), trade, seat["id"])["confirmed"] == 1  # twice is fine
    assert len(events(platform, trade, "experts.confirmed")) == 1


def test_a_decline_hands_the_seat_to_the_first_reserve(platform, drawn):
    trade, view = drawn
    seat, first_reserve = member(view, "pending", 2), member(view, "reserve", 0)
    after = experts.decline(platform, as_expert(seat), trade, seat["id"], "出差")
    staff_view = experts.get_committee(platform, STAFF, trade)
    by_id = {m["id"]: m for m in staff_view["members"]}
    assert by_id[seat["id"]]["status"] == "declined"
    assert by_id[first_reserve["id"]]["status"] == "pending" and by_id[first_reserve["id"]]["position"] == 6
    assert after["pending"] == 5 and after["vacant"] == 0
    assert [m["status"] for m in staff_view["members"]].count("reserve") == 1
    (replaced,) = events(platform, trade, "experts.replaced")
    assert replaced.data == {"vacated": seat["id"], "member_id": first_reserve["id"], "source": "reserve"}
    with pytest.raises(Conflict):
        experts.confirm(platform, as_expert(seat), trade, seat["id"])


def test_with_the_reserves_gone_a_decline_triggers_a_fresh_recorded_draw(platform, drawn):
    trade, view = drawn
    for index in range(3):  # two reserves used, the third decline needs a fresh draw
        current = experts.get_committee(platform, STAFF, trade)
        seat = member(current, "pending", index)
        experts.decline(platform, as_expert(seat), trade, seat["id"])
    final = experts.get_committee(platform, STAFF, trade)
    assert final["pending"] == 5 and final["vacant"] == 0
    draws = final["draws"]
    assert [d["reason"] for d in draws] == ["initial", "redraw"]
    assert draws[0]["seed"] != draws[1]["seed"]
    # 10 experts, 7 drawn first: the fresh draw ran on the 3 never drawn
    assert draws[1]["candidate_count"] == 3
    with platform.db.sessions() as session:
        redraw = session.get(ExpertDraw, draws[1]["id"])
        declined = {m["expert_id"] for m in final["members"] if m["status"] == "declined"}
        assert not declined & set(experts.unpack_ids(redraw.candidates))
    assert experts.replay_draw(platform, STAFF, draws[1]["id"]) is True
    assert len(events(platform, trade, "experts.drawn")) == 2


def test_a_seat_stays_vacant_when_the_pool_runs_dry_and_staff_redraw_it_later(platform, pool, trade):
    ids = pool.add(5)
    for expert_id in ids:
        pool.link(expert_id, f"e{expert_id}")
    view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=0)
    seat = member(view, "pending")
    after = experts.decline(platform, as_expert(seat), trade, seat["id"])
    assert after["vacant"] == 1
    assert events(platform, trade, "experts.redraw_failed")
    pool.add(1)
    refilled = experts.draw_committee(platform, STAFF, trade, [CODE])
    assert refilled["vacant"] == 0 and [d["reason"] for d in refilled["draws"]] == ["initial", "redraw"]


def test_recusal_is_recorded_and_excludes_the_expert_from_the_trade(platform, drawn):
    trade, view = drawn
    seat = member(view, "pending", 1)
    reserve = member(view, "reserve", 1)
    experts.recuse(platform, as_expert(seat), trade, seat["id"], "曾在投标人处任职")
    experts.recuse(platform, as_expert(reserve), trade, reserve["id"], "亲属关系")
    with platform.db.sessions() as session:
        recused = set(session.scalars(select(ExpertRecusal.expert_id).where(ExpertRecusal.instance_id == trade)))
    assert recused == {seat["expert_id"], reserve["expert_id"]}
    current = experts.get_committee(platform, STAFF, trade)
    assert current["pending"] == 5
    assert {m["status"] for m in current["members"] if m["id"] in (seat["id"], reserve["id"])} == {"recused"}
    # Decline everyone else in turn: no later draw ever picks a recused expert
    for _ in range(4):
        current = experts.get_committee(platform, STAFF, trade)
        pending = [m for m in current["members"] if m["status"] == "pending"]
        target = pending[0]
        experts.decline(platform, as_expert(target), trade, target["id"])
    final = experts.get_committee(platform, STAFF, trade)
    seated = {m["expert_id"] for m in final["members"] if m["status"] == "pending"}
    assert not seated & recused


def test_others_see_masked_names_until_the_result_is_published(platform, drawn):
    trade, view = drawn
    bidder = Actor("bidder1", frozenset({"bidder"}), None, "91330100MA0000000X")
    masked = experts.get_committee(platform, bidder, trade)
    assert [m["name"] for m in masked["members"]] == ["专家1", "专家2", "专家3", "专家4", "专家5"]
    assert all("expert_id" not in m for m in masked["members"]) and "draws" not in masked
    assert masked["pending"] == 5
    mine = experts.get_committee(platform, as_expert(member(view, "pending", 3)), trade)
    assert [m["me"] for m in mine["members"]] == [False, False, False, True, False]
    assert mine["members"][3]["name"].startswith("专家姓名")
    set_variables(platform, trade, result_published=True)
    named = experts.get_committee(platform, bidder, trade)
    assert all(m["name"].startswith("专家姓名") for m in named["members"])
    with pytest.raises(Forbidden):
        experts.get_committee(platform, Actor("p", frozenset({"purchaser"}), "320000"), trade)
    with pytest.raises(Forbidden):
        experts.get_committee(platform, expert_actor("stranger"), trade)


def test_a_later_draw_excludes_bidders_known_since_the_first(platform, pool, trade, monkeypatch):
    from services.trading import bids
    from tests.trading.experts.conftest import BIDDERS

    ids = pool.add(5)
    for expert_id in ids:
        pool.link(expert_id, f"e{expert_id}")
    view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=0)
    # the bids are decrypted after the draw: BIDDERS[1] is now a known bidder
    monkeypatch.setattr(bids, "valid_bidders", lambda session, instance_id, lot="1": [BIDDERS[1]])
    conflicted = pool.add(1, employer=BIDDERS[1])[0]
    clean = pool.add(1)[0]
    seat = member(view, "pending")
    after = experts.decline(platform, as_expert(seat), trade, seat["id"])
    seated = {m["expert_id"] for m in experts.get_committee(platform, STAFF, trade)["members"]
              if m["status"] == "pending"}
    assert after["vacant"] == 0 and clean in seated and conflicted not in seated
