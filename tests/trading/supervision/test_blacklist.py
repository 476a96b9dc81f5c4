"""A blacklisted organisation is refused everywhere it could take part (bids, bonds, offers) and each refusal
raises one alert with the attempts as evidence; an organisation in good standing raises nothing."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from domain.access import Actor
from services import steps
from services.platform import Platform
from services.trading import credit, supervision
from trading import crypto

from .support import NOW, REGION, A, B, alerts_of, trade

Headers = dict[str, str]
SUPERVISOR = Actor("credit-supervisor", frozenset({"supervisor"}), REGION)


@pytest.fixture(autouse=True)
def _bid_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GGZY_BID_STORAGE", str(tmp_path / "bids"))


def blacklist(platform: Platform, code: str) -> None:
    credit.add_listing(platform, SUPERVISOR, {"uscc": code, "list": "black", "source": "信用中国",
                                              "reason": "串通投标受到行政处罚", "document_no": "杭建罚〔2026〕1号",
                                              "valid_from": "2026-01-01"})


def upload(client: FlaskClient, instance_id: str, who: Headers, ip: str = "36.1.1.1") -> Any:
    envelope = crypto.encrypt(os.urandom(crypto.KEY_LEN), b"bid" * 100)
    return client.put(f"/api/v1/trades/{instance_id}/bids", data=envelope, content_type="application/octet-stream",
                      headers={**who, "X-Device-Fingerprint": "fp-1"}, environ_base={"REMOTE_ADDR": ip})


def bid_trade(platform: Platform) -> str:
    instance_id = trade(platform)
    with platform.db.unit_of_work() as session:
        instance = steps.lock_instance(session, instance_id)  # as the step that sets a deadline would
        instance.variables = {**instance.variables, "bid_deadline": "2026-04-01T09:30:00+08:00"}
    return instance_id


def test_a_blacklisted_bidder_is_refused_and_each_attempt_is_evidence(
        client: FlaskClient, platform: Platform, make_user: Callable[..., Headers]) -> None:
    instance_id = bid_trade(platform)
    blacklist(platform, A)
    bidder = make_user("bidder", org=A, name="blacklisted_bidder")

    refused = upload(client, instance_id, bidder)
    assert refused.status_code == 403 and "杭建罚〔2026〕1号" in refused.get_json()["message"]
    assert upload(client, instance_id, bidder, ip="36.1.1.2").status_code == 403

    [alert] = alerts_of(platform, supervision.BLACKLISTED)
    assert alert["instance_id"] == instance_id and alert["region"] == REGION and alert["status"] == "open"
    assert alert["severity"] == "critical" and alert["score"] == 80 and A not in alert["subject"]
    assert alert["evidence"]["uscc"] == A
    assert [a["client_ip"] for a in alert["evidence"]["attempts"]] == ["36.1.1.1", "36.1.1.2"]
    assert {a["action"] for a in alert["evidence"]["attempts"]} == {"递交投标文件"}
    assert alert["evidence"]["listings"][0]["document_no"] == "杭建罚〔2026〕1号"


def test_a_bidder_in_good_standing_bids_without_an_alert(
        client: FlaskClient, platform: Platform, make_user: Callable[..., Headers]) -> None:
    instance_id = bid_trade(platform)
    blacklist(platform, A)
    assert upload(client, instance_id, make_user("bidder", org=B)).status_code == 201
    assert alerts_of(platform, supervision.BLACKLISTED) == []


def test_a_revoked_listing_no_longer_refuses(
        client: FlaskClient, platform: Platform, make_user: Callable[..., Headers]) -> None:
    instance_id = bid_trade(platform)
    blacklist(platform, A)
    listing = credit.list_listings(platform, SUPERVISOR, code=A)["items"][0]
    credit.revoke_listing(platform, SUPERVISOR, listing["id"], "处罚期满")
    assert upload(client, instance_id, make_user("bidder", org=A)).status_code == 201
    assert alerts_of(platform, supervision.BLACKLISTED) == []


def bond(client: FlaskClient, instance_id: str, staff: Headers, code: str) -> Any:
    return client.post(f"/api/v1/trades/{instance_id}/deposits", headers=staff, json={
        "bidder_uscc": code, "bidder_name": "某公司", "amount": "20000.00", "payer_account_no": "6222000011112222",
        "payer_bank": "工商银行", "payer_account_name": "某公司", "is_basic_account": True,
        "bank_reference": f"BR-{code}"})


def test_a_blacklisted_bidder_bond_is_refused_with_an_alert(
        client: FlaskClient, platform: Platform, make_user: Callable[..., Headers]) -> None:
    instance_id = trade(platform)
    blacklist(platform, A)
    staff = make_user("staff", region=REGION)
    assert bond(client, instance_id, staff, A).status_code == 403
    assert bond(client, instance_id, staff, B).status_code == 201
    [alert] = alerts_of(platform, supervision.BLACKLISTED)
    assert alert["evidence"]["uscc"] == A and alert["evidence"]["attempts"][0]["action"] == "缴纳保证金"


def test_a_blacklisted_supplier_offer_is_refused_with_an_alert(
        client: FlaskClient, platform: Platform, make_user: Callable[..., Headers]) -> None:
    from tests.trading.gp_offers.test_api import start

    platform.clock.set(NOW.replace(month=3, day=2))
    staff, agency = make_user("staff", region=REGION), make_user("agency", region=REGION)
    instance_id = start(client, staff)
    task = client.get("/api/v1/tasks", headers=agency).get_json()
    task_id = next(t["id"] for t in (task["items"] if isinstance(task, dict) else task)
                   if t["instance_id"] == instance_id)
    assert client.post(f"/api/v1/tasks/{task_id}/complete", headers=agency, json={"data": {
        "notice_issued_on": "2026-03-02", "response_deadline": "2026-03-05T09:30:00+08:00"}}).status_code == 200
    blacklist(platform, A)

    offers = f"/api/v1/trades/{instance_id}/offers"
    assert client.put(offers, headers=make_user("bidder", org=A), json={"amount": "1000.00"}).status_code == 403
    assert client.put(offers, headers=make_user("bidder", org=B), json={"amount": "1000.00"}).status_code == 200
    [alert] = alerts_of(platform, supervision.BLACKLISTED)
    assert alert["instance_id"] == instance_id and alert["evidence"]["attempts"][0]["action"] == "报价"


def test_both_lists_are_served_publicly_and_to_tokens(
        client: FlaskClient, platform: Platform, make_user: Callable[..., Headers]) -> None:
    platform.clock.set(NOW)
    blacklist(platform, A)
    credit.add_listing(platform, SUPERVISOR, {"uscc": B, "list": "red", "source": "住房和城乡建设厅",
                                              "reason": "守信激励", "valid_from": "2026-01-01"})
    for prefix, headers in (("/api/v1/public/credit", {}), ("/api/v1/credit", make_user("bidder", org=B))):
        black = client.get(f"{prefix}/black", headers=headers).get_json()
        red = client.get(f"{prefix}/red", headers=headers).get_json()
        assert [i["uscc"] for i in black["items"]] == [A] and [i["uscc"] for i in red["items"]] == [B]
        assert "created_by" not in red["items"][0]  # who keyed it stays internal
    assert client.get("/api/v1/credit/red").status_code == 401
