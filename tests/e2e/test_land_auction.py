"""land_auction (国有建设用地使用权拍卖出让) end to end over HTTP with the fake clock and the live bidding engine.

Announcement Mon 03-02, registration and deposits until Fri 03-20 17:00, auction Mon 03-23 10:00 with a 60-second
quiet period; the reserve price is 50,000,000 yuan, the start price 40,000,000, the increment 500,000.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.cot_support import at, due, names, timers
from tests.e2e.land_support import (
    ANNOUNCED,
    LAND,
    QUIET,
    REGISTRATION_DEADLINE,
    SALE_START,
    Grant,
    notice,
    refunded_and_done,
    scheduled,
)

RESERVE = 50_000_000


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> Grant:
    return Grant.started(http, make_user)  # type: ignore[return-value]


def announced(run: Grant, business_key: str) -> dict[str, Any]:
    """Register, fix the reserve, publish the auction notice; a sale start before the 20th day is refused."""
    run.start("land_auction", business_key, LAND)
    view = run.reserve(RESERVE)
    # the reserve is sealed: no one reads it through the platform while the sale runs, staff included
    assert view["variables"]["reserve_price"] == "******"
    staff_view = run.call("GET", f"/api/v1/process-instances/{view['id']}", "staff")
    events = run.call("GET", f"/api/v1/process-instances/{view['id']}/events", "staff")
    assert staff_view["variables"]["reserve_price"] == "******" and str(RESERVE) not in str(events)
    assert names(view) == ["发布拍卖出让公告"] and run.task("发布拍卖出让公告", view)["role"] == "staff"
    terms = {**notice("国有建设用地使用权拍卖出让公告"), "announced_on": ANNOUNCED,
             "registration_deadline": REGISTRATION_DEADLINE, "start_price": 40_000_000, "increment": 500_000,
             "quiet_seconds": QUIET}
    refused = run.complete("发布拍卖出让公告", "staff", {**terms, "auction_start": "2026-03-21T10:00:00+08:00"},
                           expect=422)
    assert refused["rule"] == "land.announcement" and refused["citation"] == "39号令"
    assert "2026-03-22" in refused["errors"][0]["message"]
    view = run.complete("发布拍卖出让公告", "staff", {**terms, "auction_start": SALE_START})
    assert names(view) == [] and timers(view) == [("Timer_Registration", None, at(REGISTRATION_DEADLINE))]
    return view


def registration_closed(run: Grant) -> dict[str, Any]:
    return run.set_clock_and_wait("2026-03-20T17:00:01+08:00",
                                  lambda v: "enough_bidders" in v["variables"] and (v["tasks"] or v["timers"]))


def test_auction_sale_confirmation_result_refunds_and_contract(run: Grant) -> None:
    announced(run, "LDA-1")
    run.set_clock("2026-03-10T10:00:00+08:00")
    b1, b2, b3 = run.paying(3)
    view = registration_closed(run)
    assert view["variables"]["qualified_count"] == 3 and view["variables"]["enough_bidders"] is True
    auction_id = view["variables"]["auction_id"]
    # the first close time is the start plus the quiet period; the process waits for it
    assert timers(view) == [("Timer_AuctionClose", None, at("2026-03-23T10:01:00+08:00"))]

    # a deposit that arrives after registration closed buys no paddle
    late = run.bidder()
    run.set_clock("2026-03-20T18:00:00+08:00")
    run.pay(late)
    assert run.offer(late, auction_id, 40_000_000, expect=403)["error"]
    # bidders see their own paddle, never other bidders' names, nor the reserve; they cannot read the trade
    mine = run.auction(auction_id, b1.headers)
    assert mine["me"]["paddle"] and mine["has_reserve"] is True
    assert "reserve_price" not in str(mine) and b2.name not in str(mine) and b2.org not in str(mine)
    run.call("GET", f"/api/v1/process-instances/{run.id}", b1.headers, expect=403)
    assert run.offer(b1, auction_id, 40_000_000, expect=409)["error"]  # not started yet

    run.set_clock(SALE_START)
    run.offer(b1, auction_id, 40_000_000)
    assert "加价幅度" in run.offer(b2, auction_id, 40_300_000, expect=422)["message"]
    run.offer(b2, auction_id, 40_500_000)
    run.offer(b3, auction_id, 45_000_000)
    last = run.offer(b1, auction_id, 50_500_000)
    feed = run.call("GET", f"/api/v1/auctions/{auction_id}/events?after=0&wait=0", b2.headers)
    assert [e["amount"] for e in feed["events"] if e["type"] == "bid"] == [
        "40000000.00", "40500000.00", "45000000.00", "50500000.00"]
    assert b1.name not in str(feed) and b1.org not in str(feed)

    # no higher bid within the quiet period: the auction closes and the reserve is met
    view = run.closed_after(last["closes_at"], "签订成交确认书")
    v = view["variables"]
    assert (v["auction_outcome"], v["winner_uscc"], v["winner_name"], v["award_amount"]) == (
        "sold", b1.org, b1.name, "50500000.00")
    assert v["sale_ended_at"] == v["auction_close_at"] and at(v["sale_ended_at"]) == at(last["closes_at"])
    closed = run.auction(auction_id)
    assert closed["result"]["reserve_met"] is True and closed["result"]["reserve_price"] == "50000000.00"
    assert "reserve_price" not in run.auction(auction_id, b2.headers)["result"]

    view = run.confirm()
    assert {(t[0], t[1]) for t in timers(view)} == {("Boundary_RefundOverdue", "land.deposit_refund"),
                                                     ("Boundary_ResultOverdue", "land.result_publication")}
    # land.result_publication 10 工作日 MAX from Mon 03-23: last day Tue 04-07 (清明 04-06)
    assert ("Boundary_ResultOverdue", "land.result_publication", due("2026-04-08T00:00:00")) in timers(view)
    deposits = run.deposits()
    assert deposits[b1.org]["status"] == "applied_to_price"  # the winner's deposit becomes part of the price
    # land.deposit_refund 5 工作日 MAX from Mon 03-23: the losers' deposits are due back by Mon 03-30
    for loser in (b2, b3, late):
        assert deposits[loser.org]["status"] == "refund_due"
        assert at(deposits[loser.org]["refund_due_at"]) == due("2026-03-31T00:00:00")  # 24:00 of 03-30
    view = refunded_and_done(run, "退还保证金", "2026-03-24")
    assert names(view) == ["公布出让结果", "签订出让合同"]

    # the result is not published in time: the supervisor is reminded, the task stays
    view = run.advance("2026-04-08T00:00:01+08:00", "出让结果公布逾期提醒")
    assert run.task("出让结果公布逾期提醒", view)["role"] == "supervisor"
    run.publish_result("2026-04-08")
    run.sign_contract("50500000", "2026-04-08")
    view = run.complete("出让结果公布逾期提醒", "supervisor", {"opinion": "已督促出让人公布出让结果"})
    assert view["status"] == "completed" and view["variables"]["trade_failed"] is False

    result = run.recorded_result()
    assert (result["outcome"], result["category"], result["winner_uscc"], result["award_amount"],
            result["budget_amount"], result["bidder_count"]) == ("awarded", "L", b1.org, "50500000.00",
                                                                  "40000000.00", 3)
    # the notice and the result are public; the reserve price and the grantor's deliberation never are
    public = run.public()
    assert [item["kind"] for item in public["publications"]] == ["announcement", "result"]
    assert "50000000" not in str(public) and "集体决策" not in str(public)
    assert scheduled(run) >= {("Timer_Registration", None), ("Timer_AuctionClose", None),
                              ("Boundary_RefundOverdue", "land.deposit_refund"),
                              ("Boundary_ResultOverdue", "land.result_publication")}


def test_auction_with_too_few_bidders_ends_before_it_opens(run: Grant) -> None:
    announced(run, "LDA-2")
    run.set_clock("2026-03-10T10:00:00+08:00")
    b1, b2 = run.paying(2)
    view = registration_closed(run)
    v = view["variables"]
    # land.min_bidders_auction: fewer than three qualified bidders end the auction; it never opens
    assert (v["qualified_count"], v["enough_bidders"], v["min_bidders"]) == (2, False, 3)
    assert names(view) == ["发布终止（流拍）公告"] and "auction_id" not in v and run.auctions() == []
    assert v["trade_failed"] is True and "不足 3 个" in v["failure_reason"]
    checked = run.events("land.bidders_checked")[0]["data"]
    assert (checked["rule"], checked["qualified_count"], checked["enough_bidders"]) == (
        "land.min_bidders_auction", 2, False)

    view = run.terminate("竞买人不足三人，终止拍卖", on="2026-03-20")
    assert timers(view) == [("Boundary_RefundFailedOverdue", "land.deposit_refund", due("2026-03-28T00:00:00"))]
    assert {d["status"] for d in run.deposits().values()} == {"refund_due"}
    # nobody refunds in time: past 24:00 of Fri 03-27 the trading centre is alerted for each deposit
    run.set_clock_and_wait("2026-03-28T00:00:01+08:00", lambda v: v["timers"] == [])
    alerts = [e["data"] for e in run.events("alert.raised") if e["data"]["kind"] == "deposit_refund_overdue"]
    assert sorted(a["subject"] for a in alerts) == sorted([b1.org, b2.org])
    assert {a["rule"] for a in alerts} == {"land.deposit_refund"}
    view = refunded_and_done(run, "退还保证金（未成交）", "2026-03-30")
    assert view["status"] == "completed"
    result = run.recorded_result()
    assert (result["outcome"], result["bidder_count"], result["winner_uscc"]) == ("failed", 2, None)
    assert "不足 3 个" in result["failure_reason"]
    assert run.published_kinds() == ["announcement", "termination"]
    assert {d["bidder_uscc"] for d in run.deposits().values() if d["status"] == "refunded"} == {b1.org, b2.org}


def test_auction_below_the_reserve_is_no_sale(run: Grant) -> None:
    announced(run, "LDA-3")
    run.set_clock("2026-03-10T10:00:00+08:00")
    b1, b2, b3 = run.paying(3)
    auction_id = registration_closed(run)["variables"]["auction_id"]

    run.set_clock(SALE_START)
    run.offer(b2, auction_id, 40_000_000)
    last = run.offer(b3, auction_id, 48_000_000)  # the highest bid stays below the secret reserve
    assert "reserve" not in str(run.auction(auction_id, b3.headers)).replace("has_reserve", "")

    view = run.closed_after(last["closes_at"], "发布终止（流拍）公告")
    v = view["variables"]
    assert (v["auction_outcome"], v["winner_uscc"], v["award_amount"], v["trade_failed"]) == (
        "no_sale", None, None, True)
    assert v["failure_reason"] == "最高应价低于底价，拍卖不成交"
    closed = run.auction(auction_id)
    assert closed["result"]["reserve_met"] is False and closed["result"]["winner_uscc"] is None
    assert run.auction(auction_id, b3.headers)["result"]["reserve_met"] is False

    run.terminate("最高应价低于底价，终止拍卖")
    deposits = run.deposits()
    assert {deposits[b.org]["status"] for b in (b1, b2, b3)} == {"refund_due"}  # nobody's deposit is applied
    view = refunded_and_done(run, "退还保证金（未成交）", "2026-03-24")
    assert view["status"] == "completed"
    assert run.recorded_result()["failure_reason"] == "最高应价低于底价，拍卖不成交"
