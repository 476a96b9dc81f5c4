"""A driver for construction_open_tender runs over HTTP: parties, bids, bonds, experts, tasks and timers."""
from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from trading import crypto
from trading.uscc import check_character

REGION = "330100"
PROCESS = "construction_open_tender"
FIRE_WITHIN = 10.0  # generous for a loaded CI machine; the 2 s promise of CONTRACT.md is checked in tests/workers
SPECIALTY = "A080101"

# Monday 2026-03-02, 09:00 in Shanghai: registration day. No holiday falls in March 2026.
START = "2026-03-02T09:00:00+08:00"
DOCS_ISSUED = "2026-03-02"
# cons.doc_sale 5 日 MIN from 03-02: sale may end 03-07 at the earliest.
DOC_SALE_END = "2026-03-07"
# cons.bid_period 20 日 MIN from 03-02: the earliest deadline day is 03-22 (a Sunday); we use Monday 03-23.
BID_DEADLINE = "2026-03-23T09:30:00+08:00"

TECHNICAL = {"key": "technical", "name": "技术标", "kind": "technical", "max": 60}
PRICE = {"key": "price", "name": "投标报价", "kind": "price", "max": 40}


def uscc(n: int) -> str:
    """A valid 统一社会信用代码 for test organisation n."""
    body = f"91330100{n:09d}"
    return body + check_character(body)


def id_number(n: int) -> str:
    """A valid resident ID number (GB 11643 check character) for test person n."""
    body = f"33010519{n:09d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


PURCHASER = uscc(1)
AGENCY = uscc(2)
REGISTER = {
    "project_name": "杭州市某中学新建教学楼工程施工",
    "project_code": "2603-330100-04-01-000001",
    "purchaser_name": "杭州市某中学",
    "purchaser_uscc": PURCHASER,
    "agency_name": "浙江某招标代理有限公司",
    "agency_uscc": AGENCY,
    "estimated_price": 12_800_000,
    "bond_amount": 200_000,  # cons.bond_cap: at most 2% of 12,800,000 = 256,000 yuan
    "tender_scope": "教学楼土建、安装工程施工",
}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def due(local_time: str) -> datetime:
    """A wall-clock time in Shanghai."""
    return datetime.fromisoformat(local_time + "+08:00")


def names(view: dict[str, Any]) -> list[str]:
    return sorted(t["name"] for t in view["tasks"])


def timers(view: dict[str, Any]) -> list[tuple[str, str | None, datetime]]:
    """The pending timers as (element id, rule, due time)."""
    return [(t["element_id"], t["rule"], at(t["due_at"])) for t in view["timers"]]


@dataclass
class Bidder:
    """A bidder user, its organisation and the key of its sealed bid."""

    headers: dict[str, str]
    org: str
    name: str
    key: bytes = b""
    receipt: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """One trade driven through the HTTP API with the fake clock and the embedded timer worker."""

    http: Any
    users: dict[str, dict[str, str]]
    make_user: Callable[..., dict[str, str]]
    id: str = ""
    experts: dict[int, dict[str, str]] = field(default_factory=dict)
    _serial: int = 10

    @classmethod
    def started(cls, http: Any, make_user: Callable[..., dict[str, str]]) -> Run:
        """A driver with the trade's people, the clock set to START."""
        users = {
            "admin": make_user("admin", name="cot_admin"),
            "staff": make_user("staff", region=REGION, name="cot_staff"),
            "agency": make_user("agency", region=REGION, name="cot_agency"),
            "purchaser": make_user("purchaser", region=REGION, org=PURCHASER, name="cot_purchaser"),
            "supervisor": make_user("supervisor", region=REGION, name="cot_supervisor"),
        }
        run = cls(http, users, make_user)
        run.set_clock(START)
        return run

    # --- plumbing ---------------------------------------------------------------------------------

    def call(self, method: str, path: str, who: str | dict[str, str], body: Any = None, expect: int = 200,
             **kwargs: Any) -> Any:
        headers = self.users[who] if isinstance(who, str) else who
        if "data" not in kwargs:
            kwargs["json"] = body
        response = self.http.open(path, method=method, headers=headers, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.get_json())
        return response.get_json()

    def set_clock(self, when: str) -> None:
        out = self.call("PUT", "/api/v1/admin/clock", "admin", {"now": when})
        assert abs(at(out["now"]) - at(when)) < timedelta(seconds=5)

    def view(self, who: str = "staff") -> dict[str, Any]:
        return self.call("GET", f"/api/v1/process-instances/{self.id}", who)

    def wait_for(self, check: Callable[[dict[str, Any]], bool], who: str = "staff") -> dict[str, Any]:
        """Poll the instance until check(view) holds; fail after FIRE_WITHIN seconds."""
        started = time.monotonic()
        while True:
            view = self.view(who)
            if check(view):
                return view
            if time.monotonic() - started > FIRE_WITHIN:
                pytest.fail(f"not reached within {FIRE_WITHIN} s; instance is {view}")
            time.sleep(0.05)

    def advance(self, when: str, task: str) -> dict[str, Any]:
        """Move the clock and wait until the worker has fired the due timers and the task is ready."""
        self.set_clock(when)
        return self.wait_for(lambda v: task in names(v))

    def task(self, name: str, view: dict[str, Any] | None = None) -> dict[str, Any]:
        view = view or self.view()
        matching = [t for t in view["tasks"] if t["name"] == name]
        assert len(matching) == 1, view["tasks"]
        return matching[0]

    def complete(self, name: str, role: str, data: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        task = self.task(name)
        assert task["role"] == role, task
        return self.call("POST", f"/api/v1/tasks/{task['id']}/complete", role, {"data": data}, expect=expect)

    def events(self, type_prefix: str = "") -> list[dict[str, Any]]:
        log = self.call("GET", f"/api/v1/process-instances/{self.id}/events", "supervisor")
        return [e for e in log if e["type"].startswith(type_prefix)]

    # --- the trade ----------------------------------------------------------------------------------

    def register(self, business_key: str, expect: int = 201, **changes: Any) -> dict[str, Any]:
        view = self.call("POST", "/api/v1/process-instances", "staff", {
            "process_key": PROCESS, "business_key": business_key, "region": REGION,
            "variables": {**REGISTER, **changes}}, expect=expect)
        if expect == 201:
            self.id = view["id"]
        return view  # type: ignore[no-any-return]

    def publish(self, bid_deadline: str = BID_DEADLINE, docs_issued_on: str = DOCS_ISSUED,
                doc_sale_end: str = DOC_SALE_END, expect: int = 200) -> dict[str, Any]:
        return self.complete("发布招标公告", "agency", {
            "notice_published_on": docs_issued_on, "docs_issued_on": docs_issued_on, "doc_sale_end": doc_sale_end,
            "bid_deadline": bid_deadline, "opening_place": "杭州市公共资源交易中心（电子开标）",
            "decrypt_minutes": 60, "evaluation_method": "composite"}, expect=expect)

    # --- bidders, bids and bonds ------------------------------------------------------------------------

    def bidder(self) -> Bidder:
        self._serial += 1
        org = uscc(self._serial)
        return Bidder(self.make_user("bidder", org=org, name=f"cot_bidder_{self._serial}"), org,
                      f"浙江第{self._serial}建设有限公司")

    def bid(self, who: Bidder, expect: int = 201) -> Any:
        """Seal a bid for the bidder (AES-256-GCM, its own key) and upload it."""
        who.key = os.urandom(crypto.KEY_LEN)
        envelope = crypto.encrypt(who.key, f"{who.name}投标文件".encode() * 50)
        out = self.call("PUT", f"/api/v1/trades/{self.id}/bids", {**who.headers, "X-Device-Fingerprint": "fp-cot"},
                        expect=expect, data=envelope, content_type="application/octet-stream")
        if expect == 201:
            who.receipt = out
        return out

    def decrypt(self, who: Bidder, expect: int = 200) -> Any:
        return self.call("POST", f"/api/v1/trades/{self.id}/bids/{who.receipt['bid_id']}/decrypt",
                         {**who.headers, "X-Device-Fingerprint": "fp-cot"},
                         {"key": base64.b64encode(who.key).decode()}, expect=expect)

    def pay_bond(self, who: Bidder, amount: int = 200_000) -> Any:
        return self.call("POST", f"/api/v1/trades/{self.id}/deposits", "staff", {
            "bidder_uscc": who.org, "bidder_name": who.name, "amount": amount,
            "payer_account_no": f"6222{who.org[-8:]}", "payer_bank": "中国工商银行杭州分行",
            "payer_account_name": who.name, "is_basic_account": True, "bank_reference": f"BR-{who.org}"},
            expect=201)

    def bidders_bid(self, count: int, when: str = "2026-03-10T10:00:00+08:00") -> list[Bidder]:
        """`count` bidders pay their bonds and upload sealed bids on the given day."""
        self.set_clock(when)
        bidders = [self.bidder() for _ in range(count)]
        for b in bidders:
            self.pay_bond(b)
            self.bid(b)
        return bidders

    # --- experts and evaluation -------------------------------------------------------------------------

    def add_experts(self, count: int, employer: str | None = None) -> list[int]:
        ids = []
        for _ in range(count):
            self._serial += 1
            username = f"cot_expert_{self._serial}"
            headers = self.make_user("expert", name=username)
            expert = self.call("POST", "/api/v1/experts", "staff", {
                "name": f"专家{self._serial}", "id_number": id_number(self._serial), "specialties": [SPECIALTY],
                "region": REGION, "employer_uscc": employer, "username": username}, expect=201)
            self.experts[expert["id"]] = headers
            ids.append(expert["id"])
        return ids

    def committee(self) -> dict[str, Any]:
        return self.call("GET", f"/api/v1/trades/{self.id}/committee", "staff")  # type: ignore[no-any-return]

    def confirm_committee(self) -> list[int]:
        """Every drawn member confirms; returns the expert ids of the members."""
        members = [m for m in self.committee()["members"] if m["status"] == "pending"]
        for m in members:
            self.call("POST", f"/api/v1/trades/{self.id}/committee/{m['id']}/confirm", self.experts[m["expert_id"]])
        committee = self.committee()
        assert committee["formed"] is True, committee
        return [m["expert_id"] for m in committee["members"] if m["status"] == "confirmed"]

    def evaluate(self, offers: dict[str, tuple[int, int]]) -> list[int]:
        """Form the committee, open the composite evaluation and let each expert score: {uscc: (price, technical)}."""
        members = self.confirm_committee()
        # the tender notice published 综合评分法: another method is refused (TBR 49)
        refused = self.call("POST", f"/api/v1/trades/{self.id}/evaluation", "staff", {
            "method": "lowest_evaluated_price", "criteria": [],
            "bidders": [{"uscc": org, "price": price} for org, (price, _) in offers.items()]}, expect=422)
        assert "评标办法须与招标文件一致" in refused["message"]
        self.call("POST", f"/api/v1/trades/{self.id}/evaluation", "staff", {
            "method": "composite", "criteria": [TECHNICAL, PRICE],
            "bidders": [{"uscc": org, "price": price} for org, (price, _) in offers.items()]}, expect=201)
        for expert_id in members:
            self.call("PUT", f"/api/v1/trades/{self.id}/evaluation/scores", self.experts[expert_id], {
                "scores": [{"bidder": org, "criterion": "technical", "score": technical}
                           for org, (_, technical) in offers.items()]})
        return members

    # --- from registration to the expert draw ----------------------------------------------------------

    def open_and_decrypt(self, bidders: list[Bidder], decrypting: list[Bidder]) -> dict[str, Any]:
        """Let the bid deadline pass, the named bidders decrypt, and the decryption window close."""
        view = self.set_clock_and_wait("2026-03-23T09:30:00+08:00", lambda v: "decrypt_until" in v["variables"])
        assert view["variables"]["opening_valid"] is True and view["variables"]["bid_count"] == len(bidders)
        self.set_clock("2026-03-23T09:40:00+08:00")
        for b in decrypting:
            assert self.decrypt(b)["status"] == "decrypted"
        until = at(view["variables"]["decrypt_until"])
        return self.advance((until + timedelta(seconds=1)).isoformat(), "抽取评标专家")

    def set_clock_and_wait(self, when: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        self.set_clock(when)
        return self.wait_for(check)

    def through_evaluation(self, business_key: str, bidders: int = 3) -> tuple[dict[str, Any], list[Bidder]]:
        """Register, publish, bid, open, decrypt, draw and evaluate; the report is received on 03-23."""
        self.register(business_key)
        self.publish()
        parties = self.bidders_bid(bidders)
        self.open_and_decrypt(parties, parties)
        self.add_experts(5)
        self.complete("抽取评标专家", "staff", {"expert_specialties": [SPECIALTY], "evaluation_date": "2026-03-23"})
        self.evaluate({b.org: (10_000_000 + 100_000 * i, 50 - i) for i, b in enumerate(parties)})
        view = self.complete("评标结束", "staff", {"report_received_on": "2026-03-23"})
        assert view["variables"]["candidates"] == [b.org for b in parties[:3]]
        return view, parties


def registered(run: Run, business_key: str, **changes: Any) -> dict[str, Any]:
    """Register a trade; it has its code and its bond passed the cap check."""
    view = run.register(business_key, **changes)
    assert view["status"] == "running" and view["region"] == REGION
    assert view["variables"]["trade_code"].startswith(f"{REGION}-G-2026-")
    assert view["variables"]["bond_cap_ok"] is True
    return view


def published(run: Run) -> dict[str, Any]:
    """Publish the tender notice with the default dates; the bid period runs to BID_DEADLINE."""
    view = run.publish()
    assert names(view) == ["招标文件澄清与异议处理"]
    assert timers(view) == [("Boundary_BidDeadline", "cons.bid_period", at(BID_DEADLINE))]
    return view
