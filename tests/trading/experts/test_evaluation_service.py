"""Evaluation through the services: open, each expert's marks in the table, close with the ranking."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models import Event
from persistence.models_experts import EvaluationScore
from services.trading import evaluation, experts
from tests.trading.experts.conftest import BIDDERS, CODE, STAFF, SUPERVISOR, expert_actor, set_variables

A, B, C = BIDDERS
CRITERIA = [{"key": "tech", "name": "技术", "kind": "technical", "max": 60},
            {"key": "biz", "name": "商务", "kind": "commercial", "max": "10"},
            {"key": "price", "name": "价格", "kind": "price", "max": 30}]
OFFERS = [{"uscc": A, "price": "1000000"}, {"uscc": B, "price": 950000}, {"uscc": C, "price": "1100000.00"}]
# Five experts; the technical marks of experts 4 and 5 repeat expert 2's so the averages stay easy.
TECH = {A: ("50", "52", "54", "52", "52"), B: ("45", "46", "47.5", "46", "46"), C: ("55", "56", "57", "56", "56")}
BIZ = {A: ("8", "8", "9", "8", "9"), B: ("7", "8", "8", "8", "8"), C: ("9", "9", "9", "9", "9")}


@pytest.fixture
def seated(platform, pool, trade):
    """A trade whose committee of five has confirmed; returns (trade, [expert actors])."""
    ids = pool.add(5)
    for expert_id in ids:
        pool.link(expert_id, f"e{expert_id}")
    view = experts.draw_committee(platform, STAFF, trade, [CODE], reserves=0)
    actors = []
    for m in view["members"]:
        actor = expert_actor(f"e{m['expert_id']}")
        experts.confirm(platform, actor, trade, m["id"])
        actors.append(actor)
    return trade, actors


def mark_all(platform, trade, actors):
    for i, actor in enumerate(actors):
        scores = [{"bidder": b, "criterion": "tech", "score": TECH[b][i]} for b in BIDDERS]
        scores += [{"bidder": b, "criterion": "biz", "score": BIZ[b][i]} for b in BIDDERS]
        evaluation.submit_scores(platform, actor, trade, scores=scores)


def test_composite_evaluation_end_to_end(platform, seated):
    trade, actors = seated
    opened = evaluation.open_evaluation(platform, STAFF, trade, "composite", CRITERIA, OFFERS)
    assert opened["status"] == "open" and [b["price"] for b in opened["bidders"]] == ["1000000.00", "950000.00", "1100000.00"]
    mark_all(platform, trade, actors)
    with platform.db.sessions() as session:
        assert session.query(EvaluationScore).count() == 5 * 3 * 2
    closed = evaluation.close_evaluation(platform, STAFF, trade)
    result = closed["result"]
    # tech A 260/5 = 52.00, B 230.5/5 = 46.10, C 280/5 = 56.00; biz A 42/5 = 8.40, B 39/5 = 7.80, C 9.00
    # price (base 950000): A 28.50, B 30.00, C 25.91
    # totals: A 52.00+8.40+28.50 = 88.90; B 46.10+7.80+30.00 = 83.90; C 56.00+9.00+25.91 = 90.91
    assert [(r["uscc"], r["total"]) for r in result["ranking"]] == [(C, "90.91"), (A, "88.90"), (B, "83.90")]
    assert result["candidates"] == [C, A, B] and result["winner_candidate"] == C
    with platform.db.sessions() as session:
        types = [e.type for e in session.scalars(select(Event).where(Event.instance_id == trade).order_by(Event.seq))]
    assert types.count("evaluation.scored") == 5 and types[-1] == "evaluation.closed"


def test_dropping_extremes_with_five_experts(platform, seated):
    trade, actors = seated
    evaluation.open_evaluation(platform, STAFF, trade, "composite", CRITERIA, OFFERS, drop_extremes=True)
    mark_all(platform, trade, actors)
    result = evaluation.close_evaluation(platform, STAFF, trade)["result"]
    # tech A drop 50 and 54 → (52+52+52)/3 = 52.00; B drop 45, 47.5 → 46.00; biz A drop 8 and 9 → (8+8+9)/3 = 8.33
    by = {r["uscc"]: r for r in result["ranking"]}
    assert (by[A]["scores"]["tech"], by[B]["scores"]["tech"], by[A]["scores"]["biz"]) == ("52.00", "46.00", "8.33")


def test_only_confirmed_members_score_while_it_is_open(platform, seated, pool):
    trade, actors = seated
    outsider_id = pool.add(1)[0]
    pool.link(outsider_id, "outsider")
    with pytest.raises(NotFound):
        evaluation.submit_scores(platform, actors[0], trade, scores=[{"bidder": A, "criterion": "tech", "score": 1}])
    evaluation.open_evaluation(platform, STAFF, trade, "composite", CRITERIA, OFFERS)
    with pytest.raises(Forbidden):
        evaluation.submit_scores(platform, expert_actor("outsider"), trade,
                                 scores=[{"bidder": A, "criterion": "tech", "score": 1}])
    for bad in ({"bidder": A, "criterion": "tech", "score": "60.01"}, {"bidder": A, "criterion": "price", "score": 1},
                {"bidder": A, "criterion": "tech", "score": "1.234"}, {"bidder": "X", "criterion": "tech", "score": 1}):
        with pytest.raises(Invalid):
            evaluation.submit_scores(platform, actors[0], trade, scores=[bad])
    with pytest.raises(Conflict, match="未提交"):
        evaluation.close_evaluation(platform, STAFF, trade)
    mark_all(platform, trade, actors)
    # a resubmission replaces the expert's earlier mark
    evaluation.submit_scores(platform, actors[0], trade, scores=[{"bidder": A, "criterion": "tech", "score": "51"}])
    with platform.db.sessions() as session:
        marks = session.scalars(select(EvaluationScore.score).where(EvaluationScore.bidder_uscc == A,
                                                                    EvaluationScore.criterion == "tech")).all()
    assert sorted(marks) == [Decimal("51.00"), Decimal("52.00"), Decimal("52.00"), Decimal("52.00"), Decimal("54.00")]
    evaluation.close_evaluation(platform, STAFF, trade)
    with pytest.raises(Conflict, match="已经结束"):
        evaluation.submit_scores(platform, actors[0], trade, scores=[{"bidder": A, "criterion": "tech", "score": 1}])


def test_opening_needs_a_confirmed_committee(platform, pool, trade):
    with pytest.raises(Conflict, match="尚未抽取"):
        evaluation.open_evaluation(platform, STAFF, trade, "composite", CRITERIA, OFFERS)
    pool.add(5)
    experts.draw_committee(platform, STAFF, trade, [CODE], reserves=0)
    with pytest.raises(Conflict, match="5 名专家未确认"):
        evaluation.open_evaluation(platform, STAFF, trade, "composite", CRITERIA, OFFERS)
    with pytest.raises(Forbidden):
        evaluation.open_evaluation(platform, SUPERVISOR, trade, "composite", CRITERIA, OFFERS)


def test_lowest_evaluated_price(platform, seated):
    trade, actors = seated
    offers = [{"uscc": A, "price": "1000000", "adjustments": [{"amount": "30000", "reason": "工期折算"}]},
              {"uscc": B, "price": "1020000"}, {"uscc": C, "price": "990000"}]
    with pytest.raises(Invalid):
        evaluation.open_evaluation(platform, STAFF, trade, "lowest_evaluated_price", CRITERIA, offers)
    with pytest.raises(Invalid, match="两位小数"):
        evaluation.open_evaluation(platform, STAFF, trade, "lowest_evaluated_price", [],
                                   [*offers[:2], {"uscc": C, "price": "990000.001"}])
    evaluation.open_evaluation(platform, STAFF, trade, "lowest_evaluated_price", [], offers)
    verdicts = {A: (True,) * 5, B: (True, True, True, False, False), C: (False, False, False, True, True)}
    for i, actor in enumerate(actors):
        evaluation.submit_scores(platform, actor, trade, reviews=[{"bidder": b, "passed": v[i]} for b, v in verdicts.items()])
    closed = evaluation.close_evaluation(platform, STAFF, trade)
    assert closed["bidders"][0]["adjustments"] == [{"amount": "30000.00", "reason": "工期折算"}]
    result = closed["result"]
    # C fails 2 to 3; B 1020000.00 < A 1000000 + 30000 = 1030000.00
    assert [(r["uscc"], r["evaluated_price"]) for r in result["ranking"]] == [(B, "1020000.00"), (A, "1030000.00")]
    assert result["rejected"] == [C] and result["winner_candidate"] == B


def test_who_sees_the_evaluation(platform, seated):
    trade, actors = seated
    evaluation.open_evaluation(platform, STAFF, trade, "composite", CRITERIA, OFFERS)
    mark_all(platform, trade, actors)
    bidder = Actor("b1", frozenset({"bidder"}), None, A)
    with pytest.raises(Forbidden, match="公布前"):
        evaluation.get_evaluation(platform, bidder, trade)
    own = evaluation.get_evaluation(platform, actors[0], trade)
    assert {s["expert_name"] for s in own["scores"]} == {own["scores"][0]["expert_name"]} and len(own["scores"]) == 6
    assert len(evaluation.get_evaluation(platform, SUPERVISOR, trade)["scores"]) == 30
    evaluation.close_evaluation(platform, STAFF, trade)
    with pytest.raises(Forbidden):
        evaluation.get_evaluation(platform, bidder, trade)
    set_variables(platform, trade, result_published=True)
    public = evaluation.get_evaluation(platform, bidder, trade)
    assert public["result"]["winner_candidate"] == C and "scores" not in public


def test_a_recusal_during_the_evaluation_needs_the_seat_refilled_and_scored(platform, seated, pool):
    trade, actors = seated
    evaluation.open_evaluation(platform, STAFF, trade, "composite", CRITERIA, OFFERS)
    mark_all(platform, trade, actors)
    leaving = actors[4]
    seat = next(m for m in experts.get_committee(platform, STAFF, trade)["members"]
                if f"e{m['expert_id']}" == leaving.username)
    experts.recuse(platform, leaving, trade, seat["id"], "发现与投标人存在利害关系")
    with pytest.raises(Conflict, match="只有 4 名"):
        evaluation.close_evaluation(platform, STAFF, trade)
    newcomer = pool.add(1)[0]
    pool.link(newcomer, "newcomer")
    refilled = experts.draw_committee(platform, STAFF, trade, [CODE])
    new_seat = next(m for m in refilled["members"] if m["expert_id"] == newcomer)
    experts.confirm(platform, expert_actor("newcomer"), trade, new_seat["id"])
    with pytest.raises(Conflict, match="未提交"):
        evaluation.close_evaluation(platform, STAFF, trade)
    # the newcomer marks like the one who left, except a 0 for A's technical score
    scores = [{"bidder": b, "criterion": "tech", "score": "0" if b == A else TECH[b][4]} for b in BIDDERS]
    scores += [{"bidder": b, "criterion": "biz", "score": BIZ[b][4]} for b in BIDDERS]
    evaluation.submit_scores(platform, expert_actor("newcomer"), trade, scores=scores)
    result = evaluation.close_evaluation(platform, STAFF, trade)["result"]
    # A's technical: (50+52+54+52+0)/5 = 41.60; the recused expert's 52 no longer counts
    assert next(r for r in result["ranking"] if r["uscc"] == A)["scores"]["tech"] == "41.60"


def test_only_bidders_with_valid_bids_are_evaluated_when_the_bids_service_knows_them(platform, seated,
                                                                                    monkeypatch):
    from services.trading import bids

    trade, _ = seated
    monkeypatch.setattr(bids, "valid_bidders", lambda session, instance_id, lot="1": [A, B])
    with pytest.raises(Invalid, match=C):
        evaluation.open_evaluation(platform, STAFF, trade, "composite", CRITERIA, OFFERS)
    assert evaluation.open_evaluation(platform, STAFF, trade, "composite", CRITERIA, OFFERS[:2])["status"] == "open"
