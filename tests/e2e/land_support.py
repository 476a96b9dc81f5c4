"""A driver for the land-use and mining-right grants over HTTP: parties, deposits, live bidding and the tail.

Dates are 2026 in Asia/Shanghai. March 2026 has no public holiday; 2026-04-04..06 is the 清明 holiday.
The plumbing (clock, tasks, events, sealed bids) is the construction_open_tender driver of cot_support.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.e2e.cot_support import REGION, Bidder, Run, at, names, uscc

GRANTOR = uscc(1)  # the purchaser user's organisation: the 出让人
ANNOUNCED = "2026-03-02"
# land.announcement 20 日 MIN from Mon 03-02: the sale may start on 03-22 (a Sunday) at the earliest.
SALE_START = "2026-03-23T10:00:00+08:00"
REGISTRATION_DEADLINE = "2026-03-20T17:00:00+08:00"
# land.listing_period 10 工作日 MIN from Mon 03-23: the listing may close on Tue 04-07 at the earliest (清明 04-06).
LISTING_END = "2026-04-07T10:00:00+08:00"
QUIET = 60  # seconds without a higher bid that end an auction (short: the clock jumps)
BOND = 2_000_000

LAND = {
    "project_name": "杭州市某地块国有建设用地使用权出让",
    "parcel_no": "杭政储出〔2026〕12号",
    "land_location": "杭州市某区某路以东、某街以北",
    "land_area": 35_000.5,
    "land_use": "城镇住宅用地",
    "use_term_years": 70,
    "plot_ratio": "1.0＜容积率≤2.2",
    "purchaser_name": "杭州市规划和自然资源局",
    "purchaser_uscc": GRANTOR,
    "bond_amount": BOND,
}
MINE = {
    "project_name": "某县某建筑用石料矿采矿权出让",
    "right_type": "mining",
    "mineral": "建筑用凝灰岩",
    "mine_location": "杭州市某县某镇",
    "area_km2": 0.35,
    "term_years": 10,
    "purchaser_name": "杭州市规划和自然资源局",
    "purchaser_uscc": GRANTOR,
    "bond_amount": BOND,
}


def notice(title: str) -> dict[str, Any]:
    return {"title": title, "body": f"{title}：详见出让文件。"}


def scheduled(run: Run) -> set[tuple[str, str | None]]:
    """(element, rule) of every timer the trade scheduled so far."""
    return {(e["data"]["element_id"], e["data"]["rule"]) for e in run.events("timer.scheduled")}


@dataclass
class Grant(Run):
    """One land or mining-right grant driven through the HTTP API."""

    def start(self, process: str, business_key: str, variables: dict[str, Any], category: str = "L") -> dict[str, Any]:
        """The trading centre registers the grant; it gets its unified trading code."""
        view = self.call("POST", "/api/v1/process-instances", "staff", {
            "process_key": process, "business_key": business_key, "region": REGION, "variables": variables},
            expect=201)
        self.id = view["id"]
        assert view["status"] == "running"
        assert view["variables"]["trade_code"].startswith(f"{REGION}-{category}-2026-")
        assert names(view) == ["确定底价"] and self.task("确定底价", view)["role"] == "purchaser"
        return view  # type: ignore[no-any-return]

    def reserve(self, amount: int) -> dict[str, Any]:
        """The grantor fixes the secret reserve price (底价)."""
        return self.complete("确定底价", "purchaser", {"reserve_price": amount, "reserve_decided_on": ANNOUNCED,
                                                     "decision_basis": "经集体决策，依据土地估价报告确定"})

    # --- bidders and deposits ---------------------------------------------------------------------------

    def bidder(self) -> Bidder:
        self._serial += 1
        org = uscc(self._serial)
        return Bidder(self.make_user("bidder", org=org, name=f"land_bidder_{self._serial}"), org,
                      f"浙江第{self._serial}置业有限公司")

    def pay(self, who: Bidder, amount: int = BOND) -> dict[str, Any]:
        """The bank interface reports the deposit: from now on the bidder qualifies."""
        return self.call("POST", f"/api/v1/trades/{self.id}/deposits", "staff", {  # type: ignore[no-any-return]
            "bidder_uscc": who.org, "bidder_name": who.name, "amount": amount,
            "payer_account_no": f"6222{who.org[-8:]}", "payer_bank": "中国工商银行杭州分行",
            "payer_account_name": who.name, "is_basic_account": True, "bank_reference": f"LD-{who.org}"},
            expect=201)

    def paying(self, count: int) -> list[Bidder]:
        bidders = [self.bidder() for _ in range(count)]
        for b in bidders:
            self.pay(b)
        return bidders

    def deposits(self) -> dict[str, dict[str, Any]]:
        """The trade's deposits by bidder USCC, as staff see them."""
        rows = self.call("GET", f"/api/v1/trades/{self.id}/deposits", "staff")
        return {d["bidder_uscc"]: d for d in rows}

    def refund_all_due(self) -> list[str]:
        """Staff record the refund of every deposit that is due; returns the bidders refunded."""
        done = []
        for code, d in self.deposits().items():
            if d["status"] == "refund_due":
                out = self.call("POST", f"/api/v1/trades/{self.id}/deposits/{d['id']}/refund", "staff",
                                {"bank_reference": f"RF-{code}"})
                assert out["status"] == "refunded" and out["refund"]["interest"] == "0.00"  # no interest (39号令)
                done.append(code)
        return done

    # --- live bidding -----------------------------------------------------------------------------------

    def auctions(self, who: str | dict[str, str] = "staff") -> list[dict[str, Any]]:
        return self.call("GET", f"/api/v1/process-instances/{self.id}/auctions", who)  # type: ignore[no-any-return]

    def auction(self, auction_id: int, who: str | dict[str, str] = "staff") -> dict[str, Any]:
        return self.call("GET", f"/api/v1/auctions/{auction_id}", who)  # type: ignore[no-any-return]

    def offer(self, who: Bidder, auction_id: int, amount: int, expect: int = 201) -> dict[str, Any]:
        return self.call("POST", f"/api/v1/auctions/{auction_id}/bids", who.headers,  # type: ignore[no-any-return]
                         {"amount": f"{amount}.00"}, expect=expect)

    def ask_to_continue(self, who: Bidder, auction_id: int) -> dict[str, Any]:
        return self.call("POST", f"/api/v1/auctions/{auction_id}/continue", who.headers)  # type: ignore[no-any-return]

    def closed_after(self, close_at: str, task: str) -> dict[str, Any]:
        """Move the clock past the auction's close time and wait until the process reached the task."""
        return self.advance((at(close_at) + timedelta(seconds=1)).isoformat(), task)

    # --- after the sale ---------------------------------------------------------------------------------

    def confirm(self, on: str = "2026-03-23") -> dict[str, Any]:
        view = self.complete("签订成交确认书", "purchaser", {"confirmation_no": "CJQR-2026-001", "confirmed_on": on})
        assert names(view) == ["公布出让结果", "签订出让合同", "退还保证金"], names(view)
        return view

    def publish_result(self, on: str) -> dict[str, Any]:
        return self.complete("公布出让结果", "staff", {**notice("出让结果公示"), "result_published_on": on,
                                                   "publication_media": "杭州市公共资源交易网"})

    def sign_contract(self, price: str, on: str) -> dict[str, Any]:
        return self.complete("签订出让合同", "purchaser", {"contract_signed_at": on, "contract_no": "3301002026A001",
                                                     "contract_price": float(price)})

    def terminate(self, reason: str, on: str = "2026-03-23") -> dict[str, Any]:
        view = self.complete("发布终止（流拍）公告", "staff", {**notice("终止出让公告"), "sale_ended_at": on,
                                                         "termination_reason": reason})
        assert names(view) == ["退还保证金（未成交）"], names(view)
        return view

    def public(self) -> dict[str, Any]:
        """The trade as anyone sees it on the public site (no token): its published items."""
        code = self.view()["variables"]["trade_code"]
        response = self.http.get(f"/api/v1/public/trades/{code}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    def published_kinds(self) -> list[str]:
        return [item["kind"] for item in self.public()["publications"]]

    def recorded_result(self) -> dict[str, Any]:
        """The trade result the process recorded for statistics (trades.record_result)."""
        found = [e["data"] for e in self.events("trade.result_recorded")]
        assert len(found) == 1, found
        return found[0]


def refunded_and_done(run: Grant, task: str, on: str) -> dict[str, Any]:
    """Refund every due deposit, close the refund task; returns the instance."""
    run.refund_all_due()
    return run.complete(task, "staff", {"refunds_completed_on": on})
