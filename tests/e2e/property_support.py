"""A driver for the state-owned property trades over HTTP, built on the construction_open_tender driver (cot_support.Run).

Dates are 2026 in Asia/Shanghai. Working days used below (Apr 6 is 清明, May 1-5 劳动节):
20 工作日 from Mon 03-02 is Mon 03-30; from Tue 03-31 it is Wed 04-29; 5 工作日 from 03-30 is Tue 04-07.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.e2e.cot_support import FIRE_WITHIN, PURCHASER, REGION, Bidder, Run, at, names, uscc

SUBJECT = uscc(70)
TRANSFER = {
    "project_name": "杭州某国有控股公司40%股权转让",
    "purchaser_name": "杭州市某国有资本投资有限公司",
    "purchaser_uscc": PURCHASER,
    "subject_name": "杭州某机械制造有限公司",
    "subject_uscc": SUBJECT,
    "equity_percent": 40,
    "appraisal_value": 10_000_000,
    "appraisal_filing_no": "杭国资评备〔2026〕8号",
    "transfer_approval_body": "杭州市人民政府国有资产监督管理委员会",
    "transfer_approval_no": "杭国资产权〔2026〕15号",
    "control_transfer": False,
    "bond_amount": 1_000_000,
}


def notice(title: str, **fields: Any) -> dict[str, Any]:
    return {"title": title, "body": f"{title}。详见产权交易机构网站。", **fields}


def near(moment: datetime, expected: str) -> bool:
    """The clock runs on from the time a test sets, so a bid lands a moment after it."""
    return timedelta(0) <= moment - at(expected) < timedelta(seconds=5)


def rules_of(view: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(t["element_id"], t["rule"]) for t in view["timers"]]


@dataclass
class PropertyRun(Run):
    """One property trade driven through the HTTP API with the fake clock."""

    _bidder_serial: int = 100

    @classmethod
    def begun(cls, http: Any, make_user: Callable[..., dict[str, str]]) -> PropertyRun:
        base = Run.started(http, make_user)
        return cls(base.http, base.users, base.make_user)

    def start(self, process: str, business_key: str, variables: dict[str, Any], expect: int = 201) -> dict[str, Any]:
        """The owner (转让方/增资企业) registers the trade; it gets a state-owned property (P) trade code."""
        view = self.call("POST", "/api/v1/process-instances", "purchaser", {
            "process_key": process, "business_key": business_key, "region": REGION, "variables": variables},
            expect=expect)
        if expect == 201:
            self.id = view["id"]
            assert view["variables"]["trade_code"].startswith(f"{REGION}-P-2026-")
        return view  # type: ignore[no-any-return]

    def transferee(self) -> Bidder:
        self._bidder_serial += 1
        org = uscc(self._bidder_serial)
        return Bidder(self.make_user("bidder", org=org, name=f"prop_bidder_{self._bidder_serial}"), org,
                      f"浙江第{self._bidder_serial}投资有限公司")

    def pay_deposit(self, who: Bidder, amount: int) -> Any:
        return self.call("POST", f"/api/v1/trades/{self.id}/deposits", "staff", {
            "bidder_uscc": who.org, "bidder_name": who.name, "amount": amount,
            "payer_account_no": f"6222{who.org[-8:]}", "payer_bank": "中国银行杭州分行",
            "payer_account_name": who.name, "is_basic_account": False, "bank_reference": f"BZJ-{who.org}"},
            expect=201)

    def transferees(self, count: int, amount: int = 1_000_000) -> list[Bidder]:
        parties = [self.transferee() for _ in range(count)]
        for who in parties:
            self.pay_deposit(who, amount)
        return parties

    def deposits(self) -> dict[str, dict[str, Any]]:
        """The trade's deposits by bidder USCC, as staff see them."""
        return {d["bidder_uscc"]: d for d in self.call("GET", f"/api/v1/trades/{self.id}/deposits", "staff")}

    def refund(self, who: Bidder, expect: int = 200) -> Any:
        deposit_id = self.deposits()[who.org]["id"]
        return self.call("POST", f"/api/v1/trades/{self.id}/deposits/{deposit_id}/refund", "staff",
                         {"bank_reference": f"TH-{who.org}"}, expect=expect)

    def wait_for_alerts(self, kind: str) -> list[dict[str, Any]]:
        """Overdue scans run in the embedded worker after a clock change: poll for the alert."""
        started = time.monotonic()
        while not (found := self.alerts(kind)):
            if time.monotonic() - started > FIRE_WITHIN:
                pytest.fail(f"no {kind} alert raised")
            time.sleep(0.05)
        return found

    # --- price payments and the voucher ------------------------------------------------------------------

    def plan(self, who: str | dict[str, str] = "staff", expect: int = 200) -> Any:
        return self.call("GET", f"/api/v1/property-trades/{self.id}/payment-plan", who, expect=expect)

    def pay_price(self, who: Bidder, amount: str, reference: str, expect: int = 201, by: str = "staff",
                  payer: str | None = None) -> Any:
        return self.call("POST", f"/api/v1/property-trades/{self.id}/payments", by, {
            "amount": amount, "bank_reference": reference, "payer_account_name": payer or who.name,
            "payer_account_no": f"6222{who.org[-8:]}"}, expect=expect)

    def voucher(self, who: str | dict[str, str] = "staff", expect: int = 200) -> Any:
        return self.call("GET", f"/api/v1/property-trades/{self.id}/voucher", who, expect=expect)

    def alerts(self, kind: str) -> list[dict[str, Any]]:
        found = self.call("GET", f"/api/v1/alerts?kind={kind}&instance_id={self.id}", "supervisor")
        return found if isinstance(found, list) else found["items"]  # type: ignore[no-any-return]

    def publications(self) -> list[dict[str, Any]]:
        """What the public sees of this trade, oldest first (no token)."""
        code = self.view()["variables"]["trade_code"]
        found = self.call("GET", f"/api/v1/public/publications?trade_code={code}&per_page=200", {})
        items = found if isinstance(found, list) else found["items"]
        return sorted(items, key=lambda item: item["feed_seq"])

    def result(self) -> dict[str, Any]:
        recorded = [e for e in self.events("trade.result_recorded")]
        assert recorded, "no trade result recorded"
        return recorded[-1]["data"]  # type: ignore[no-any-return]

    def finish(self, when: str) -> dict[str, Any]:
        """Let the payment check run after the price is paid; the trade completes."""
        self.set_clock(when)
        return self.wait_for(lambda v: v["status"] == "completed")

    def ready(self) -> list[str]:
        return names(self.view())
