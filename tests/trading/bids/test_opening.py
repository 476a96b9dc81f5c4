"""Opening (bids.open), decryption within the window, and its close (bids.close_decryption) in a process."""
from __future__ import annotations

import os
from datetime import datetime, timedelta

import pytest

from domain.errors import Conflict
from services.service_tasks import ServiceCall
from services.trading import bids as bid_service
from tests.trading.bids.conftest import DEADLINE, Trade, sha, start_trade


def _bidders(trade: Trade, n: int) -> list:
    found = [trade.bidder() for _ in range(n)]
    for bidder in found:
        trade.submit(bidder)
    return found


def _open(trade: Trade) -> dict:
    trade.at(DEADLINE + timedelta(seconds=1))
    return trade.complete("collect")["variables"]


def test_opening_counts_the_bids_in_force_against_the_min_bidders_rule(trade):
    bidders = _bidders(trade, 4)
    trade.submit(bidders[0])  # a replacement still counts once
    assert trade.withdraw(bidders[1]).status_code == 200

    variables = _open(trade)

    assert variables["bid_count"] == 3 and variables["min_bidders"] == 3 and variables["opening_valid"] is True
    opened = datetime.fromisoformat(variables["bid_opened_at"])
    assert datetime.fromisoformat(variables["decrypt_until"]) == opened.replace(microsecond=0) + timedelta(minutes=60)


def test_too_few_bids_make_the_opening_invalid(trade):
    _bidders(trade, 2)
    variables = _open(trade)
    assert variables["bid_count"] == 2 and variables["opening_valid"] is False
    assert variables["decrypt_until"] is None


def test_the_rule_and_the_window_come_from_the_process(platform, client, make_user):
    trade = start_trade(platform, client, make_user, min_bidders_rule="cons.committee", decrypt_minutes=30)
    _bidders(trade, 4)
    variables = _open(trade)
    assert variables["min_bidders"] == 5 and variables["opening_valid"] is False
    trade = start_trade(platform, client, make_user, decrypt_minutes=30)
    _bidders(trade, 3)
    variables = _open(trade)
    until = datetime.fromisoformat(variables["decrypt_until"])
    assert until == datetime.fromisoformat(variables["bid_opened_at"]).replace(microsecond=0) + timedelta(minutes=30)


def test_opening_before_the_deadline_is_refused(trade):
    _bidders(trade, 3)
    trade.at(DEADLINE - timedelta(seconds=1))
    with pytest.raises(Conflict, match="未到"):
        trade.complete("collect")
    assert trade.variables().get("bid_count") is None


def test_decrypting_before_the_opening_is_refused(trade):
    [bidder] = _bidders(trade, 1)
    assert trade.decrypt(bidder).status_code == 409


def test_a_wrong_key_is_refused_and_the_right_one_decrypts(trade):
    bidders = _bidders(trade, 3)
    _open(trade)
    first = bidders[0]

    wrong = trade.decrypt(first, os.urandom(32))
    assert wrong.status_code == 422 and wrong.get_json()["error"] == "decryption_failed"
    assert trade.decrypt(first, fingerprint=None).status_code == 400
    assert trade.decrypt(first, "AAAA").status_code == 422  # not an AES-256 key
    assert trade.decrypt(bidders[1], bid_id=first.receipt["bid_id"]).status_code == 403
    right = trade.decrypt(first)

    assert right.status_code == 200, right.get_json()
    receipt = right.get_json()
    assert receipt["status"] == "decrypted" and receipt["plain_sha256"] == sha(first.plaintext)
    assert receipt["plain_size"] == len(first.plaintext)
    assert trade.decrypt(first).status_code == 409  # once only
    with trade.platform.db.sessions() as session:
        assert bid_service.plaintext_file(session, first.receipt["bid_id"]).read_bytes() == first.plaintext
    events = [(e.type, e.client_ip, e.device_fingerprint) for e in trade.bid_events() if "decrypt" in e.type]
    assert events == [("decrypt_failed", "198.51.100.9", "fp-2"), ("decrypted", "198.51.100.9", "fp-2")]


def test_decrypting_after_the_window_is_refused(trade):
    bidders = _bidders(trade, 3)
    until = datetime.fromisoformat(_open(trade)["decrypt_until"])
    trade.at(until - timedelta(seconds=5))
    assert trade.decrypt(bidders[0]).status_code == 200
    trade.at(until + timedelta(seconds=1))
    response = trade.decrypt(bidders[1])
    assert response.status_code == 409 and "解密时限" in response.get_json()["message"]


def test_closing_the_window_treats_undecrypted_bids_as_withdrawn(trade, make_user):
    bidders = _bidders(trade, 4)
    until = datetime.fromisoformat(_open(trade)["decrypt_until"])
    for bidder in bidders[:3]:
        assert trade.decrypt(bidder).status_code == 200
    with pytest.raises(Conflict, match="解密时限"):
        trade.complete("decrypting")  # one bid is still waiting and the window is open
    trade.at(until)

    variables = trade.complete("decrypting")["variables"]

    assert variables["decrypted_count"] == 3 and variables["bid_count_after_decryption"] == 3
    assert variables["not_decrypted_count"] == 1 and variables["enough_bidders_after_decryption"] is True
    late = next(b for b in trade.bids() if b.bidder_org == bidders[3].org)
    assert late.status == "not_decrypted" and "第三十一条" in (late.status_reason or "")
    with trade.platform.db.sessions() as session:
        assert bid_service.valid_bidders(session, trade.id) == [b.org for b in bidders[:3]]
        assert bid_service.valid_bidders(session, trade.id, lot="2") == []
    listing = trade.listing(make_user("supervisor", region="330100")).get_json()
    assert listing["valid_count"] == 3 and listing["opening"]["decrypted_count"] == 3
    assert trade.decrypt(bidders[3]).status_code == 409


def test_the_handlers_are_safe_to_run_twice(trade):
    _bidders(trade, 3)
    first = _open(trade)
    with trade.platform.db.unit_of_work() as session:
        from services import steps

        instance = steps.lock_instance(session, trade.id)
        call = ServiceCall(trade.platform, session, instance, "open", dict(instance.variables), None,
                           trade.platform.clock.now())
        again = bid_service.open_bids(call)
    assert {k: again[k] for k in ("bid_count", "opening_valid", "decrypt_until")} == {
        k: first[k] for k in ("bid_count", "opening_valid", "decrypt_until")}
