"""The deposit and alert endpoints: who may call them, and what they return."""
from __future__ import annotations

import pytest

from services.trading import deposits
from tests.trading.deposits.conftest import at, payment, uscc

API = "/api/v1"


@pytest.fixture
def trade(start_trade):
    return start_trade(variables={"bond_amount": "200000", "estimated_price": "10000000"})


@pytest.fixture
def staff(make_user):
    return make_user("staff", region="330100")


def _post(client, trade, headers, body):
    return client.post(f"{API}/trades/{trade}/deposits", headers=headers, json=body)


def test_staff_and_the_bank_interface_record_payments(client, trade, staff, make_user):
    response = _post(client, trade, staff, payment(1))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["bidder_uscc"], body["amount"], body["deposit_ok"]) == (uscc(1), "200000.00", True)
    bank = make_user("integrator")
    assert _post(client, trade, bank, payment(2, "150000.5")).status_code == 201
    assert _post(client, trade, bank, payment(2, "150000.5")).status_code == 200  # the same transfer again


@pytest.mark.parametrize("roles, region, status", [
    (("bidder",), None, 403), (("purchaser",), "330100", 403), (("supervisor",), "330100", 403),
    (("staff",), "320100", 403),
])
def test_others_may_not_record_payments(client, trade, make_user, roles, region, status):
    headers = make_user(*roles, region=region, org=uscc(1) if "bidder" in roles else None)
    response = _post(client, trade, headers, payment(1))
    assert response.status_code == status and response.get_json()["error"] == "forbidden"


def test_a_non_basic_account_is_a_statutory_422(client, trade, staff):
    response = _post(client, trade, staff, payment(1, is_basic_account=False))
    body = response.get_json()
    assert response.status_code == 422
    assert (body["rule"], body["citation"]) == ("cons.bond_cap", "TBR 26")
    assert "基本账户" in body["message"]


def test_malformed_payments_are_refused(client, trade, staff):
    assert _post(client, trade, staff, {"bidder_uscc": uscc(1)}).status_code == 400
    assert _post(client, trade, staff, payment(1, amount="12.345")).status_code == 422
    assert client.post(f"{API}/trades/nope/deposits", headers=staff, json=payment(1)).status_code == 404
    assert client.post(f"{API}/trades/{trade}/deposits", json=payment(1)).status_code == 401


def test_listing_staff_supervisor_and_bidders(client, trade, staff, make_user):
    for n in (1, 2):
        _post(client, trade, staff, payment(n))
    listed = lambda h: client.get(f"{API}/trades/{trade}/deposits", headers=h)  # noqa: E731
    assert len(listed(staff).get_json()) == 2
    assert len(listed(make_user("supervisor", region="330000")).get_json()) == 2
    own = listed(make_user("bidder", org=uscc(2))).get_json()
    assert [d["bidder_uscc"] for d in own] == [uscc(2)]
    assert listed(make_user("bidder", org=uscc(3))).get_json() == []
    for headers in (make_user("purchaser", region="330100"), make_user("agency", region="330100"),
                    make_user("supervisor", region="320000"), make_user("expert", region="330100")):
        assert listed(headers).status_code == 403
    assert client.get(f"{API}/trades/{trade}/deposits?lot=2", headers=staff).get_json() == []


def test_refund_endpoint_is_for_staff(client, platform, trade, staff, make_user):
    platform.clock.set(at(2026, 9, 10, 9, 0))
    deposit_id = _post(client, trade, staff, payment(1)).get_json()["id"]
    url = f"{API}/trades/{trade}/deposits/{deposit_id}/refund"
    for headers in (make_user("supervisor", region="330100"), make_user("bidder", org=uscc(1)),
                    make_user("integrator"), make_user("staff", region="320100")):
        assert client.post(url, headers=headers, json={"bank_reference": "R"}).status_code == 403
    assert client.post(url, headers=staff, json={}).status_code == 400
    assert client.post(f"{API}/trades/{trade}/deposits/99999/refund", headers=staff,
                       json={"bank_reference": "R"}).status_code == 404
    response = client.post(url, headers=staff, json={"bank_reference": "R-1"})
    assert response.status_code == 200, response.get_json()
    refund = response.get_json()["refund"]
    # Refunded before any schedule (e.g. a withdrawn bid): no interest rule applied yet.
    assert (refund["amount"], refund["interest"], refund["late"]) == ("200000.00", "0.00", False)


def test_alert_endpoints(client, platform, trade, staff, make_user):
    platform.clock.set(at(2026, 9, 10, 9, 0))
    _post(client, trade, staff, payment(1))
    platform.db.run(lambda s: deposits.schedule_refunds(s, trade, "contract_signed", at(2026, 9, 28, 9, 0)))
    platform.clock.set(at(2026, 10, 9, 9, 0))
    assert deposits.check_overdue_refunds(platform) == 1

    supervisor = make_user("supervisor", region="330100")
    listed = client.get(f"{API}/alerts?status=open", headers=supervisor)
    assert listed.status_code == 200
    [alert] = listed.get_json()
    assert (alert["kind"], alert["subject"], alert["rule"]) == ("deposit_refund_overdue", uscc(1), "cons.bond_refund")
    assert [a["id"] for a in client.get(f"{API}/alerts?status=open", headers=staff).get_json()] == [alert["id"]]
    assert client.get(f"{API}/alerts", headers=make_user("supervisor", region="320000")).get_json() == []
    assert client.get(f"{API}/alerts", headers=make_user("bidder", org=uscc(1))).status_code == 403
    assert client.get(f"{API}/alerts?status=bogus", headers=supervisor).status_code == 400

    review = f"{API}/alerts/{alert['id']}/review"
    assert client.post(review, headers=staff, json={}).status_code == 403
    assert client.post(review, headers=make_user("supervisor", region="320000"), json={}).status_code == 403
    response = client.post(review, headers=supervisor, json={"note": "已督促"})
    assert response.status_code == 200 and response.get_json()["status"] == "reviewed"
    assert client.post(review, headers=supervisor).status_code == 409
    dismissed = client.post(f"{API}/alerts/{alert['id']}/dismiss", headers=supervisor)
    assert dismissed.status_code == 200 and dismissed.get_json()["status"] == "dismissed"
    assert client.get(f"{API}/alerts?status=open", headers=supervisor).get_json() == []
    assert client.post(f"{API}/alerts/424242/dismiss", headers=supervisor).status_code == 404
