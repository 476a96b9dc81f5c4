"""Trades with an auction: the test-only auction_flow BPMN, bidders with paid deposits, the Shanghai clock."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.access import SYSTEM, Actor
from services import definitions, instances, tasks
from services.platform import Platform
from services.trading import deposits
from trading.uscc import check_character

SH = ZoneInfo("Asia/Shanghai")
REGION = "330100"
STAFF = Actor("staff1", frozenset({"staff"}), REGION)
BPMN = Path(__file__).resolve().parents[2] / "fixtures" / "bpmn" / "auction_flow.bpmn"
KEY = "auction_flow_test"


def uscc(n: int) -> str:
    """A valid 统一社会信用代码 of a Hangzhou enterprise, numbered n."""
    body = f"91330100{n:09d}"
    return body + check_character(body)


def at(*parts: int) -> datetime:
    """A time in Asia/Shanghai."""
    return datetime(*parts, tzinfo=SH)  # type: ignore[misc,arg-type]


def bidder(n: int) -> Actor:
    """The actor of bidder n's user."""
    return Actor(f"bidder{n}", frozenset({"bidder"}), None, uscc(n))


def pay(p: Platform, instance_id: str, n: int, amount: str = "100000.00") -> None:
    """Record bidder n's deposit from its own basic account."""
    name = f"竞买人{n}有限公司"
    deposits.record_payment(p, STAFF, instance_id, {
        "bidder_uscc": uscc(n), "bidder_name": name, "amount": amount, "payer_account_no": f"62220{n:06d}",
        "payer_bank": "中国工商银行杭州分行", "payer_account_name": name, "is_basic_account": True,
        "bank_reference": f"BANK-{n}"})


def auction_terms(kind: str = "auction", **extra: Any) -> dict[str, Any]:
    """Process variables of an auction starting 2026-10-10 09:00 Shanghai time."""
    base: dict[str, Any] = {"auction_kind": kind, "start_price": "1000000.00", "increment": "10000.00",
                            "bond_amount": "100000.00", "auction_start": "2026-10-10T09:00:00+08:00",
                            "purchaser_uscc": uscc(50)}
    if kind == "auction":
        base["auction_end"] = "2026-10-10T10:00:00+08:00"
    elif kind == "listing":
        base["auction_end"] = "2026-10-20T15:00:00+08:00"
    else:
        base.update(free_quote_until="2026-10-10T10:00:00+08:00", auction_end="2026-10-10T10:05:00+08:00",
                    extend_window_seconds=300, extend_seconds=300)
    return {**base, **extra}


@pytest.fixture
def open_auction(platform: Platform) -> Callable[..., dict[str, Any]]:
    """open_auction(variables, bidders=(1, 2, 3), before_open=None) -> the instance view once auctions.open ran."""
    definitions.deploy_bytes(platform, BPMN.read_bytes(), SYSTEM)
    counter = iter(range(1, 10_000))

    def start(variables: dict[str, Any] | None = None, bidders: tuple[int, ...] = (1, 2, 3),
              region: str = REGION, before_open: Callable[[], object] | None = None) -> dict[str, Any]:
        platform.clock.set(at(2026, 10, 9, 9, 0))
        view, _ = instances.start(platform, STAFF, KEY, f"A-{next(counter)}", variables or auction_terms(), region)
        for n in bidders:
            pay(platform, view["id"], n)
        if before_open is not None:
            before_open()
        task = next(t for t in view["tasks"] if t["element_id"] == "register")
        return tasks.complete(platform, STAFF, task["id"], {})

    return start


@pytest.fixture
def server(app: Any) -> Iterator[int]:
    """The app served by waitress with the thread count of `ggzy serve`, on a free port."""
    import waitress

    serving: Any = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
    stop = threading.Event()

    def run() -> None:
        # The loop thread itself closes the sockets once it stops polling them: closing them from the test's
        # thread while the loop polls makes it fail on a closed descriptor.
        while not stop.is_set():
            serving.asyncore.loop(timeout=0.05, map=serving._map, use_poll=True, count=1)
        serving.task_dispatcher.shutdown(timeout=10)  # request threads (a stream still running) finish first
        for channel in list(serving._map.values()):
            channel.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield int(serving.effective_port)
    finally:
        stop.set()
        thread.join(timeout=15)
