"""Evaluation committees: their lawful size and the replayable random draw of experts.

The draw is a published algorithm so that anyone holding the seed and the candidate list can replay it:

1. sort the candidate expert ids ascending (the order the database returned them in does not matter);
2. ``random.Random(seed)`` with the seed as a str (CPython seeds a str through SHA-512: the same stream on
   every platform; the platform runs CPython 3.11, and ``sample`` has not changed in later releases);
3. ``rng.sample(sorted_ids, needed + reserves)``: the first ``needed`` are the committee members in order,
   the rest the reserves in the order they replace a member who declines.

The candidate list is fingerprinted by ``candidates_hash``: SHA-256 of the sorted ids joined by ",".

``sample`` reads nothing of its population but its length and the items at the positions it picks, so
``draw_positions`` (sampling ``range(count)``) gives the same draw from the list's length alone: the service
lets PostgreSQL build, hash and send the list, and reads only the picked ids from it.
"""
from __future__ import annotations

import hashlib
import random
import sys
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate

from domain.errors import Invalid, NotFound, StatuteViolation
from domain.statutes import Rule, get_rule

_U32 = next(code for code in "IL" if array(code).itemsize == 4)


@dataclass(frozen=True)
class Candidate:
    """An expert who passed the database filters: only what the exclusions need."""

    id: int
    employer: str | None = None


@dataclass(frozen=True)
class DrawResult:
    """The outcome of one draw, enough to replay and check it."""

    seed: str
    candidates_hash: str
    candidate_count: int
    members: tuple[int, ...]
    reserves: tuple[int, ...]


@dataclass(frozen=True)
class Committee:
    """A committee's composition: total size, the purchaser's representatives, the experts to draw."""

    rule: str
    size: int
    owner_reps: int
    experts: int


def candidates_hash(ids: Iterable[int]) -> str:
    """SHA-256 of the sorted candidate ids joined by commas."""
    return _hash_sorted(sorted(ids))


def _hash_sorted(ids: Iterable[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode("ascii")).hexdigest()


def draw(candidates: Sequence[Candidate], needed: int, reserves: int, seed: str) -> DrawResult:
    """Pick `needed` members and up to `reserves` reserves at random, reproducibly from the seed."""
    return draw_ids([c.id for c in candidates], needed, reserves, seed)


def draw_ids(candidate_ids: Iterable[int], needed: int, reserves: int, seed: str,
             ascending: bool = False) -> DrawResult:
    """draw() on bare ids: the service's path, which never builds an object per candidate.

    ascending=True promises a list already strictly ascending (the service's), which is then not sorted again.
    """
    _check_request(needed, reserves)
    ids = candidate_ids if ascending and isinstance(candidate_ids, list) else sorted(set(candidate_ids))
    take = _take(len(ids), needed, reserves)
    picked = random.Random(seed).sample(ids, take)
    return DrawResult(
        seed=seed,
        candidates_hash=_hash_sorted(ids),
        candidate_count=len(ids),
        members=tuple(picked[:needed]),
        reserves=tuple(picked[needed:]),
    )


def draw_positions(count: int, needed: int, reserves: int, seed: str) -> list[int]:
    """Where draw_ids' picks sit in the ascending list of `count` candidates: members first, then reserves."""
    _check_request(needed, reserves)
    return random.Random(seed).sample(range(count), _take(count, needed, reserves))


def draw_sorted(ids: Sequence[int], needed: int, reserves: int, seed: str,
                ids_hash: str | None = None) -> DrawResult:
    """draw_ids on ids already strictly ascending, reading only the picked ones; ids_hash is candidates_hash
    of the ids when the database computed it."""
    picked = [ids[i] for i in draw_positions(len(ids), needed, reserves, seed)]
    return DrawResult(
        seed=seed,
        candidates_hash=ids_hash if ids_hash is not None else _hash_sorted(ids),
        candidate_count=len(ids),
        members=tuple(picked[:needed]),
        reserves=tuple(picked[needed:]),
    )


def _check_request(needed: int, reserves: int) -> None:
    if needed < 1 or reserves < 0:
        raise Invalid("抽取人数不合法：评标专家至少 1 名，候补不能为负数")


def _take(count: int, needed: int, reserves: int) -> int:
    """How many to pick from `count` candidates; too few for the members is refused."""
    if count < needed:
        raise Invalid(
            f"符合条件的专家不足：需要 {needed} 名，排除回避和不可用人员后仅有 {count} 名，"
            "请扩大专业或地区范围后重新抽取",
            {"needed": needed, "available": count},
        )
    # Members are mandatory; reserves are best effort, so a thin pool still forms a committee.
    return min(needed + reserves, count)


def eligible(candidates: Iterable[Candidate], excluded_employers: Iterable[str],
             excluded_ids: Iterable[int]) -> list[Candidate]:
    """The candidates left after the conflict exclusions, sorted by id."""
    employers = {e.strip().upper() for e in excluded_employers if e}
    ids = set(excluded_ids)
    kept = (c for c in candidates
            if c.id not in ids and not (c.employer and c.employer.strip().upper() in employers))
    return sorted(kept, key=lambda c: c.id)


def committee_size(rule: Rule | str, budget: Decimal | int | str | None, requested: int | None,
                   owner_reps: int = 0) -> Committee:
    """The lawful committee for the rule: odd, at least the rule's minimum, experts at least two thirds."""
    if isinstance(rule, str):
        try:
            rule = get_rule(rule)
        except NotFound:
            raise Invalid(f"未知的评标委员会规则：{rule}") from None
    if rule.kind != "COUNT":
        raise Invalid(f"规则 {rule.id}（{rule.title}）不是人数规则，不能用于组建评标委员会")
    minimum = minimum_size(rule, budget)
    size = minimum if requested is None else requested
    if isinstance(size, bool) or not isinstance(size, int):
        raise Invalid("评标委员会人数必须是整数")
    if isinstance(owner_reps, bool) or not isinstance(owner_reps, int) or owner_reps < 0:
        raise Invalid("招标人代表人数必须是非负整数")
    if size < minimum:
        raise _violation(rule, f"评标委员会应由{minimum}人以上单数组成，不能为 {size} 人")
    if size % 2 == 0:
        raise _violation(rule, f"评标委员会成员人数应为单数，不能为 {size} 人")
    # Experts >= 2/3 of the committee is the same as representatives <= size // 3, in integers.
    if owner_reps > size // 3:
        raise _violation(
            rule, f"{size} 人的评标委员会中技术、经济等方面的专家不得少于三分之二，"
                  f"招标人代表最多 {size // 3} 人，不能为 {owner_reps} 人")
    return Committee(rule=rule.id, size=size, owner_reps=owner_reps, experts=size - owner_reps)


def minimum_size(rule: Rule, budget: Decimal | int | str | None) -> int:
    """The rule's minimum size, raised by its large-budget parameters when the budget reaches them."""
    params = rule.params
    if budget is not None and "large_budget_yuan" in params and "n_large_budget" in params:
        try:
            amount = Decimal(str(budget))
        except ArithmeticError:
            raise Invalid(f"预算金额不合法：{budget!r}") from None
        if amount >= Decimal(str(params["large_budget_yuan"])):
            return int(params["n_large_budget"])
    return rule.n


def pack_ids(ids: Iterable[int], ascending: bool = False) -> bytes:
    """Sorted ids as zlib-compressed 32-bit deltas: 100,000 consecutive-ish ids take a few kB.

    ascending=True promises ids already in ascending order (a list, or an array of 32-bit ids), not sorted again.
    """
    ordered = ids if ascending and isinstance(ids, list | array) else sorted(ids)
    values = ordered if isinstance(ordered, array) and ordered.itemsize == 4 else array(_U32, ordered)
    if sys.byteorder != "little":  # stored little-endian whatever the machine
        values = array(values.typecode, values)
        values.byteswap()
    return zlib.compress(_deltas_le(values.tobytes()), 1)


def _deltas_le(data: bytes) -> bytes:
    """Each little-endian u32 of an ascending run minus the one before it (the first minus 0), all at once.

    Read as one integer, the run is the sum of v[i] * 2**(32 i); subtracting itself shifted one slot up
    leaves (v[i] - v[i-1]) in slot i. Ascending values make every difference fit its slot, so no borrow
    crosses slots: the same bytes as subtracting id by id, without a Python int per id.
    """
    whole = int.from_bytes(data, "little")
    below = (whole << 32) & ((1 << (8 * len(data))) - 1)
    return (whole - below).to_bytes(len(data), "little")


def unpack_ids(packed: bytes) -> list[int]:
    """The ids that pack_ids stored, in ascending order."""
    deltas = array(_U32)
    deltas.frombytes(zlib.decompress(packed))
    if sys.byteorder != "little":
        deltas.byteswap()
    return list(accumulate(deltas))


def _violation(rule: Rule, text: str) -> StatuteViolation:
    return StatuteViolation(f"{text}（{rule.citation}）", rule=rule.id, citation=rule.citation)
