"""/api/v1/credit and the public blacklist through the Flask client."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.trading import credit

API = "/api/v1/credit"
FUZHOU = "91350100M000100Y43"
SHENZHEN = "91440300708461136T"
LISTING = {"uscc": FUZHOU, "name": "福州某建设有限公司", "list": "black", "source": "信用中国", "reason": "串通投标",
           "document_no": "闽建罚〔2026〕12号", "valid_from": "2026-01-01", "valid_until": "2026-12-31"}


def error(response, status):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:400])
    body = response.get_json()
    assert {"error", "message", "errors"} <= set(body)
    return body


@pytest.fixture
def supervisor(platform, make_user):
    platform.clock.set(datetime(2026, 11, 21, 9, tzinfo=ZoneInfo("Asia/Shanghai")))
    return make_user("supervisor", region="350000")


@pytest.fixture
def listed(client, supervisor):
    response = client.post(f"{API}/listings", json=LISTING, headers=supervisor)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_supervisor_records_a_listing_once(client, supervisor, listed):
    assert listed["in_force"] is True and listed["list_name"] == "信用黑名单" and listed["created_by"]
    again = client.post(f"{API}/listings", json=LISTING, headers=supervisor)
    assert again.status_code == 200 and again.get_json()["id"] == listed["id"]


def test_staff_and_bidders_may_not_record_listings(client, make_user, supervisor):
    for headers in (make_user("staff"), make_user("bidder", org=SHENZHEN)):
        body = error(client.post(f"{API}/listings", json=LISTING, headers=headers), 403)
        assert "行政监督人员或管理员" in body["message"]
    assert client.post(f"{API}/listings", json=LISTING, headers=make_user("admin")).status_code == 201


def test_listing_input_errors(client, supervisor):
    body = error(client.post(f"{API}/listings", json={**LISTING, "uscc": "91350100M000100Y44"}, headers=supervisor),
                 422)
    assert "应为“3”" in body["message"]
    error(client.post(f"{API}/listings", json={**LISTING, "list": "grey"}, headers=supervisor), 400)
    error(client.post(f"{API}/listings", json={**LISTING, "valid_until": "2025-01-01"}, headers=supervisor), 422)
    error(client.post(f"{API}/listings", json={k: v for k, v in LISTING.items() if k != "reason"},
                      headers=supervisor), 400)


def test_any_token_lists_listings_by_list_and_code(client, make_user, supervisor, listed):
    client.post(f"{API}/listings", json={**LISTING, "list": "red", "reason": "守信激励"}, headers=supervisor)
    client.post(f"{API}/listings", json={**LISTING, "uscc": SHENZHEN, "name": None}, headers=supervisor)
    bidder = make_user("bidder", org=SHENZHEN)
    page = client.get(f"{API}/listings?list=black&uscc={FUZHOU.lower()}", headers=bidder).get_json()
    assert [i["id"] for i in page["items"]] == [listed["id"]] and page["total"] == 1
    assert client.get(f"{API}/listings", headers=bidder).get_json()["total"] == 3
    assert client.get(f"{API}/listings?list=red", headers=bidder).get_json()["total"] == 1
    assert client.get(f"{API}/listings?in_force=false", headers=bidder).get_json()["total"] == 0
    error(client.get(f"{API}/listings"), 401)
    error(client.get(f"{API}/listings?list=grey", headers=bidder), 400)


def test_revoke(client, make_user, supervisor, listed):
    url = f"{API}/listings/{listed['id']}/revoke"
    error(client.post(url, json={"reason": "x"}, headers=make_user("staff")), 403)
    response = client.post(url, json={"reason": "行政复议撤销"}, headers=supervisor)
    assert response.status_code == 200
    assert response.get_json()["in_force"] is False and response.get_json()["revoke_reason"] == "行政复议撤销"
    error(client.post(url, headers=supervisor), 409)
    error(client.post(f"{API}/listings/999999/revoke", headers=supervisor), 404)
    assert client.get(f"{API}/listings?in_force=true", headers=supervisor).get_json()["total"] == 0


def test_the_blacklist_in_force_with_a_token_and_publicly(client, make_user, platform, supervisor, listed):
    client.post(f"{API}/listings", json={**LISTING, "list": "red", "reason": "守信激励"}, headers=supervisor)
    client.post(f"{API}/listings", json={**LISTING, "document_no": "旧", "valid_from": "2020-01-01",
                                         "valid_until": "2020-12-31"}, headers=supervisor)
    bidder = make_user("bidder", org=SHENZHEN)
    page = client.get(f"{API}/black", headers=bidder).get_json()
    assert [i["id"] for i in page["items"]] == [listed["id"]]
    error(client.get(f"{API}/black"), 401)

    public = client.get(f"/api/v1/public/credit/black?uscc={FUZHOU}")
    assert public.status_code == 200
    [item] = public.get_json()["items"]
    assert item["document_no"] == "闽建罚〔2026〕12号" and "created_by" not in item and "revoked_by" not in item
    assert client.get(f"/api/v1/public/credit/black?uscc={SHENZHEN}").get_json()["total"] == 0


def test_the_blacklist_blocks_through_the_shared_check(client, platform, supervisor, listed):
    # What the bids service calls before accepting a bid: a 403 that names the listing.
    from domain.errors import Forbidden

    with platform.db.sessions() as session, pytest.raises(Forbidden) as caught:
        credit.require_not_blacklisted(session, FUZHOU, platform.clock.now(), platform.tz)
    assert "文号：闽建罚〔2026〕12号" in caught.value.message and "有效期 2026-01-01 至 2026-12-31" in caught.value.message
    client.post(f"{API}/listings/{listed['id']}/revoke", headers=supervisor)
    with platform.db.sessions() as session:
        credit.require_not_blacklisted(session, FUZHOU, platform.clock.now(), platform.tz)
