"""Uploads of one trade that wait to be recorded are recorded together, in one transaction per batch.

Every bid of a trade is recorded under the trade's row lock (its audit chain is one sequence), so in a rush
before a deadline the uploads of a trade queue for that lock, one transaction each. Within a process, the
uploads that wait meanwhile are handed to whichever thread gets to record next, which records them all in
its transaction: the lock is taken, and the commit paid, once per batch instead of once per bid. Each thread
still gets its own outcome (a bid, or the error that refused it) only once that transaction has committed.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


@dataclass
class _Ticket(Generic[Item, Outcome]):
    item: Item
    done: bool = False
    outcome: Outcome | BaseException | None = None


@dataclass
class _Queue(Generic[Item, Outcome]):
    """The tickets of one key waiting to be written, the lock of whoever writes, and how many use it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: list[_Ticket[Item, Outcome]] = field(default_factory=list)
    users: int = 0


class Batcher(Generic[Item, Outcome]):
    """Per key, one writer at a time; it writes every item waiting when its turn comes."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._queues: dict[str, _Queue[Item, Outcome]] = {}

    def waiting(self) -> int:
        """How many items wait for a writer to take them, over all keys."""
        with self._guard:
            return sum(len(queue.waiting) for queue in self._queues.values())

    def run(self, key: str, item: Item,
            write: Callable[[list[Item]], Sequence[Outcome | BaseException]]) -> Outcome:
        """Have item written (with those waiting alongside it) and return its outcome, or raise its error.

        write(items) returns one outcome per item, in order: the item's result, or the exception refusing it
        alone; an exception raised by write itself refuses the whole batch."""
        ticket: _Ticket[Item, Outcome] = _Ticket(item)
        with self._guard:
            queue = self._queues.setdefault(key, _Queue())
            queue.waiting.append(ticket)
            queue.users += 1
        try:
            with queue.lock:
                if not ticket.done:  # nobody took it along: this thread writes what waits now, its own included
                    with self._guard:
                        batch, queue.waiting = queue.waiting, []
                    _write(batch, write)
        finally:
            with self._guard:
                queue.users -= 1
                if not queue.users:
                    del self._queues[key]
        if isinstance(ticket.outcome, BaseException):
            raise ticket.outcome
        return ticket.outcome  # type: ignore[return-value]


def _write(batch: list[_Ticket[Item, Outcome]],
           write: Callable[[list[Item]], Sequence[Outcome | BaseException]]) -> None:
    try:
        outcomes: Sequence[Outcome | BaseException] = write([t.item for t in batch])
        if len(outcomes) != len(batch):
            raise RuntimeError(f"{len(outcomes)} outcomes for a batch of {len(batch)}")
    except BaseException as exc:  # noqa: BLE001 - handed to every thread of the batch, which raises it
        outcomes = [exc] * len(batch)
    for ticket, outcome in zip(batch, outcomes, strict=True):
        ticket.outcome, ticket.done = outcome, True
