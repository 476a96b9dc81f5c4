"""Fifty bidders bidding at once through real threads against the app served by waitress, as `ggzy serve`
serves it: no lost bid, one order, one result, and nothing accepted at or after the close time."""
from __future__ import annotations

import http.client
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from persistence.models_auctions import AuctionBid, AuctionParticipant
from services import instances, timers
from tests.trading.auctions.conftest import REGION, STAFF, at, uscc

BIDDERS = 50
ACKED_BEFORE_CLOSE = 40
MAX_ATTEMPTS = 60


class Http:
    """One keep-alive HTTP/1.1 connection to the test server, JSON in and out."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {**headers, "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        self.connection.request(method, path, json.dumps(body) if body is not None else None, self.headers)
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"null")


def test_fifty_concurrent_bidders_lose_no_bid_and_nothing_passes_the_close(server, platform, open_auction, make_user):
    view = open_auction(bidders=tuple(range(1, BIDDERS + 1)))
    aid = view["variables"]["auction_id"]
    headers = {n: make_user("bidder", org=uscc(n)) for n in range(1, BIDDERS + 1)}
    platform.clock.set(at(2026, 10, 10, 9, 30))
    start = threading.Barrier(BIDDERS + 1)
    acked: list[tuple[int, dict[str, Any]]] = []
    statuses: list[int] = []
    lock = threading.Lock()
    enough = threading.Event()

    def bidder(n: int) -> None:
        client = Http(server, headers[n])
        rng = random.Random(n)
        start.wait()
        for _ in range(MAX_ATTEMPTS):
            _, state = client.call("GET", f"/api/v1/auctions/{aid}")
            if state["status"] == "closed":
                break
            amount = Decimal(state["minimum_bid"]) + 10000 * rng.choice((0, 0, 1, 2))
            status, body = client.call("POST", f"/api/v1/auctions/{aid}/bids", {"amount": str(amount)})
            with lock:
                statuses.append(status)
                if status == 201:
                    acked.append((n, body))
                    if len(acked) >= ACKED_BEFORE_CLOSE:
                        enough.set()

    with ThreadPoolExecutor(BIDDERS) as pool:
        futures = [pool.submit(bidder, n) for n in range(1, BIDDERS + 1)]
        start.wait()
        enough.wait(timeout=120)
        # The close time arrives while bidders are still bidding; the close task runs at once.
        platform.clock.set(at(2026, 10, 10, 10, 0))
        timers.fire_due(platform)
        for future in futures:
            future.result()

    assert set(statuses) <= {201, 409, 422}, sorted(set(statuses))
    assert len(acked) >= ACKED_BEFORE_CLOSE
    with platform.db.sessions() as session:
        rows = session.execute(select(AuctionBid, AuctionParticipant.bidder_uscc)
                               .join(AuctionParticipant, AuctionParticipant.id == AuctionBid.participant_id)
                               .where(AuctionBid.auction_id == aid).order_by(AuctionBid.seq)).all()
    bids = [bid for bid, _ in rows]
    # Every acknowledged bid is persisted as acknowledged, and nothing else is.
    assert sorted((b["seq"], b["amount"], uscc(n)) for n, b in acked) == [
        (b.seq, f"{b.amount:.2f}", who) for b, who in rows]
    assert [b.seq for b in bids] == list(range(1, len(bids) + 1))
    assert all(a.amount < b.amount for a, b in zip(bids, bids[1:], strict=False))
    assert all(a.placed_at <= b.placed_at for a, b in zip(bids, bids[1:], strict=False))
    assert all(a.participant_id != b.participant_id for a, b in zip(bids, bids[1:], strict=False))
    assert all(b.placed_at < at(2026, 10, 10, 10, 0) for b in bids)

    result = instances.get(platform, STAFF, view["id"])["variables"]
    assert result["auction_closed"] is True and result["bid_count"] == len(bids)
    assert (result["winner_uscc"], result["award_amount"]) == (rows[-1][1], f"{bids[-1].amount:.2f}")
    late = Http(server, headers[1]).call("POST", f"/api/v1/auctions/{aid}/bids", {"amount": "99990000"})
    assert late[0] == 409
    _, state = Http(server, make_user("staff", region=REGION)).call("GET", f"/api/v1/auctions/{aid}")
    assert state["seq"] == len(bids) + 1 and state["result"]["award_amount"] == result["award_amount"]
