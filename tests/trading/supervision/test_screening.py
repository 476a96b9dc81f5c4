"""supervision.screen_bids: each collusion indicator raises an alert on its evidence and stays silent without it."""
from __future__ import annotations

from typing import Any

import pytest

from persistence.models import ProcessInstance
from services.platform import Platform
from services.service_tasks import ServiceCall
from services.trading import supervision

from .support import A, B, C, D, add_bid, add_contact, add_deposit, add_offer, alerts_of, staff, trade


def screen(platform: Platform, instance_id: str, lot: str = "1") -> list[dict[str, Any]]:
    """Run the service task as a process step would, then return the trade's collusion alerts."""
    with platform.db.unit_of_work() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        result = supervision.screen_bids_task(ServiceCall(platform, session, instance, "Service_ScreenBids",
                                                          {"lot": lot}, staff(), platform.clock.now()))
    assert result is None  # nothing about the screening goes back into the trade's variables
    return alerts_of(platform, "collusion.", instance_id)


def clean_bids(platform: Platform, instance_id: str) -> None:
    for n, org in enumerate((A, B, C)):
        add_bid(platform, instance_id, org, ip=f"10.0.0.{n + 1}")
        add_deposit(platform, instance_id, org, f"62220000000{n}")
        add_contact(platform, org, phone=f"1380000000{n}", email=f"bid{n}@example.com")


@pytest.fixture
def trade_id(platform: Platform) -> str:
    return trade(platform)


def test_clean_bids_raise_nothing(platform: Platform, trade_id: str) -> None:
    clean_bids(platform, trade_id)
    add_offer(platform, trade_id, A, "100.00")
    add_offer(platform, trade_id, B, "150.00")
    add_offer(platform, trade_id, C, "300.00")
    assert screen(platform, trade_id) == []


def test_the_same_deposit_account_across_bidders(platform: Platform, trade_id: str) -> None:
    for org in (A, B, C):
        add_bid(platform, trade_id, org)
    add_deposit(platform, trade_id, A, "6222 0000 1111")
    add_deposit(platform, trade_id, B, "6222-0000-1111")  # the same account, printed differently
    add_deposit(platform, trade_id, C, "6222 0000 2222")

    [alert] = screen(platform, trade_id)
    assert alert["kind"] == "collusion.same_deposit_account" and alert["severity"] == "critical"
    assert alert["score"] == 85 and alert["status"] == "open" and alert["region"] == "330100"
    assert [b["uscc"] for b in alert["evidence"]["bidders"]] == [A, B]
    assert alert["evidence"]["value"] == "622200001111"
    assert alert["evidence"]["citation"] == "《招标投标法实施条例》第四十条第（六）项"
    assert A not in alert["subject"] and "本预警不自动否决" in alert["message"]


def test_a_bond_payer_who_did_not_bid_is_not_a_bidder(platform: Platform, trade_id: str) -> None:
    add_bid(platform, trade_id, A)
    add_bid(platform, trade_id, B)
    add_deposit(platform, trade_id, A, "6222")
    add_deposit(platform, trade_id, D, "6222")  # paid a bond, never bid
    assert screen(platform, trade_id) == []


def test_the_same_device_across_bidders(platform: Platform, trade_id: str) -> None:
    add_bid(platform, trade_id, A, device="fp-laptop-1")
    add_bid(platform, trade_id, B, device="fp-laptop-1")
    add_bid(platform, trade_id, C, device="fp-laptop-2")
    [alert] = screen(platform, trade_id)
    assert alert["kind"] == "collusion.same_device" and alert["evidence"]["value"] == "fp-laptop-1"
    assert [b["uscc"] for b in alert["evidence"]["bidders"]] == [A, B]


def test_the_same_ip_across_bidders_but_not_loopback(platform: Platform, trade_id: str) -> None:
    add_bid(platform, trade_id, A, ip="36.1.2.3")
    add_bid(platform, trade_id, B, ip="36.1.2.3")
    add_bid(platform, trade_id, C, ip="127.0.0.1")
    add_bid(platform, trade_id, D, ip="127.0.0.1")  # a proxy's address says nothing about the bidders
    [alert] = screen(platform, trade_id)
    assert alert["kind"] == "collusion.same_ip" and alert["severity"] == "info" and alert["score"] == 40
    assert [b["uscc"] for b in alert["evidence"]["bidders"]] == [A, B]


def test_a_withdrawn_bid_does_not_count(platform: Platform, trade_id: str) -> None:
    add_bid(platform, trade_id, A, device="fp-1")
    add_bid(platform, trade_id, B, device="fp-1", status="withdrawn")
    assert screen(platform, trade_id) == []


def test_identical_bid_documents(platform: Platform, trade_id: str) -> None:
    add_bid(platform, trade_id, A, plain="ab" * 32)
    add_bid(platform, trade_id, B, plain="ab" * 32)
    add_bid(platform, trade_id, C)
    [alert] = screen(platform, trade_id)
    assert alert["kind"] == "collusion.identical_document" and alert["score"] == 90
    assert alert["evidence"]["value"] == "ab" * 32


def test_prices_in_regular_progression(platform: Platform, trade_id: str) -> None:
    add_offer(platform, trade_id, A, "980000.00")
    add_offer(platform, trade_id, B, "990000.00")
    add_offer(platform, trade_id, C, "1000000.00")
    add_offer(platform, trade_id, D, "1234567.00")
    [alert] = screen(platform, trade_id)
    assert alert["kind"] == "collusion.price_progression" and alert["score"] == 65
    details = alert["evidence"]["details"]
    assert details["kind"] == "arithmetic" and details["step"] == "10000.00"
    assert [p["bidder"] for p in details["prices"]] == [A, B, C]


def test_only_the_last_round_of_offers_counts(platform: Platform, trade_id: str) -> None:
    for org, amount in ((A, "100.00"), (B, "200.00"), (C, "300.00")):
        add_offer(platform, trade_id, org, amount, round_no=1)
    for org, amount in ((A, "100.00"), (B, "170.00"), (C, "300.00")):
        add_offer(platform, trade_id, org, amount, round_no=2)
    assert screen(platform, trade_id) == []


def test_the_same_contact_across_bidders(platform: Platform, trade_id: str) -> None:
    for org in (A, B, C):
        add_bid(platform, trade_id, org)
    add_contact(platform, A, phone="0571-8888 1234")
    add_contact(platform, C, phone="057188881234", email="c@example.com")
    add_contact(platform, B, email="b@example.com")
    [alert] = screen(platform, trade_id)
    assert alert["kind"] == "collusion.same_contact" and alert["evidence"]["value"] == "057188881234"
    assert [b["uscc"] for b in alert["evidence"]["bidders"]] == [A, C]
    assert [b["name"] for b in alert["evidence"]["bidders"]] == [f"投标公司{A[-4:]}", f"投标公司{C[-4:]}"]


def test_procurement_findings_cite_order_87(platform: Platform) -> None:
    trade_id = trade(platform, key="gp_screen_trade", business_key="S-GP")
    add_bid(platform, trade_id, A, device="fp")
    add_bid(platform, trade_id, B, device="fp")
    [alert] = screen(platform, trade_id)
    assert alert["evidence"]["citation"] == "财政部令第87号第三十七条第（一）（二）项"


def test_screening_again_keeps_one_alert_and_widens_its_evidence(platform: Platform, trade_id: str) -> None:
    add_bid(platform, trade_id, A, device="fp")
    add_bid(platform, trade_id, B, device="fp")
    [first] = screen(platform, trade_id)
    add_bid(platform, trade_id, C, device="fp")
    [again] = screen(platform, trade_id)
    assert again["id"] == first["id"] and again["score"] == 75
    assert [b["uscc"] for b in again["evidence"]["bidders"]] == [A, B, C]
    assert screen(platform, trade_id) == [again]


def test_lots_are_screened_apart(platform: Platform, trade_id: str) -> None:
    add_bid(platform, trade_id, A, device="fp", lot="1")
    add_bid(platform, trade_id, B, device="fp", lot="2")
    assert screen(platform, trade_id, lot="1") == [] and screen(platform, trade_id, lot="2") == []
