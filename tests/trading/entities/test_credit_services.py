"""Credit listings: who may record them, and which ones stop an organisation from bidding."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models import Event
from services import audit
from services.trading import credit, entities

FUZHOU = "91350100M000100Y43"
SHENZHEN = "91440300708461136T"
BEIJING = "91110108551385082Q"
CST = ZoneInfo("Asia/Shanghai")

STAFF = Actor("staff1", frozenset({"staff"}), "350100")
SUPERVISOR = Actor("sup1", frozenset({"supervisor"}), "350000")
ADMIN = Actor("admin1", frozenset({"admin"}))
BIDDER = Actor("bidder1", frozenset({"bidder"}), None, SHENZHEN)


def blacklist(p, actor=SUPERVISOR, **extra):
    data = {"uscc": FUZHOU, "list": "black", "source": "信用中国", "reason": "串通投标",
            "document_no": "闽建罚〔2026〕12号", "valid_from": date(2026, 1, 1), "valid_until": date(2026, 6, 30),
            **extra}
    return credit.add_listing(p, actor, data)


def local(*args):
    return datetime(*args, tzinfo=CST)


def check(p, code=FUZHOU, on=None):
    with p.db.sessions() as session:
        credit.require_not_blacklisted(session, code, on or p.clock.now(), p.tz)


@pytest.fixture
def registered(platform):
    entities.register_organisation(platform, STAFF, {"uscc": FUZHOU, "name": "福州某建设有限公司"})
    return platform


def test_a_blacklisted_entity_is_refused_with_the_listing_named(registered):
    registered.clock.set(local(2025, 12, 1, 9))
    listing, created = blacklist(registered)
    assert created and listing["in_force"] is False  # recorded ahead of its validity
    with pytest.raises(Forbidden) as caught:
        check(registered, on=local(2026, 3, 1, 10))
    message = caught.value.message
    assert message == ("福州某建设有限公司（统一社会信用代码 91350100M000100Y43）被列入信用黑名单（来源：信用中国，"
                       "文号：闽建罚〔2026〕12号，事由：串通投标，有效期 2026-01-01 至 2026-06-30），不得参与投标")
    assert caught.value.errors[0]["id"] == listing["id"] and caught.value.errors[0]["document_no"] == "闽建罚〔2026〕12号"
    with registered.db.sessions() as session:
        assert credit.is_blacklisted(session, FUZHOU.lower(), local(2026, 3, 1), registered.tz)
        assert entities.require_not_blacklisted is credit.require_not_blacklisted  # callers may use either module


def test_the_validity_is_counted_in_the_platform_time_zone_both_days_inclusive(registered):
    blacklist(registered)
    check(registered, on=local(2025, 12, 31, 23, 59))
    with pytest.raises(Forbidden):
        check(registered, on=local(2026, 1, 1, 0, 0))
    with pytest.raises(Forbidden):
        check(registered, on=local(2026, 6, 30, 23, 59))
    # 2026-07-01 00:30 in Beijing is still 30 June in UTC: the listing has lapsed all the same.
    check(registered, on=local(2026, 7, 1, 0, 30))
    with registered.db.sessions() as session:
        assert not credit.is_blacklisted(session, FUZHOU, local(2026, 7, 1, 0, 30).astimezone(UTC))


def test_an_indefinite_listing_blocks_until_revoked(registered):
    listing, _ = blacklist(registered, valid_until=None, document_no=None, source="住建部")
    registered.clock.set(local(2030, 1, 1, 9))
    with pytest.raises(Forbidden, match="来源：住建部，事由：串通投标，有效期自 2026-01-01 起长期有效"):
        check(registered)
    revoked = credit.revoke_listing(registered, SUPERVISOR, listing["id"], "行政复议撤销")
    assert revoked["revoked_by"] == "sup1" and revoked["in_force"] is False
    check(registered)
    # Asked about a moment before the revocation, the listing counted then.
    with pytest.raises(Forbidden):
        check(registered, on=registered.clock.now() - timedelta(minutes=1))
    with pytest.raises(Conflict, match="已于"):
        credit.revoke_listing(registered, ADMIN, listing["id"])


def test_red_lists_and_other_organisations_do_not_block(registered):
    blacklist(registered, list="red", reason="守信激励")
    blacklist(registered, uscc=SHENZHEN)
    check(registered, on=local(2026, 3, 1))


def test_a_listing_may_name_an_organisation_not_registered_here(registered):
    blacklist(registered, uscc=BEIJING, name="北京某科技有限公司")
    with pytest.raises(Forbidden, match="^北京某科技有限公司（统一社会信用代码 91110108551385082Q）被列入"):
        check(registered, code=BEIJING, on=local(2026, 3, 1))


def test_every_listing_in_force_is_named(registered):
    blacklist(registered)
    blacklist(registered, source="住建部", document_no="建市〔2026〕3号", reason="转包")
    with pytest.raises(Forbidden) as caught:
        check(registered, on=local(2026, 3, 1))
    assert "闽建罚〔2026〕12号" in caught.value.message and "建市〔2026〕3号" in caught.value.message
    assert len(caught.value.errors) == 2


def test_staff_and_bidders_may_not_record_or_revoke_listings(registered):
    for actor in (STAFF, BIDDER):
        with pytest.raises(Forbidden, match="行政监督人员或管理员"):
            blacklist(registered, actor=actor)
    listing, _ = blacklist(registered, actor=ADMIN)
    with pytest.raises(Forbidden):
        credit.revoke_listing(registered, STAFF, listing["id"])
    with pytest.raises(NotFound):
        credit.revoke_listing(registered, SUPERVISOR, 999999)


def test_the_same_document_again_returns_the_existing_listing(registered):
    first, _ = blacklist(registered)
    again, created = blacklist(registered)
    assert not created and again["id"] == first["id"]
    credit.revoke_listing(registered, SUPERVISOR, first["id"])
    relisted, created = blacklist(registered)
    assert created and relisted["id"] != first["id"]


def test_listing_changes_go_to_the_platform_chain(registered):
    listing, _ = blacklist(registered)
    credit.revoke_listing(registered, SUPERVISOR, listing["id"], "期满前撤销")
    with registered.db.sessions() as session:
        events = list(session.scalars(select(Event).where(Event.instance_id == audit.PLATFORM_CHAIN)
                                      .order_by(Event.seq)))
        assert audit.verify(session, audit.PLATFORM_CHAIN)[1] is None
    assert [e.type for e in events][-2:] == ["credit.listed", "credit.revoked"]
    assert events[-2].data["document_no"] == "闽建罚〔2026〕12号" and events[-2].data["valid_until"] == "2026-06-30"
    assert events[-1].data["reason"] == "期满前撤销" and events[-1].actor == "sup1"


def test_listing_input_is_checked(registered):
    with pytest.raises(Invalid, match="校验位"):
        blacklist(registered, uscc="91350100M000100Y44")
    with pytest.raises(Invalid, match="black"):
        blacklist(registered, list="grey")
    with pytest.raises(Invalid, match="早于"):
        blacklist(registered, valid_until=date(2025, 1, 1))
    with pytest.raises(Invalid, match="reason 不能为空"):
        blacklist(registered, reason="")


def test_valid_from_defaults_to_today_in_the_platform_zone(registered):
    registered.clock.set(local(2026, 5, 1, 0, 10))  # still 30 April in UTC
    listing, _ = blacklist(registered, valid_from=None, valid_until=None)
    assert listing["valid_from"] == "2026-05-01" and listing["in_force"] is True


def test_lists_filter_by_list_code_and_force(registered):
    registered.clock.set(local(2026, 3, 1, 9))
    black, _ = blacklist(registered)
    blacklist(registered, list="red", reason="守信激励", document_no="红〔2026〕1号")
    old, _ = blacklist(registered, document_no="旧〔2020〕1号", valid_from=date(2020, 1, 1),
                       valid_until=date(2020, 12, 31))
    blacklist(registered, uscc=SHENZHEN)

    assert credit.list_listings(registered, BIDDER)["total"] == 4
    in_force = credit.list_listings(registered, BIDDER, "black", FUZHOU.lower(), True)
    assert [i["id"] for i in in_force["items"]] == [black["id"]]
    assert [i["id"] for i in credit.list_listings(registered, BIDDER, "black", FUZHOU, False)["items"]] == [old["id"]]
    public = credit.public_blacklist(registered)
    assert public["total"] == 2 and "created_by" not in public["items"][0]
    assert credit.public_blacklist(registered, SHENZHEN)["items"][0]["uscc"] == SHENZHEN
    with pytest.raises(Invalid):
        credit.list_listings(registered, BIDDER, "grey")
