"""The batcher that records the uploads waiting for a trade together: outcomes, errors, keys apart."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from services.trading.bid_batches import Batcher


def _wait_for(condition: Any) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_items_waiting_for_a_writer_are_written_together_and_an_error_refuses_only_its_batch():
    batcher: Batcher[int, int] = Batcher()
    gate = threading.Event()
    batches: list[list[int]] = []

    def write(items: list[int]) -> list[int | BaseException]:
        batches.append(items)
        if len(batches) == 1:
            gate.wait(10)
        if 4 in items:
            raise RuntimeError("disk full")
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    outcomes: dict[int, Any] = {}

    def run(key: str, item: int) -> threading.Thread:
        def target() -> None:
            try:
                outcomes[item] = batcher.run(key, item, write)
            except Exception as exc:  # noqa: BLE001 - the outcome under test
                outcomes[item] = exc

        thread = threading.Thread(target=target)
        thread.start()
        return thread

    first = run("trade-1", 2)
    _wait_for(lambda: len(batches) == 1)
    queued = [run("trade-1", 4), run("trade-1", 6)]
    _wait_for(lambda: batcher.waiting() == 2)
    assert batcher.run("trade-2", 8, write) == 80  # another key does not wait for trade-1's writer
    gate.set()
    for thread in [first, *queued]:
        thread.join(timeout=10)

    assert batches == [[2], [8], [4, 6]]
    assert outcomes[2] == 20
    assert all(isinstance(outcomes[i], RuntimeError) for i in (4, 6))
    assert batcher.run("trade-1", 10, write) == 100  # the next writer goes on
    with pytest.raises(ValueError, match="odd 3"):
        batcher.run("trade-1", 3, write)  # an item's own error is raised to its caller alone
    assert batcher.waiting() == 0 and not batcher._queues
