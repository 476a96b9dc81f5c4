"""Following an auction through the real server (waitress, as `ggzy serve`): the stream delivers a bid while
it is open, and a long poll returns as soon as the bid is persisted."""
from __future__ import annotations

import http.client
import json
import threading
from typing import Any

from services.trading import auctions
from tests.trading.auctions.conftest import at, bidder, uscc


def _messages(response: http.client.HTTPResponse) -> Any:
    """Yield (id, event, data) of each server-sent event as it arrives."""
    fields: dict[str, str] = {}
    while True:
        line = response.readline().decode()
        if not line:
            return
        line = line.rstrip("\n")
        if line == "":
            if "event" in fields:
                yield fields.get("id"), fields["event"], json.loads(fields["data"])
            fields = {}
        elif not line.startswith(":") and ": " in line:
            key, value = line.split(": ", 1)
            fields[key] = value


def test_the_stream_delivers_a_bid_placed_while_it_is_open(server, platform, open_auction, make_user):
    aid = open_auction()["variables"]["auction_id"]
    headers = make_user("bidder", org=uscc(1))
    platform.clock.set(at(2026, 10, 10, 9, 30))
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    connection.request("GET", f"/api/v1/auctions/{aid}/stream?seconds=5", headers=headers)
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream")
    stream = _messages(response)
    first = next(stream)
    assert first[1] == "state" and first[2]["seq"] == 0 and first[2]["me"]["leading"] is False
    auctions.place_bid(platform, bidder(2), aid, "1000000")
    bid = next(stream)
    assert bid[:2] == ("1", "bid") and bid[2]["amount"] == "1000000.00" and bid[2]["mine"] is False
    state = next(stream)
    assert state[1] == "state" and state[2]["current_price"] == "1000000.00"
    connection.close()


def test_a_long_poll_returns_when_the_bid_is_persisted(server, platform, open_auction, make_user):
    aid = open_auction()["variables"]["auction_id"]
    headers = make_user("bidder", org=uscc(1))
    platform.clock.set(at(2026, 10, 10, 9, 30))
    answer: dict[str, Any] = {}

    def poll() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
        connection.request("GET", f"/api/v1/auctions/{aid}/events?after=0&wait=20", headers=headers)
        answer["body"] = json.loads(connection.getresponse().read())

    follower = threading.Thread(target=poll)
    follower.start()
    auctions.place_bid(platform, bidder(3), aid, "1000000")
    follower.join(timeout=25)
    assert not follower.is_alive()
    assert [e["seq"] for e in answer["body"]["events"]] == [1]
