"""A driver for gp_open_tender runs over HTTP, built on the construction_open_tender driver (cot_support.Run)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.e2e.cot_support import AGENCY, PURCHASER, REGION, Bidder, Run, at, names

PROCESS = "gp_open_tender"

# The clock starts on Monday 2026-03-02 (cot_support.START); no holiday falls in March 2026.
PUBLISHED = "2026-03-02"
# gp.tender_notice and gp.doc_provision, 5 工作日 MIN from Mon 03-02: Tue 03-03 … Mon 03-09.
NOTICE_END = DOC_PROVISION_END = "2026-03-09"
# gp.bid_period 20 日 MIN from 03-02: the earliest deadline day is Sun 03-22; we use Mon 03-23.
BID_DEADLINE = "2026-03-23T09:30:00+08:00"

REGISTER = {
    "project_name": "杭州市某中学教学设备采购项目",
    "project_code": "ZJCG-2026-0001",
    "purchaser_name": "杭州市某中学",
    "purchaser_uscc": PURCHASER,
    "agency_name": "浙江某采购代理有限公司",
    "agency_uscc": AGENCY,
    "budget": 12_000_000,  # ≥ 10,000,000: gp.committee asks for 7 members
    "bond_amount": 200_000,  # gp.bond_cap: at most 2% of 12,000,000 = 240,000 yuan
}

TECHNICAL = {"key": "technical", "name": "技术商务", "kind": "technical", "max": 70}
PRICE = {"key": "price", "name": "价格", "kind": "price", "max": 30}


@dataclass
class GpRun(Run):
    """One gp_open_tender trade driven through the HTTP API with the fake clock and the timer worker."""

    @classmethod
    def started(cls, http: Any, make_user: Callable[..., dict[str, str]]) -> GpRun:
        """A driver with the trade's people, the clock set to START (the same Monday as cot_support)."""
        run = super().started(http, make_user)
        assert isinstance(run, GpRun)
        return run

    def register(self, business_key: str, expect: int = 201, **changes: Any) -> dict[str, Any]:
        view = self.call("POST", "/api/v1/process-instances", "staff", {
            "process_key": PROCESS, "business_key": business_key, "region": REGION,
            "variables": {**REGISTER, **changes}}, expect=expect)
        if expect == 201:
            self.id = view["id"]
        return view  # type: ignore[no-any-return]

    def publish(self, bid_deadline: str = BID_DEADLINE, docs_issued_on: str = PUBLISHED,
                doc_sale_end: str = DOC_PROVISION_END, expect: int = 200, notice_end: str = NOTICE_END) -> dict[str, Any]:
        return self.complete("发布采购公告", "agency", {
            "notice_published_on": PUBLISHED, "notice_end": notice_end, "docs_issued_on": docs_issued_on,
            "doc_provision_end": doc_sale_end, "bid_deadline": bid_deadline, "media": "中国政府采购网",
            "decrypt_minutes": 60, "evaluation_method": "composite"}, expect=expect)

    def open_and_decrypt_at(self, deadline: str, decrypting: list[Bidder]) -> dict[str, Any]:
        """Let the bid deadline pass, the named bidders decrypt, and the decryption window close."""
        view = self.set_clock_and_wait(deadline, lambda v: "decrypt_until" in v["variables"])
        assert view["variables"]["opening_valid"] is True
        self.set_clock((at(deadline) + timedelta(minutes=10)).isoformat())
        for b in decrypting:
            assert self.decrypt(b)["status"] == "decrypted"
        until = at(view["variables"]["decrypt_until"])
        self.set_clock((until + timedelta(seconds=1)).isoformat())
        # both the task and the variables of the steps before it (the view reads them in separate queries)
        return self.wait_for(lambda v: "抽取评审专家" in names(v) and "deposit_ok_count" in v["variables"])

    def evaluate_composite(self, offers: dict[str, tuple[int, int]]) -> list[int]:
        """综合评分法 with the 87号令 price score (lowest valid price as base): {uscc: (price, technical)}."""
        members = self.confirm_committee()
        self.call("POST", f"/api/v1/trades/{self.id}/evaluation", "staff", {
            "method": "composite", "base": "lowest", "criteria": [TECHNICAL, PRICE],
            "bidders": [{"uscc": org, "price": price} for org, (price, _) in offers.items()]}, expect=201)
        for expert_id in members:
            self.call("PUT", f"/api/v1/trades/{self.id}/evaluation/scores", self.experts[expert_id], {
                "scores": [{"bidder": org, "criterion": "technical", "score": technical}
                           for org, (_, technical) in offers.items()]})
        return members


def registered(run: GpRun, business_key: str, **changes: Any) -> dict[str, Any]:
    """Register a trade: it has its 政府采购 (Z) code and its bond passed the gp.bond_cap check."""
    view = run.register(business_key, **changes)
    assert view["status"] == "running" and view["region"] == REGION
    assert view["variables"]["trade_code"].startswith(f"{REGION}-Z-2026-")
    assert view["variables"]["bond_cap_ok"] is True and names(view) == ["发布采购公告"]
    return view
