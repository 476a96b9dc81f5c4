"""Uploading, replacing and withdrawing sealed bids through the API, against the server clock."""
from __future__ import annotations

import io
import json
import os
import sys
import types
from datetime import timedelta

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from domain.access import Actor
from domain.errors import Forbidden
from services import instances
from tests.trading.bids.conftest import BEFORE, DEADLINE, STAFF, files_under, sealed, sha


def _error(response, status):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    document = response.get_json()
    assert {"error", "message", "errors"} <= set(document)
    return document


def test_an_upload_returns_a_receipt_with_the_hash_and_the_server_time(trade, storage):
    bidder = trade.bidder()
    envelope, _ = sealed(os.urandom(5000))

    response = trade.put(bidder, envelope)

    assert response.status_code == 201, response.get_json()
    receipt = response.get_json()
    assert receipt["sha256"] == sha(envelope) and receipt["size"] == len(envelope)
    assert receipt["status"] == "submitted" and receipt["receipt_no"].startswith("TB")
    received = abs((DEADLINE.fromisoformat(receipt["received_at"]) - BEFORE).total_seconds())
    assert received < 30 and receipt["received_at"].endswith("+08:00")
    # The file is stored under a random name, never the bidder's, with exactly the bytes sent.
    [stored] = files_under(storage)
    assert stored.read_bytes() == envelope and bidder.org not in str(stored)
    mine = trade.mine(bidder).get_json()
    assert mine["current"]["receipt_no"] == receipt["receipt_no"]
    assert mine["bid_deadline"] == DEADLINE.isoformat()
    assert trade.mine(trade.bidder()).get_json()["receipts"] == []  # another bidder sees nothing of it


def test_upload_and_withdraw_record_ip_and_device_and_audit_without_names(trade, make_user):
    bidder = trade.bidder()
    receipt = trade.submit(bidder)
    assert trade.withdraw(bidder).status_code == 200

    events = trade.bid_events()
    assert [(e.type, e.client_ip, e.device_fingerprint, e.bidder_org) for e in events] == [
        ("uploaded", "203.0.113.7", "fp-1", bidder.org), ("withdrawn", "127.0.0.1", "fp-1", bidder.org)]
    username = events[0].actor
    assert username and username.startswith("bidder")
    supervisor = make_user("supervisor", region="330100")
    chain = trade.client.get(f"/api/v1/process-instances/{trade.id}/events", headers=supervisor).get_json()
    sealed_events = [e for e in chain if e["type"].startswith("bid.")]
    assert [e["type"] for e in sealed_events] == ["bid.uploaded", "bid.withdrawn"]
    text = json.dumps(sealed_events, ensure_ascii=False)
    assert receipt["receipt_no"] in text
    assert bidder.org not in text and username not in text and "203.0.113.7" not in text
    assert {e["actor"] for e in sealed_events} == {"sealed-bidder"}


def test_a_missing_device_fingerprint_is_refused_and_nothing_is_kept(trade, storage):
    envelope, _ = sealed(b"x" * 100)
    body = _error(trade.put(trade.bidder(), envelope, fingerprint=None), 400)
    assert "X-Device-Fingerprint" in body["message"]
    assert files_under(storage) == [] and trade.bids() == []


def test_only_a_bidder_with_an_organisation_may_upload(trade, make_user):
    envelope, _ = sealed(b"x")
    _error(trade.put(make_user("bidder"), envelope), 403)
    _error(trade.put(make_user("staff", region="330100"), envelope), 403)
    _error(trade.put(make_user("admin"), envelope), 403)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=1)])
def test_at_or_after_the_deadline_an_upload_is_refused(trade, storage, offset):
    trade.at(DEADLINE + offset)
    envelope, _ = sealed(b"late")
    body = _error(trade.put(trade.bidder(), envelope), 409)
    assert "2026-12-01 09:30:00" in body["message"] and "已过" in body["message"]
    assert files_under(storage) == []


def test_an_upload_that_finishes_after_the_deadline_is_refused(trade, storage):
    trade.at(DEADLINE - timedelta(seconds=2))
    envelope, _ = sealed(os.urandom(3 * 1024 * 1024))
    bidder = trade.bidder()

    class SlowBody:
        """A body whose last megabytes arrive after the deadline."""

        def __init__(self) -> None:
            self.sent = 0

        def read(self, n: int = -1) -> bytes:
            if self.sent >= 1024 * 1024 and trade.platform.clock.now() < DEADLINE:
                trade.at(DEADLINE + timedelta(milliseconds=200))
            part = envelope[self.sent:self.sent + (len(envelope) if n < 0 else n)]
            self.sent += len(part)
            return part

    environ = EnvironBuilder(trade.url, method="PUT", content_type="application/octet-stream",
                             headers={**bidder.headers, "X-Device-Fingerprint": "fp-1"}).get_environ()
    environ.update({"wsgi.input": SlowBody(), "CONTENT_LENGTH": str(len(envelope))})
    body = _error(trade.client.open(Request(environ)), 409)
    assert "已过" in body["message"]
    assert files_under(storage) == [] and trade.bids() == []


def test_a_postponed_deadline_is_read_at_each_request(trade):
    trade.set_variables(bid_deadline="2026-12-10")  # a late clarification moved it: 24:00 of 10 December
    trade.at(DEADLINE + timedelta(days=3))
    trade.submit(trade.bidder())
    trade.at(DEADLINE.replace(day=11, hour=0, minute=0))
    _error(trade.put(trade.bidder(), sealed(b"x")[0]), 409)


def test_uploading_again_replaces_the_bid_and_keeps_both_receipts(trade, storage):
    bidder = trade.bidder()
    first = trade.submit(bidder)
    second = trade.submit(bidder)

    mine = trade.mine(bidder).get_json()
    assert mine["current"]["receipt_no"] == second["receipt_no"]
    assert {r["receipt_no"]: r["status"] for r in mine["receipts"]} == {
        first["receipt_no"]: "superseded", second["receipt_no"]: "submitted"}
    assert len(files_under(storage)) == 2  # the superseded file is kept
    assert [b.status for b in trade.bids()].count("submitted") == 1


def test_withdraw_before_the_deadline_and_not_after(trade):
    bidder = trade.bidder()
    trade.submit(bidder)
    response = trade.withdraw(bidder)
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    assert trade.mine(bidder).get_json()["current"] is None
    _error(trade.withdraw(bidder), 404)
    trade.submit(bidder)  # a withdrawn bidder may bid again before the deadline
    trade.at(DEADLINE)
    body = _error(trade.withdraw(bidder), 409)
    assert "撤回" in body["message"]


def test_a_trade_that_is_not_running_takes_no_bids(trade):
    instances.change_status(trade.platform, STAFF, trade.id, "suspend")
    body = _error(trade.put(trade.bidder(), sealed(b"x")[0]), 409)
    assert "suspended" in body["message"]
    _error(trade.client.put("/api/v1/trades/nope/bids", data=b"x" * 40,
                            headers={**trade.bidder().headers, "X-Device-Fingerprint": "f"}), 404)


def test_a_file_too_small_to_be_an_envelope_is_refused(trade, storage):
    _error(trade.put(trade.bidder(), b"0123456789"), 422)
    assert files_under(storage) == []


def test_a_file_over_the_limit_is_refused_with_413(trade, storage, monkeypatch):
    monkeypatch.setenv("GGZY_BID_MAX_BYTES", "4096")
    body = _error(trade.put(trade.bidder(), os.urandom(5000)), 413)
    assert body["error"] == "payload_too_large" and "上限" in body["message"]
    # Without a Content-Length (chunked), the limit is enforced while reading.
    environ = EnvironBuilder(trade.url, method="PUT", content_type="application/octet-stream",
                             headers={**trade.bidder().headers, "X-Device-Fingerprint": "f"}).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": io.BytesIO(os.urandom(9000)), "wsgi.input_terminated": True})
    _error(trade.client.open(Request(environ)), 413)
    assert files_under(storage) == [] and trade.bids() == []


def test_a_blacklisted_bidder_is_refused(trade, monkeypatch, storage):
    listed = trade.bidder()

    def require_not_blacklisted(session, uscc, now):
        if uscc == listed.org:
            raise Forbidden(f"{uscc} 已被列入信用黑名单（测试），不得投标")

    fake = types.ModuleType("services.trading.entities")
    fake.require_not_blacklisted = require_not_blacklisted  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "services.trading.entities", fake)

    body = _error(trade.put(listed, sealed(b"x")[0]), 403)
    assert "黑名单" in body["message"]
    assert files_under(storage) == []
    trade.submit(trade.bidder())


def test_a_bidder_on_the_credit_blacklist_is_refused_naming_the_listing(trade, storage):
    from services.trading import credit

    listed = trade.bidder()
    supervisor = Actor("credit-supervisor", frozenset({"supervisor"}), "330100")
    credit.add_listing(trade.platform, supervisor, {
        "uscc": listed.org, "list": "black", "source": "浙江省发展和改革委员会", "document_no": "浙发改信用〔2026〕7号",
        "reason": "串通投标"})

    body = _error(trade.put(listed, sealed(b"x")[0]), 403)

    assert "浙发改信用〔2026〕7号" in body["message"]
    assert files_under(storage) == [] and trade.bids() == []
