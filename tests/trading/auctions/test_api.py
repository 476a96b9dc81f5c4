"""The auction endpoints: access by role, region and participation; secrecy of names and the reserve."""
from __future__ import annotations

import json
import threading

import pytest

from services import timers
from services.trading import auctions
from tests.trading.auctions.conftest import REGION, at, auction_terms, bidder, uscc

RESERVE = "1234560.00"


@pytest.fixture
def trade(platform, open_auction, make_user):
    """An open auction with a secret reserve, three qualified bidders, and headers of everyone involved."""
    view = open_auction(auction_terms(reserve_price=RESERVE))
    users = {n: make_user("bidder", org=uscc(n)) for n in (1, 2, 3, 9)}
    users.update(staff=make_user("staff", region=REGION), other_staff=make_user("staff", region="440100"),
                 supervisor=make_user("supervisor", region="330000"), purchaser=make_user("purchaser", region=REGION, org=uscc(50)),
                 other_purchaser=make_user("purchaser", region=REGION, org=uscc(51)))
    platform.clock.set(at(2026, 10, 10, 9, 30))
    return view["id"], view["variables"]["auction_id"], users


def _bid(client, users, n, aid, amount):
    return client.post(f"/api/v1/auctions/{aid}/bids", json={"amount": amount}, headers=users[n])


def _close(platform):
    platform.clock.set(at(2026, 10, 10, 10, 0, 1))
    timers.fire_due(platform)


def test_bid_answers_201_with_the_persisted_bid_and_the_contract_status_codes(client, trade):
    _, aid, users = trade
    created = _bid(client, users, 1, aid, "1000000.00")
    assert created.status_code == 201
    assert created.json["seq"] == 1 and created.json["amount"] == "1000000.00" and created.json["paddle"]
    assert _bid(client, users, 2, aid, "1005000").status_code == 422
    assert _bid(client, users, 2, aid, "1000000").json["error"] == "invalid"
    assert _bid(client, users, 1, aid, "1010000").status_code == 409
    assert _bid(client, users, 9, aid, "1010000").status_code == 403
    assert _bid(client, users, "staff", aid, "1010000").status_code == 403
    assert _bid(client, users, 2, aid, "abc").status_code == 400
    assert client.post(f"/api/v1/auctions/{aid + 99}/bids", json={"amount": "1"}, headers=users[2]).status_code == 404


def test_a_bid_after_the_close_time_is_409_with_a_chinese_message(client, platform, trade):
    _, aid, users = trade
    platform.clock.set(at(2026, 10, 10, 10, 0))
    refused = _bid(client, users, 1, aid, "1000000")
    assert refused.status_code == 409 and "截止" in refused.json["message"]


def test_viewers_by_role_region_and_participation(client, trade):
    instance_id, aid, users = trade
    for who, status in ((1, 200), ("staff", 200), ("supervisor", 200), ("purchaser", 200), (9, 403),
                        ("other_staff", 403), ("other_purchaser", 403)):
        assert client.get(f"/api/v1/auctions/{aid}", headers=users[who]).status_code == status, who
    listed = client.get(f"/api/v1/process-instances/{instance_id}/auctions", headers=users[1])
    assert listed.status_code == 200 and [a["id"] for a in listed.json] == [aid]
    assert client.get(f"/api/v1/process-instances/{instance_id}/auctions", headers=users[9]).status_code == 403
    assert client.get(f"/api/v1/auctions/{aid}").status_code == 401


def test_bidders_see_paddles_and_their_own_standing_never_names_or_the_reserve(client, trade):
    _, aid, users = trade
    _bid(client, users, 1, aid, "1000000")
    mine = _bid(client, users, 2, aid, "1010000").json
    for who in (1, 2, "staff", "purchaser", "supervisor"):
        for path in (f"/api/v1/auctions/{aid}", f"/api/v1/auctions/{aid}/events?after=0"):
            text = client.get(path, headers=users[who]).get_data(as_text=True)
            assert RESERVE not in text and "1234560" not in text and "reserve_price" not in text, (who, path)
            if who in (1, 2, "purchaser"):
                assert "竞买人" not in text and uscc(1) not in text and uscc(2) not in text, (who, path)
    state = client.get(f"/api/v1/auctions/{aid}", headers=users[2]).json
    assert state["me"] == {"paddle": mine["paddle"], "leading": True, "my_highest": "1010000.00",
                           "continue_requested": False}
    assert state["leader_paddle"] == mine["paddle"] and state["has_reserve"] is True
    assert "participant_count" not in state
    assert client.get(f"/api/v1/auctions/{aid}", headers=users["staff"]).json["participant_count"] == 3
    assert client.get(f"/api/v1/auctions/{aid}", headers=users[1]).json["me"]["leading"] is False
    staff_events = client.get(f"/api/v1/auctions/{aid}/events", headers=users["staff"]).json["events"]
    assert [e["bidder_uscc"] for e in staff_events] == [uscc(1), uscc(2)]


def test_after_close_viewers_learn_whether_the_reserve_was_met_and_staff_the_figure(client, platform, trade):
    _, aid, users = trade
    _bid(client, users, 1, aid, "1000000")
    _close(platform)
    for who in (1, "purchaser"):
        result = client.get(f"/api/v1/auctions/{aid}", headers=users[who]).json["result"]
        assert (result["outcome"], result["reserve_met"]) == ("no_sale", False)
        assert "reserve_price" not in result
    staff = client.get(f"/api/v1/auctions/{aid}", headers=users["staff"]).json["result"]
    assert staff["reserve_price"] == RESERVE


def test_long_poll_returns_events_after_seq_and_wakes_on_a_new_bid(client, platform, trade):
    _, aid, users = trade
    _bid(client, users, 1, aid, "1000000")
    first = client.get(f"/api/v1/auctions/{aid}/events?after=0&wait=0", headers=users[2]).json
    assert [e["seq"] for e in first["events"]] == [1] and first["last_seq"] == 1
    assert first["events"][0]["mine"] is False and first["auction"]["me"]["paddle"]
    answers = {}

    def follow() -> None:
        answers["poll"] = client.get(f"/api/v1/auctions/{aid}/events?after=1&wait=20", headers=users[1]).json

    follower = threading.Thread(target=follow)
    follower.start()
    auctions.place_bid(platform, bidder(3), aid, "1010000")
    follower.join(timeout=30)
    assert not follower.is_alive()
    polled = answers["poll"]
    assert [(e["seq"], e["amount"]) for e in polled["events"]] == [(2, "1010000.00")]
    assert polled["auction"]["me"]["leading"] is False and polled["auction"]["current_price"] == "1010000.00"
    idle = client.get(f"/api/v1/auctions/{aid}/events?after=2&wait=0.3", headers=users[1]).json
    assert idle["events"] == [] and idle["last_seq"] == 2
    assert client.get(f"/api/v1/auctions/{aid}/events?wait=26", headers=users[1]).status_code == 400


def test_long_poll_reports_the_close_as_an_event(client, platform, trade):
    _, aid, users = trade
    _bid(client, users, 1, aid, "1300000")
    _close(platform)
    polled = client.get(f"/api/v1/auctions/{aid}/events?after=1", headers=users[1]).json
    assert [(e["type"], e["seq"]) for e in polled["events"]] == [("closed", 2)]
    assert polled["events"][0]["outcome"] == "sold" and polled["auction"]["result"]["reserve_met"] is True


def _sse(response) -> list[tuple[str | None, str, dict]]:
    messages = []
    for block in response.get_data(as_text=True).split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            messages.append((fields.get("id"), fields["event"], json.loads(fields["data"])))
    return messages


def test_the_stream_sends_bids_with_ids_and_resumes_after_last_event_id(client, platform, trade):
    _, aid, users = trade
    _bid(client, users, 1, aid, "1000000")
    _bid(client, users, 2, aid, "1010000")
    response = client.get(f"/api/v1/auctions/{aid}/stream?seconds=1", headers=users[1])
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    messages = _sse(response)
    assert [(i, e) for i, e, _ in messages] == [("1", "bid"), ("2", "bid"), (None, "state"), (None, "end")]
    assert messages[0][2]["mine"] is True and messages[2][2]["me"]["leading"] is False
    assert messages[3][2] == {"reason": "timeout"}
    resumed = _sse(client.get(f"/api/v1/auctions/{aid}/stream?seconds=1",
                              headers={**users[1], "Last-Event-ID": "1"}))
    assert [(i, e) for i, e, _ in resumed][:2] == [("2", "bid"), (None, "state")]


def test_the_stream_ends_when_the_auction_closes(client, platform, trade):
    _, aid, users = trade
    _bid(client, users, 1, aid, "1300000")
    _close(platform)
    messages = _sse(client.get(f"/api/v1/auctions/{aid}/stream", headers={**users[2], "Last-Event-ID": "1"}))
    assert [(i, e) for i, e, _ in messages] == [("2", "closed"), (None, "state"), (None, "end")]
    assert messages[-1][2] == {"reason": "closed"}
    assert client.get(f"/api/v1/auctions/{aid}/stream", headers=users[9]).status_code == 403


def test_continue_endpoint(client, platform, open_auction, make_user):
    view = open_auction(auction_terms("listing"))
    aid = view["variables"]["auction_id"]
    headers = make_user("bidder", org=uscc(1))
    platform.clock.set(at(2026, 10, 12, 10, 0))
    assert client.post(f"/api/v1/auctions/{aid}/continue", headers=headers).status_code == 409
    assert _bid(client, {1: headers}, 1, aid, "1000000").status_code == 201
    asked = client.post(f"/api/v1/auctions/{aid}/continue", headers=headers)
    assert asked.status_code == 200 and asked.json["continue_requested_at"].startswith("2026-10-12T10:00")


def test_when_every_follower_slot_is_taken_long_polls_answer_at_once_with_a_retry_hint(client, trade, monkeypatch):
    import threading as _threading

    from services.trading import auction_feed

    _, aid, users = trade
    monkeypatch.setattr(auction_feed, "_SLOTS", _threading.BoundedSemaphore(1))
    auction_feed._SLOTS.acquire()  # another follower holds the only slot
    busy = client.get(f"/api/v1/auctions/{aid}/events?after=0&wait=20", headers=users[1])
    assert busy.status_code == 200 and busy.json["retry_after"] == 1 and busy.headers["Retry-After"] == "1"
    messages = _sse(client.get(f"/api/v1/auctions/{aid}/stream", headers=users[1]))
    assert [e for _, e, _ in messages] == ["state", "end"] and messages[-1][2] == {"reason": "busy"}


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/auctions/{auction_id}", "/api/v1/auctions/{auction_id}/bids",
                 "/api/v1/auctions/{auction_id}/continue", "/api/v1/auctions/{auction_id}/events",
                 "/api/v1/auctions/{auction_id}/stream", "/api/v1/process-instances/{instance_id}/auctions"):
        assert path in paths, path
