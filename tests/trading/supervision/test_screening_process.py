"""Collusion screening seeded through construction_open_tender over HTTP: the opening screens bonds, devices,
addresses, files and contacts, the ranking screens prices; a clean trade raises nothing."""
from __future__ import annotations

import base64
import os
from collections.abc import Callable
from typing import Any

import pytest

from domain.access import Actor
from services.platform import Platform
from services.trading import entities
from tests.e2e.conftest import http  # noqa: F401  (the fixture: app with the embedded timer worker)
from tests.e2e.cot_support import SPECIALTY, Bidder, Run
from trading import crypto

from .support import alerts_of

ADMIN = Actor("screen-admin", frozenset({"admin"}))


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> Run:  # noqa: F811
    return Run.started(http, make_user)


def pay(run: Run, who: Bidder, account: str) -> None:
    run.call("POST", f"/api/v1/trades/{run.id}/deposits", "staff", {
        "bidder_uscc": who.org, "bidder_name": who.name, "amount": 200_000, "payer_account_no": account,
        "payer_bank": "中国工商银行杭州分行", "payer_account_name": who.name, "is_basic_account": True,
        "bank_reference": f"BR-{who.org}"}, expect=201)


def upload(run: Run, who: Bidder, envelope: bytes, device: str, ip: str) -> None:
    who.receipt = run.call("PUT", f"/api/v1/trades/{run.id}/bids", {**who.headers, "X-Device-Fingerprint": device},
                           expect=201, data=envelope, content_type="application/octet-stream",
                           environ_base={"REMOTE_ADDR": ip})


def decrypt(run: Run, who: Bidder, device: str, ip: str) -> None:
    run.call("POST", f"/api/v1/trades/{run.id}/bids/{who.receipt['bid_id']}/decrypt",
             {**who.headers, "X-Device-Fingerprint": device}, {"key": base64.b64encode(who.key).decode()},
             environ_base={"REMOTE_ADDR": ip})


def contact(platform: Platform, who: Bidder, phone: str) -> None:
    entities.register_organisation(platform, ADMIN, {"uscc": who.org, "name": who.name, "roles": ["bidder"]})
    entities.add_contact(platform, ADMIN, who.org, {"name": "王经理", "phone": phone})


def sealed(who: Bidder) -> bytes:
    who.key = os.urandom(crypto.KEY_LEN)
    return crypto.encrypt(who.key, f"{who.name}投标文件".encode() * 50)


def through_ranking(run: Run, bidders: list[Bidder], devices: list[str], ips: list[str],
                    prices: list[int]) -> list[dict[str, Any]]:
    """Open, decrypt and rank; returns the collusion alerts raised at the opening."""
    view = run.set_clock_and_wait("2026-03-23T09:30:00+08:00", lambda v: "decrypt_until" in v["variables"])
    run.set_clock("2026-03-23T09:40:00+08:00")
    for who, device, ip in zip(bidders, devices, ips, strict=True):
        decrypt(run, who, device, ip)
    until = view["variables"]["decrypt_until"]
    run.advance(until.replace("10:40:00", "10:40:01"), "抽取评标专家")
    at_opening = alerts_of(run_platform(run), "collusion.", run.id)
    run.add_experts(5)
    run.complete("抽取评标专家", "staff", {"expert_specialties": [SPECIALTY], "evaluation_date": "2026-03-23"})
    run.evaluate({b.org: (price, 50 - i) for i, (b, price) in enumerate(zip(bidders, prices, strict=True))})
    run.complete("评标结束", "staff", {"report_received_on": "2026-03-23"})
    return at_opening


def run_platform(run: Run) -> Platform:
    return run.http.application.extensions["ggzy"]  # type: ignore[no-any-return]


def test_each_indicator_fires_on_its_evidence(run: Run, platform: Platform) -> None:
    run.register("COT-COLLUSION")
    run.publish()
    run.set_clock("2026-03-10T10:00:00+08:00")
    a, b, c = run.bidder(), run.bidder(), run.bidder()
    pay(run, a, "6222 0210 0000 0001")
    pay(run, b, "6222021000000001")  # the same account as a's
    pay(run, c, "6222021000000003")
    upload(run, a, sealed(a), "fp-shared", "36.1.1.1")
    copied = sealed(b)
    upload(run, b, copied, "fp-shared", "36.1.1.2")  # a's laptop
    c.key = b.key
    upload(run, c, copied, "fp-c", "36.1.1.1")  # b's very file, from a's address
    contact(platform, a, "0571-88881234")
    contact(platform, c, "057188881234")
    contact(platform, b, "13900001111")

    at_opening = through_ranking(run, [a, b, c], ["fp-shared", "fp-shared", "fp-c"],
                                 ["36.1.1.1", "36.1.1.2", "36.1.1.1"], [10_000_000, 10_100_000, 10_200_000])

    def pairs(found: list[dict[str, Any]]) -> dict[str, list[str]]:
        return {x["kind"].removeprefix("collusion."): sorted(y["uscc"] for y in x["evidence"]["bidders"])
                for x in found}

    assert pairs(at_opening) == {
        "same_deposit_account": sorted([a.org, b.org]), "same_device": sorted([a.org, b.org]),
        "same_ip": sorted([a.org, c.org]), "identical_document": sorted([b.org, c.org]),
        "same_contact": sorted([a.org, c.org]),
    }
    after_ranking = alerts_of(platform, "collusion.", run.id)
    assert pairs(after_ranking) == {**pairs(at_opening), "price_progression": sorted([a.org, b.org, c.org])}
    assert all(x["status"] == "open" and x["region"] == "330100" for x in after_ranking)
    # the trade goes on: the screening never decides anything
    assert "公示中标候选人" in [t["name"] for t in run.view()["tasks"]]
    # the supervisor reads them through the API, highest score first; the tenderer cannot
    listed = run.call("GET", f"/api/v1/alerts?instance_id={run.id}&kind=collusion.*&sort=score", "supervisor")
    assert [x["score"] for x in listed] == sorted((x["score"] for x in listed), reverse=True)
    assert listed[0]["kind"] == "collusion.identical_document"
    run.call("GET", "/api/v1/alerts", "purchaser", expect=403)
    # nothing about the screening reaches the trade's variables, which the parties read
    assert not [k for k in run.view("agency")["variables"] if "collusion" in k or "screen" in k]


def test_a_clean_trade_raises_no_collusion_alert(run: Run, platform: Platform) -> None:
    run.register("COT-CLEAN")
    run.publish()
    run.set_clock("2026-03-10T10:00:00+08:00")
    bidders = [run.bidder() for _ in range(3)]
    devices, ips = ["fp-1", "fp-2", "fp-3"], ["36.1.1.1", "36.1.1.2", "36.1.1.3"]
    for n, (who, device, ip) in enumerate(zip(bidders, devices, ips, strict=True)):
        pay(run, who, f"62220210000000{n}")
        upload(run, who, sealed(who), device, ip)
        contact(platform, who, f"1390000111{n}")

    assert through_ranking(run, bidders, devices, ips, [10_000_000, 10_350_000, 10_420_000]) == []
    assert alerts_of(platform, "collusion.", run.id) == []
