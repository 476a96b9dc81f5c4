"""Before the deadline nobody sees the bids, their number or their bidders; after it, the region's officials do."""
from __future__ import annotations

import json

import pytest

from tests.trading.bids.conftest import DEADLINE, Trade


@pytest.fixture
def with_bids(trade: Trade) -> Trade:
    for _ in range(2):
        trade.submit(trade.bidder())
    return trade


@pytest.mark.parametrize(("roles", "status"), [
    (("staff",), 409), (("supervisor",), 409), (("purchaser",), 409), (("agency",), 409),
    (("admin",), 403), (("expert",), 403), (("integrator",), 403),
])
def test_nobody_can_list_or_count_bids_before_the_deadline(with_bids, make_user, roles, status):
    headers = make_user(*roles, region="330100" if roles != ("admin",) else None)
    response = with_bids.listing(headers)
    assert response.status_code == status, response.get_json()
    document = response.get_json()
    assert set(document) == {"error", "message", "errors"}
    assert "截止" in document["message"]
    text = json.dumps(document, ensure_ascii=False)
    assert "bidder_org" not in text and "count" not in text


def test_a_bidder_never_lists_the_others(with_bids):
    bidder = with_bids.bidder()
    assert with_bids.listing(bidder.headers).status_code == 403
    with_bids.at(DEADLINE)
    assert with_bids.listing(bidder.headers).status_code == 403


def test_the_instance_shows_no_bidder_before_the_deadline(with_bids, make_user):
    staff = make_user("staff", region="330100")
    orgs = [b.bidder_org for b in with_bids.bids()]
    instance = with_bids.client.get(f"/api/v1/process-instances/{with_bids.id}", headers=staff).get_data(True)
    chain = with_bids.client.get(f"/api/v1/process-instances/{with_bids.id}/events", headers=staff).get_data(True)
    assert not any(org in instance or org in chain for org in orgs)


def test_after_the_deadline_the_region_sees_the_list_without_content(with_bids, make_user):
    with_bids.at(DEADLINE)
    bids = with_bids.bids()
    for roles in (("staff",), ("supervisor",), ("purchaser",), ("agency",)):
        response = with_bids.listing(make_user(*roles, region="330000"))  # the province covers its cities
        assert response.status_code == 200, response.get_json()
        listing = response.get_json()
        assert [b["bidder_org"] for b in listing["bids"]] == [b.bidder_org for b in bids]
        assert [b["receipt_no"] for b in listing["bids"]] == [b.receipt_no for b in bids]
        assert listing["valid_count"] == 2 and listing["opening"] is None
        assert all(b["plain_sha256"] is None and b["status"] == "submitted" for b in listing["bids"])
    assert with_bids.listing(make_user("staff", region="320100")).status_code == 403
