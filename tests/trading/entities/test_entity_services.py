"""Organisations registered once platform-wide, their contacts and qualifications, through the services."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from domain.access import Actor
from domain.errors import Forbidden, Invalid, NotFound
from persistence.models import Event
from services import audit
from services.trading import entities

FUZHOU = "91350100M000100Y43"
SHENZHEN = "91440300708461136T"
BEIJING = "91110108551385082Q"

STAFF_FJ = Actor("staff_fj", frozenset({"staff"}), "350100")
STAFF_ZJ = Actor("staff_zj", frozenset({"staff"}), "330100")
SUPERVISOR = Actor("sup", frozenset({"supervisor"}), "440000")
BIDDER_FZ = Actor("bidder_fz", frozenset({"bidder"}), None, FUZHOU)
BIDDER_SZ = Actor("bidder_sz", frozenset({"bidder"}), "440300", SHENZHEN)


def register(p, actor=STAFF_FJ, code=FUZHOU, **extra):
    return entities.register_organisation(p, actor, {"uscc": code, "name": "福州某建设有限公司", **extra})


def platform_events(p, type_):
    with p.db.sessions() as session:
        return list(session.scalars(select(Event).where(Event.instance_id == audit.PLATFORM_CHAIN,
                                                        Event.type == type_).order_by(Event.seq)))


def test_register_reads_region_and_type_from_the_code_and_audits(platform):
    view, created = register(platform, legal_representative="张三")
    assert created
    assert view["uscc"] == FUZHOU and view["region"] == "350100" and view["type"] == "企业"
    assert view["legal_representative"] == "张三" and view["roles"] == [] and view["qualifications"] == []
    events = platform_events(platform, "entity.registered")
    assert [e.data["uscc"] for e in events] == [FUZHOU] and events[0].actor == "staff_fj"
    with platform.db.sessions() as session:
        assert audit.verify(session, audit.PLATFORM_CHAIN)[1] is None


def test_the_same_code_again_returns_the_existing_organisation(platform):
    first, _ = register(platform)
    again, created = entities.register_organisation(platform, STAFF_ZJ, {"uscc": FUZHOU.lower(), "name": "别的名字"})
    assert not created
    assert again["name"] == "福州某建设有限公司" and again["created_at"] == first["created_at"]
    assert len(platform_events(platform, "entity.registered")) == 1


def test_an_organisation_is_recognized_in_every_region(platform):
    register(platform)  # registered by Fuzhou staff, registration authority in Fujian
    for actor in (STAFF_ZJ, SUPERVISOR, BIDDER_SZ):
        assert entities.get_organisation(platform, actor, FUZHOU)["uscc"] == FUZHOU
    listed = entities.list_organisations(platform, STAFF_ZJ)
    assert [o["uscc"] for o in listed["items"]] == [FUZHOU] and listed["total"] == 1


def test_a_bidder_registers_its_own_organisation_with_its_roles(platform):
    view, created = register(platform, actor=BIDDER_FZ)
    assert created and view["roles"] == ["bidder"] and view["contacts"] == []


def test_a_bidder_may_not_register_someone_else(platform):
    with pytest.raises(Forbidden, match="本单位"):
        register(platform, actor=BIDDER_SZ)
    with pytest.raises(Forbidden):
        entities.register_organisation(platform, Actor("p", frozenset({"purchaser"})), {"uscc": FUZHOU, "name": "x"})


def test_an_invalid_code_is_refused_with_the_check_character(platform):
    with pytest.raises(Invalid, match="第 18 位应为“3”"):
        register(platform, code="91350100M000100Y44")


def test_unknown_roles_and_empty_names_are_refused(platform):
    with pytest.raises(Invalid, match="未知的市场主体角色"):
        register(platform, roles=["bidder", "expert"])
    with pytest.raises(Invalid, match="name 不能为空"):
        entities.register_organisation(platform, STAFF_FJ, {"uscc": FUZHOU, "name": "  "})


def test_update_by_its_own_user_is_audited_with_the_changes(platform):
    register(platform)
    view = entities.update_organisation(platform, BIDDER_FZ, FUZHOU, {"name": "福州某建设集团有限公司",
                                                                     "roles": ["bidder", "purchaser"]})
    assert view["name"] == "福州某建设集团有限公司" and view["roles"] == ["bidder", "purchaser"]
    [event] = platform_events(platform, "entity.updated")
    assert event.data["changes"]["name"] == ["福州某建设有限公司", "福州某建设集团有限公司"]
    with pytest.raises(Forbidden):
        entities.update_organisation(platform, BIDDER_SZ, FUZHOU, {"name": "x"})
    with pytest.raises(Invalid, match="不能修改"):
        entities.update_organisation(platform, STAFF_FJ, FUZHOU, {"region": "110000"})


def test_unknown_organisation_is_404(platform):
    with pytest.raises(NotFound, match="尚未在平台登记"):
        entities.get_organisation(platform, STAFF_FJ, BEIJING)
    with pytest.raises(NotFound):
        entities.add_contact(platform, STAFF_FJ, BEIJING, {"name": "李四"})


def test_list_is_for_staff_and_supervisors_and_filters_by_name(platform):
    register(platform)
    entities.register_organisation(platform, STAFF_FJ, {"uscc": SHENZHEN, "name": "深圳某科技有限公司",
                                                        "roles": ["bidder"]})
    assert [o["uscc"] for o in entities.list_organisations(platform, SUPERVISOR, name="科技")["items"]] == [SHENZHEN]
    assert entities.list_organisations(platform, SUPERVISOR, role="bidder")["total"] == 1
    assert entities.list_organisations(platform, STAFF_FJ, name="%")["total"] == 0  # a literal %, not a wildcard
    page = entities.list_organisations(platform, STAFF_FJ, page=2, per_page=1)
    assert page["total"] == 2 and len(page["items"]) == 1
    with pytest.raises(Forbidden):
        entities.list_organisations(platform, BIDDER_FZ)


def test_contacts_are_shown_to_the_organisation_and_staff_only(platform):
    register(platform)
    contact = entities.add_contact(platform, BIDDER_FZ, FUZHOU, {"name": "李四", "phone": "0591-88888888",
                                                                 "email": "li@example.com", "role": "投标联系人"})
    assert contact["name"] == "李四" and contact["id"]
    assert [c["name"] for c in entities.get_organisation(platform, STAFF_ZJ, FUZHOU)["contacts"]] == ["李四"]
    assert "contacts" in entities.get_organisation(platform, BIDDER_FZ, FUZHOU)
    assert "contacts" not in entities.get_organisation(platform, BIDDER_SZ, FUZHOU)
    [event] = platform_events(platform, "entity.contact_added")
    assert "phone" not in event.data and "email" not in event.data
    with pytest.raises(Forbidden):
        entities.add_contact(platform, BIDDER_SZ, FUZHOU, {"name": "王五"})
    with pytest.raises(Invalid, match="电子邮箱"):
        entities.add_contact(platform, STAFF_FJ, FUZHOU, {"name": "王五", "email": "not-an-email"})
    with pytest.raises(Invalid, match="联系电话"):
        entities.add_contact(platform, STAFF_FJ, FUZHOU, {"name": "王五", "phone": "call me"})


def qualification(p, actor=STAFF_FJ, **extra):
    data = {"type": "建筑工程施工总承包", "grade": "一级", "certificate_no": "D135000001",
            "valid_from": date(2021, 1, 1), "valid_until": date(2026, 6, 30), **extra}
    return entities.add_qualification(p, actor, FUZHOU, data)


def test_qualifications_are_valid_in_their_period_only(platform):
    register(platform)
    qualification(platform)
    qualification(platform, type="市政公用工程施工总承包", grade="二级", certificate_no="D235000002",
                  valid_from="2024-01-01", valid_until=None)
    with platform.db.sessions() as session:
        on_last_day = entities.valid_qualifications(session, FUZHOU, date(2026, 6, 30))
        after = entities.valid_qualifications(session, FUZHOU, date(2026, 7, 1))
        before = entities.valid_qualifications(session, FUZHOU, date(2023, 12, 31))
        building = entities.valid_qualifications(session, FUZHOU, date(2026, 6, 30), "建筑工程施工总承包")
    assert sorted(q.certificate_no for q in on_last_day) == ["D135000001", "D235000002"]
    assert [q.certificate_no for q in after] == ["D235000002"]
    assert [q.certificate_no for q in before] == ["D135000001"]
    assert [q.grade for q in building] == ["一级"]

    platform.clock.set(datetime(2026, 6, 30, 16, 30, tzinfo=UTC))  # 2026-07-01 00:30 in Beijing time
    listed = entities.list_qualifications(platform, BIDDER_SZ, FUZHOU)
    assert {q["certificate_no"]: q["valid"] for q in listed} == {"D135000001": False, "D235000002": True}
    assert [q["certificate_no"] for q in entities.list_qualifications(platform, BIDDER_SZ, FUZHOU, valid_only=True)] \
        == ["D235000002"]
    on_day = entities.list_qualifications(platform, BIDDER_SZ, FUZHOU, on=date(2026, 6, 30), valid_only=True)
    assert len(on_day) == 2


def test_the_same_certificate_again_is_updated_in_place(platform):
    register(platform)
    first, created = qualification(platform)
    assert created
    same, created = qualification(platform)
    assert not created and same["id"] == first["id"]
    renewed, created = qualification(platform, valid_until=date(2031, 6, 30))
    assert not created and renewed["id"] == first["id"] and renewed["valid_until"] == "2031-06-30"
    types = [e.type for e in platform_events(platform, "entity.qualification_added")
             + platform_events(platform, "entity.qualification_updated")]
    assert types == ["entity.qualification_added", "entity.qualification_updated"]


def test_qualification_input_is_checked(platform):
    register(platform)
    with pytest.raises(Invalid, match="早于"):
        qualification(platform, valid_from=date(2026, 1, 1), valid_until=date(2025, 1, 1))
    with pytest.raises(Invalid, match="valid_from 不能为空"):
        qualification(platform, valid_from=None)
    with pytest.raises(Forbidden):
        qualification(platform, actor=BIDDER_SZ)


def test_concurrent_registrations_of_one_code_make_one_organisation(platform):
    import threading

    barrier = threading.Barrier(6)
    results: list[object] = []

    def work(actor: Actor) -> None:
        barrier.wait()
        try:
            results.append(register(platform, actor=actor)[1])
        except Exception as exc:  # noqa: BLE001 - the assertion below reports whatever went wrong
            results.append(exc)

    actors = [STAFF_FJ, STAFF_ZJ, BIDDER_FZ] * 2
    threads = [threading.Thread(target=work, args=(a,)) for a in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(map(str, results)) == ["False"] * 5 + ["True"], results
    assert len(platform_events(platform, "entity.registered")) == 1
