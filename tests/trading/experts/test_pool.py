"""Managing the pool: register, availability, blacklist; the ID number is never stored in clear."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid
from persistence.models_experts import Expert
from services.trading import expert_pool, experts
from services.users import create_user
from tests.trading.experts.conftest import BIDDERS, CODE, EVALUATION_DAY, STAFF, SUPERVISOR, id_number

ADMIN = Actor("pool-admin", frozenset({"admin"}))


def register(platform, n, **extra):
    data = {"name": f"王{n}", "id_number": id_number(n), "specialties": [CODE, "b010203"], "region": "330100",
            **extra}
    return expert_pool.create_expert(platform, STAFF, data)


def test_register_an_expert(platform, pool):
    create_user(platform, "wang1", ["expert"])
    view = register(platform, 1, employer_uscc=BIDDERS[0].lower(), username="wang1")
    assert view["specialties"] == [CODE, "B010203"] and view["employer_uscc"] == BIDDERS[0]
    assert view["id_number_masked"] == id_number(1)[:6] + "********" + id_number(1)[-4:]
    assert view["available"] is True and view["blacklisted"] is False and view["username"] == "wang1"
    with platform.db.sessions() as session:
        stored = session.get(Expert, view["id"])
        assert id_number(1) not in (stored.id_number_hash, stored.id_number_masked)
    assert expert_pool.get_expert(platform, SUPERVISOR, view["id"])["name"] == "王1"


def test_register_refuses_bad_input(platform, pool):
    register(platform, 1)
    with pytest.raises(Conflict, match="已在专家库"):
        register(platform, 1)
    wrong_check = id_number(2)[:17] + ("0" if id_number(2)[17] != "0" else "1")
    for bad in ({"id_number": wrong_check}, {"specialties": []}, {"specialties": ["工程"]}, {"region": "33"},
                {"employer_uscc": "91330100MA0000000A"}, {"username": "nobody"}):
        with pytest.raises(Invalid):
            register(platform, 2, **bad)
    create_user(platform, "not_expert", ["bidder"])
    with pytest.raises(Invalid, match="专家角色"):
        register(platform, 3, username="not_expert")


def test_only_admin_and_staff_of_the_region_manage_the_pool(platform, pool):
    data = {"name": "李", "id_number": id_number(5), "specialties": [CODE], "region": "320100"}
    with pytest.raises(Forbidden):
        expert_pool.create_expert(platform, STAFF, data)  # staff of 330100
    with pytest.raises(Forbidden):
        expert_pool.create_expert(platform, SUPERVISOR, data)
    view = expert_pool.create_expert(platform, ADMIN, data)
    with pytest.raises(Forbidden):
        expert_pool.set_blacklist(platform, STAFF, view["id"], True, "违规")
    with pytest.raises(Forbidden):
        expert_pool.get_expert(platform, Actor("b", frozenset({"bidder"})), view["id"])


def test_availability_and_blacklist_decide_who_can_be_drawn(platform, pool, start_trade):
    ids = [register(platform, n)["id"] for n in range(1, 8)]
    expert_pool.set_blacklist(platform, STAFF, ids[0], True, "评标中违反纪律")
    expert_pool.set_availability(platform, STAFF, ids[1], False, None)
    view = expert_pool.set_availability(platform, STAFF, ids[2], None, [
        {"starts_on": EVALUATION_DAY.isoformat(), "ends_on": date(2026, 12, 31).isoformat(), "reason": "出国"}])
    assert view["unavailable_periods"] == [{"starts_on": "2026-12-03", "ends_on": "2026-12-31", "reason": "出国"}]
    assert view["available"] is True
    with pytest.raises(Invalid, match="仅有 4 名"):
        experts.draw_committee(platform, STAFF, start_trade(), [CODE], size=5)
    expert_pool.set_blacklist(platform, STAFF, ids[0], False, None)
    with pytest.raises(Invalid, match="理由"):
        expert_pool.set_blacklist(platform, STAFF, ids[1], True, "  ")
    drawn = experts.draw_committee(platform, STAFF, start_trade(), [CODE], reserves=0)
    assert sorted(m["expert_id"] for m in drawn["members"]) == sorted([ids[0], *ids[3:]])
    with pytest.raises(Invalid):
        expert_pool.set_availability(platform, STAFF, ids[2], None, [{"starts_on": "2026-12-09", "ends_on": "2026-12-01"}])


def test_list_by_specialty_and_region(platform, pool):
    pool.add(3)
    pool.add(2, region="330200", codes=("B010101",))
    pool.add(1, region="320100")
    page = expert_pool.list_experts(platform, ADMIN, specialty=CODE.lower())
    assert page["total"] == 4
    assert expert_pool.list_experts(platform, ADMIN, region="330000")["total"] == 5
    assert expert_pool.list_experts(platform, STAFF)["total"] == 3  # staff of 330100 see their region only
    assert len(expert_pool.list_experts(platform, ADMIN, per_page=2)["items"]) == 2


def test_pool_changes_are_audited_without_the_id_number(platform, pool):
    from persistence.models import Event
    from services import audit

    view = register(platform, 9)
    expert_pool.set_blacklist(platform, STAFF, view["id"], True, "违规")
    with platform.db.sessions() as session:
        rows = list(session.scalars(select(Event).where(Event.instance_id == audit.PLATFORM_CHAIN,
                                                        Event.type.like("experts.%")).order_by(Event.seq)))
    assert [e.type for e in rows] == ["experts.registered", "experts.blacklisted"]
    assert id_number(9) not in str([e.data for e in rows])
