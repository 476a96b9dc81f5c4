"""How a received bid is recorded: judged at the moment its last byte arrived, together with those that wait."""
from __future__ import annotations

import io
import os
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from domain.access import Actor
from domain.errors import Invalid
from services import audit, steps
from services.trading import bid_storage
from services.trading import bids as bid_service
from tests.trading.bids.conftest import DEADLINE, Trade, files_under, sealed, sha, uscc


def _while_waiting(monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
    """Run action() once an upload has arrived whole and waits its turn to be recorded."""
    run = bid_service._BATCHES.run

    def delayed(*args: Any) -> Any:
        action()
        return run(*args)

    monkeypatch.setattr(bid_service._BATCHES, "run", delayed)


def test_a_body_cut_short_is_refused_and_leaves_nothing(trade, storage):
    envelope, _ = sealed(os.urandom(5000))
    environ = EnvironBuilder(trade.url, method="PUT", content_type="application/octet-stream",
                             headers={**trade.bidder().headers, "X-Device-Fingerprint": "fp-1"}).get_environ()
    environ.update({"wsgi.input": io.BytesIO(envelope[:3000]), "CONTENT_LENGTH": str(len(envelope))})

    response = trade.client.open(Request(environ))

    assert response.status_code == 400, response.get_json()
    assert "未完整上传" in response.get_json()["message"]
    assert files_under(storage) == [] and trade.bids() == []


def test_a_stored_file_and_the_folders_that_name_it_are_synced_before_it_counts_as_received(storage, monkeypatch):
    synced: list[Path] = []
    fsync = os.fsync

    def recording(descriptor: int) -> None:
        synced.append(Path(os.readlink(f"/proc/self/fd/{descriptor}")))
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording)
    stored = bid_storage.receive(io.BytesIO(b"x" * 100), 100)

    final = bid_storage.cipher_path(stored.key)
    assert synced[0].name == f"{stored.key}.part"  # the data, before the rename
    assert set(synced[1:]) == {final.parent, final.parent.parent, storage}  # the new name and new folders
    assert final.read_bytes() == b"x" * 100


def test_a_bid_that_arrived_in_time_is_recorded_though_it_waited_past_the_deadline(trade, monkeypatch):
    trade.at(DEADLINE - timedelta(seconds=1))
    _while_waiting(monkeypatch, lambda: trade.at(DEADLINE + timedelta(seconds=2)))
    bidder = trade.bidder()
    envelope, _ = sealed(os.urandom(3000))

    response = trade.put(bidder, envelope)

    assert response.status_code == 201, response.get_json()
    receipt = response.get_json()
    assert DEADLINE - timedelta(seconds=1) <= DEADLINE.fromisoformat(receipt["received_at"]) < DEADLINE
    assert receipt["sha256"] == sha(envelope) and receipt["status"] == "submitted"
    monkeypatch.undo()
    assert trade.complete("collect")["variables"]["bid_count"] == 1  # counted: it arrived before the deadline


def test_once_the_lot_is_opened_a_bid_still_waiting_is_refused(trade, storage, monkeypatch):
    trade.at(DEADLINE - timedelta(seconds=1))

    def open_the_lot() -> None:
        trade.at(DEADLINE + timedelta(seconds=2))
        trade.complete("collect")

    _while_waiting(monkeypatch, open_the_lot)

    response = trade.put(trade.bidder(), sealed(os.urandom(3000))[0])

    assert response.status_code == 409, response.get_json()
    assert "已开标" in response.get_json()["message"]
    assert files_under(storage) == [] and trade.bids() == []


def test_uploads_waiting_for_the_trade_are_recorded_together_each_with_its_outcome(trade: Trade, storage,
                                                                                   monkeypatch):
    p = trade.platform
    earlier = trade.bidder(uscc(901))
    earlier_receipt = trade.submit(earlier)
    batches: list[int] = []
    record = bid_service._record_uploads

    def counted(session: Any, *args: Any) -> Any:
        batches.append(len(args[-1]))
        return record(session, *args)

    monkeypatch.setattr(bid_service, "_record_uploads", counted)
    outcomes: dict[str, Any] = {}

    def upload(name: str, org: str, envelope: bytes) -> threading.Thread:
        actor = Actor(f"user-{name}", frozenset({"bidder"}), org=org, ip="203.0.113.9")

        def run() -> None:
            try:
                outcomes[name] = bid_service.upload(p, actor, trade.id, "1", io.BytesIO(envelope), len(envelope),
                                                    f"fp-{name}")
            except Exception as exc:  # noqa: BLE001 - the outcome under test
                outcomes[name] = exc

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def wait_for(condition: Any) -> None:
        deadline = time.monotonic() + 20
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.01)

    bodies = {name: sealed(os.urandom(2000))[0] for name in "abcd"}
    with p.db.unit_of_work() as session:  # another step holds the trade's lock
        steps.lock_instance(session, trade.id)
        threads = [upload("a", uscc(900), bodies["a"])]
        wait_for(lambda: batches == [1])  # its writer waits for the lock; the next ones queue behind it
        for n, (name, org) in enumerate([("b", uscc(902)), ("c", uscc(902)), ("d", earlier.org), ("e", uscc(903))]):
            threads.append(upload(name, org, bodies.get(name, b"too short")))
            wait_for(lambda n=n: bid_service._BATCHES.waiting() == n + 1)  # queued in this order
    for thread in threads:
        thread.join(timeout=30)

    assert batches == [1, 4]
    assert isinstance(outcomes["e"], Invalid)
    receipts = {name: outcomes[name] for name in "abcd"}
    assert {name: r["sha256"] for name, r in receipts.items()} == {name: sha(b) for name, b in bodies.items()}
    assert receipts["b"]["status"] == "superseded"  # the same bidder's later upload of the batch is in force
    in_force = {(b.bidder_org, b.receipt_no): b for b in trade.bids() if b.status == "submitted"}
    assert set(in_force) == {(uscc(900), receipts["a"]["receipt_no"]), (uscc(902), receipts["c"]["receipt_no"]),
                             (earlier.org, receipts["d"]["receipt_no"])}
    replaced = {e.data["receipt_no"]: e.data["replaces_receipt_no"] for e in trade.bid_events() if e.type == "replaced"}
    assert replaced == {receipts["c"]["receipt_no"]: receipts["b"]["receipt_no"],
                        receipts["d"]["receipt_no"]: earlier_receipt["receipt_no"]}
    assert len(files_under(storage)) == 5  # every file but the refused one, the superseded ones kept
    with p.db.sessions() as session:
        checked, broken = audit.verify(session, trade.id)
    assert broken is None and checked >= 5
