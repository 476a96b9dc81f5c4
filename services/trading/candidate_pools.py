"""The draw's candidate pools, kept in memory between draws (PostgreSQL).

A pool is the ascending ids of the active experts holding any of a set of specialty codes in a region: what
every draw for those codes and region starts from, before the trade's own exclusions. Reading it means
scanning one index entry per candidate (~92,000 for a national draw), yet it changes only when the experts
do. So a pool is kept with the version it was read at (expert_pool_version.counter: how many transactions have
changed specialty rows, read in the same statement as the pool) and used again only while the database, in
the draw's own statement, still reports that version: a kept pool is always the pool the database would give.
A kept pool that is behind is brought up to date (Pool.patched) from the experts the triggers logged as
changed since its version, and which of them the pool's query returns now.

Taking the exclusions out of a kept pool yields the same list, the same candidates_hash (the ids joined by
",", SHA-256) and the same stored format as reading the list from the database; only the work moves.
"""
from __future__ import annotations

import hashlib
import threading
import weakref
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

# The ids a process keeps at most, over all its pools (about 11 bytes each: the id and its text, with a comma).
MAX_KEPT_IDS = 2_000_000


class Pool:
    """One pool: its version, its ids (ascending int32), and their text for hashing any part of the list."""

    __slots__ = ("version", "ids", "_text", "_firsts", "_offsets", "_widths", "_digest")

    def __init__(self, version: int | None, ids: array[int], text: bytes | None = None) -> None:
        """ids ascending; text, when the database sent it, is the ids joined by "," (built here otherwise)."""
        self.version, self.ids = version, ids
        self._text = bytes(text) if text is not None else ",".join(map(str, ids)).encode("ascii")
        # Where each id starts in the text. Ascending ids have non-decreasing lengths, so the ids of one length
        # are consecutive: per length, the position of its first id and that id's offset (a few entries).
        self._firsts, self._offsets, self._widths = [], [], []
        count, offset, position, digits = len(ids), 0, 0, 1
        while position < count:
            upto = bisect_left(ids, 10 ** digits, position)
            if upto > position:
                self._firsts.append(position)
                self._offsets.append(offset)
                self._widths.append(digits + 1)
                offset += (upto - position) * (digits + 1)
            position, digits = upto, digits + 1
        if count and offset - 1 != len(self._text):
            raise ValueError("the pool's text does not match its ids")
        self._digest: str | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def _offset(self, position: int) -> int:
        """Where the id at position starts in the text (len(text) + 1 for the position after the last)."""
        if position >= len(self.ids):
            return len(self._text) + 1
        k = bisect_right(self._firsts, position) - 1
        return self._offsets[k] + (position - self._firsts[k]) * self._widths[k]

    def patched(self, version: int, changed: Sequence[int], members: Sequence[int]) -> Pool:
        """This pool at a later version: each changed id (ascending) is in it if it is among members (the
        changed ids the pool's query now returns), else not. Unchanged runs of ids and text are copied whole."""
        ids, count, size = self.ids, len(self.ids), self.ids.itemsize
        raw, text = memoryview(ids).cast("B"), memoryview(self._text)
        now_in = set(members)
        kept, parts = array(ids.typecode), list[bytes | memoryview]()
        position = 0
        for expert_id in changed:
            at = bisect_left(ids, expert_id, position)
            if at > position:
                kept.frombytes(raw[position * size:at * size])
                parts.append(text[self._offset(position):self._offset(at) - 1])
            if expert_id in now_in:
                kept.append(expert_id)
                parts.append(str(expert_id).encode("ascii"))
            position = at + 1 if at < count and ids[at] == expert_id else at
        if position < count:
            kept.frombytes(raw[position * size:])
            parts.append(text[self._offset(position):])
        return Pool(version, kept, b",".join(parts))

    def without(self, excluded: Sequence[int]) -> tuple[array[int], str]:
        """The pool less the excluded ids (ascending; ids outside the pool are ignored), and its candidates_hash."""
        ids, count = self.ids, len(self.ids)
        firsts, offsets, widths = self._firsts, self._offsets, self._widths
        # Each excluded id found in the pool: its position, where its text starts, and its length with its
        # comma. Ascending, so the length class only moves forward.
        cut: list[tuple[int, int, int]] = []
        low = k = 0
        for expert_id in excluded:
            at = bisect_left(ids, expert_id, low)
            if at == count:
                break
            low = at
            if ids[at] == expert_id:
                while k + 1 < len(firsts) and firsts[k + 1] <= at:
                    k += 1
                cut.append((at, offsets[k] + (at - firsts[k]) * widths[k], widths[k]))
                low = at + 1
        if not cut:
            if self._digest is None:
                self._digest = hashlib.sha256(self._text).hexdigest()
            return ids, self._digest
        # The kept runs between the cuts: their ids copied as bytes, their text hashed in place.
        kept, digest = array(ids.typecode), hashlib.sha256()
        raw, text, size = memoryview(ids).cast("B"), memoryview(self._text), ids.itemsize
        cut.append((count, len(self._text) + 1, 0))  # the end, as if one more id followed
        position = from_text = 0
        for at, start, width in cut:
            if at > position:
                if kept:
                    digest.update(b",")
                kept.frombytes(raw[position * size:at * size])
                digest.update(text[from_text:start - 1])
            position, from_text = at + 1, start + width
        return kept, digest.hexdigest()


class Pools:
    """The pools a process keeps for one database, least recently used dropped first, MAX_KEPT_IDS in all."""

    def __init__(self, max_ids: int = MAX_KEPT_IDS) -> None:
        self.max_ids = max_ids
        self._kept: OrderedDict[Hashable, Pool] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = self.patches = 0

    def get(self, key: Hashable) -> Pool | None:
        with self._lock:
            pool = self._kept.get(key)
            if pool is not None:
                self._kept.move_to_end(key)
            return pool

    def count(self, hit: bool, patched: bool = False) -> None:
        """One draw: its kept pool served as it was (hit), brought up to date (patched), or none did (miss)."""
        with self._lock:
            if hit:
                self.hits += 1
            elif patched:
                self.patches += 1
            else:
                self.misses += 1

    def keep(self, key: Hashable, pool: Pool) -> None:
        """Keep a pool read at a known version (a pool larger than the whole budget is not kept)."""
        if pool.version is None or len(pool) > self.max_ids:
            return
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._kept[key] = pool
            self._size += len(pool)
            while self._size > self.max_ids:
                _, dropped = self._kept.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._size = 0


# One Pools per connection pool (engine), so that two databases never share a kept pool.
_BY_DATABASE: weakref.WeakKeyDictionary[Any, Pools] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def pools_for(bind: Any) -> Pools:
    """The kept pools of the database an engine (or a session's bind) is connected to."""
    with _GUARD:
        pools = _BY_DATABASE.get(bind.pool)
        if pools is None:
            pools = _BY_DATABASE[bind.pool] = Pools()
        return pools
