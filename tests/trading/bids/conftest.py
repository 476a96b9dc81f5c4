"""A running trade with a bid deadline, bidders, and short calls to the bid API."""
from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain.access import SYSTEM, Actor
from persistence.models_bids import Bid, BidEvent
from services import definitions, instances, steps, tasks
from services.platform import Platform
from trading import crypto

TZ = ZoneInfo("Asia/Shanghai")
DEADLINE = datetime(2026, 12, 1, 9, 30, tzinfo=TZ)
BEFORE = DEADLINE - timedelta(hours=1)
STAFF = Actor("bids-staff", frozenset({"staff"}), "330100")
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:ggzy="urn:ggzy:bpmn"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:bids">
  <bpmn:process id="bid_trade" name="投标测试" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="collect" name="收取投标文件" camunda:candidateGroups="staff"/>
    <bpmn:serviceTask id="open" name="开标" ggzy:service="bids.open"/>
    <bpmn:userTask id="decrypting" name="投标文件解密" camunda:candidateGroups="staff"/>
    <bpmn:serviceTask id="close" name="解密截止" ggzy:service="bids.close_decryption"/>
    <bpmn:userTask id="evaluate" name="评标" camunda:candidateGroups="staff"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="collect"/>
    <bpmn:sequenceFlow id="f2" sourceRef="collect" targetRef="open"/>
    <bpmn:sequenceFlow id="f3" sourceRef="open" targetRef="decrypting"/>
    <bpmn:sequenceFlow id="f4" sourceRef="decrypting" targetRef="close"/>
    <bpmn:sequenceFlow id="f5" sourceRef="close" targetRef="evaluate"/>
    <bpmn:sequenceFlow id="f6" sourceRef="evaluate" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def uscc(n: int) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015 check character) for test organisation n."""
    body = f"91330100{n:09d}"
    total = sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS, strict=True))
    return body + ALPHABET[(31 - total % 31) % 31]


def sealed(plaintext: bytes, key: bytes | None = None) -> tuple[bytes, bytes]:
    """(envelope, key) of a plaintext, as a bidder's tool writes it."""
    key = key or os.urandom(crypto.KEY_LEN)
    return crypto.encrypt(key, plaintext), key


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Bidder:
    """A bidder user: its headers and organisation."""

    headers: dict[str, str]
    org: str
    plaintext: bytes = b""
    key: bytes = b""
    receipt: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trade:
    """One running trade (process instance) with helpers around the bid endpoints."""

    platform: Platform
    client: Any
    make_user: Callable[..., dict[str, str]]
    id: str
    _n: int = 0

    @property
    def url(self) -> str:
        return f"/api/v1/trades/{self.id}/bids"

    def bidder(self, org: str | None = None) -> Bidder:
        self._n += 1
        org = org or uscc(self._n)
        return Bidder(self.make_user("bidder", org=org), org)

    def put(self, who: Bidder | dict[str, str], data: bytes, lot: str = "1", fingerprint: str | None = "fp-1",
            ip: str = "203.0.113.7") -> Any:
        headers = dict(who.headers if isinstance(who, Bidder) else who)
        if fingerprint is not None:
            headers["X-Device-Fingerprint"] = fingerprint
        return self.client.put(self.url, query_string={"lot": lot}, data=data, headers=headers,
                               content_type="application/octet-stream", environ_base={"REMOTE_ADDR": ip})

    def submit(self, who: Bidder, plaintext: bytes | None = None) -> dict[str, Any]:
        """Upload a fresh envelope for the bidder and keep its key; assert 201."""
        who.plaintext = plaintext if plaintext is not None else os.urandom(2000)
        envelope, who.key = sealed(who.plaintext)
        response = self.put(who, envelope)
        assert response.status_code == 201, response.get_json()
        who.receipt = response.get_json()
        return who.receipt

    def withdraw(self, who: Bidder, lot: str = "1") -> Any:
        return self.client.delete(self.url, query_string={"lot": lot},
                                  headers={**who.headers, "X-Device-Fingerprint": "fp-1"})

    def mine(self, who: Bidder | dict[str, str], lot: str = "1") -> Any:
        return self.client.get(f"{self.url}/mine", query_string={"lot": lot},
                               headers=who.headers if isinstance(who, Bidder) else who)

    def listing(self, headers: dict[str, str], lot: str = "1") -> Any:
        return self.client.get(self.url, query_string={"lot": lot}, headers=headers)

    def decrypt(self, who: Bidder, key: bytes | str | None = None, bid_id: str | None = None,
                fingerprint: str | None = "fp-2") -> Any:
        headers = dict(who.headers)
        if fingerprint is not None:
            headers["X-Device-Fingerprint"] = fingerprint
        text = key if isinstance(key, str) else b64(key if key is not None else who.key)
        return self.client.post(f"{self.url}/{bid_id or who.receipt['bid_id']}/decrypt", json={"key": text},
                                headers=headers, environ_base={"REMOTE_ADDR": "198.51.100.9"})

    def at(self, when: datetime) -> None:
        self.platform.clock.set(when)

    def set_variables(self, **values: Any) -> None:
        """Change process variables as a later step (a postponing clarification) would."""
        with self.platform.db.unit_of_work() as session:
            instance = steps.lock_instance(session, self.id)
            instance.variables = {**instance.variables, **values}

    def variables(self) -> dict[str, Any]:
        return instances.get(self.platform, STAFF, self.id)["variables"]

    def complete(self, element_id: str) -> dict[str, Any]:
        """Complete the ready user task with this element id, as staff."""
        view = instances.get(self.platform, STAFF, self.id)
        task = next(t for t in view["tasks"] if t["element_id"] == element_id)
        return tasks.complete(self.platform, STAFF, task["id"], {})

    def bids(self) -> list[Bid]:
        with self.platform.db.sessions() as session:
            return list(session.scalars(select(Bid).where(Bid.instance_id == self.id).order_by(Bid.received_at)))

    def bid_events(self) -> list[BidEvent]:
        with self.platform.db.sessions() as session:
            return list(session.scalars(select(BidEvent).where(BidEvent.instance_id == self.id)
                                        .order_by(BidEvent.id)))


@pytest.fixture(autouse=True)
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Bid files go to a fresh folder per test."""
    folder = tmp_path / "bids"
    monkeypatch.setenv("GGZY_BID_STORAGE", str(folder))
    return folder


def start_trade(platform: Platform, client: Any, make_user: Callable[..., dict[str, str]],
                **variables: Any) -> Trade:
    definitions.deploy_bytes(platform, BPMN.encode(), SYSTEM)
    platform.clock.set(BEFORE)
    view, _ = instances.start(platform, STAFF, "bid_trade", f"T-{uuid.uuid4().hex[:8]}",
                              {"bid_deadline": DEADLINE.isoformat(), **variables})
    return Trade(platform, client, make_user, view["id"])


@pytest.fixture
def trade(platform: Platform, client: Any, make_user: Callable[..., dict[str, str]]) -> Trade:
    """A running trade of region 330100, deadline 2026-12-01 09:30 (+08:00), the clock an hour before."""
    return start_trade(platform, client, make_user)


def files_under(folder: Path) -> list[Path]:
    """Every stored file (ciphertext, plaintext, temporary)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
