"""The expert pool (评标专家库): register experts, their availability and blacklisting, and the draw's query."""
from __future__ import annotations

import hashlib
import re
import struct
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, String, cast, func, select, update
from sqlalchemy.orm import Session

from domain.access import Actor, is_valid_region, region_prefix
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models import User
from persistence.models_experts import (
    CommitteeMember,
    Expert,
    ExpertRecusal,
    ExpertSpecialty,
    ExpertUnavailability,
)
from services import audit
from services.platform import Platform
from services.trading import candidate_pools
from trading import uscc

MANAGERS = ("admin", "staff")
READERS = ("admin", "staff", "supervisor")
SPECIALTY = re.compile(r"^[A-Z][0-9]{2,12}$")
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_INT4 = next(code for code in "il" if array(code).itemsize == 4)
_INT4_OID = 23


def create_expert(p: Platform, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """Register an expert in the pool (admin, staff of the expert's region)."""
    _require(actor, MANAGERS, "只有管理员或交易中心工作人员可以管理专家库")
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 50:
        raise Invalid("专家姓名必填，最长 50 个字符", [{"field": "name", "message": "必填"}])
    id_number = clean_id_number(data.get("id_number"))
    region = str(data.get("region") or "").strip()
    if not is_valid_region(region):
        raise Invalid("行政区划代码不合法", [{"field": "region", "message": "应为 6 位数字，如 330100"}])
    if not actor.covers(region):
        raise Forbidden(f"无权在区域 {region} 登记专家")
    codes = clean_codes(data.get("specialties"))
    employer = uscc.clean(str(data["employer_uscc"]), "employer_uscc") if data.get("employer_uscc") else None
    username = str(data.get("username") or "").strip() or None
    available = data.get("available", True)
    if not isinstance(available, bool):
        raise Invalid("available 必须是布尔值")

    def use_case(session: Session) -> dict[str, Any]:
        if session.scalar(select(Expert.id).where(Expert.id_number_hash == hash_id_number(id_number))):
            raise Conflict("该身份证号码的专家已在专家库中")
        if username is not None:
            _check_username(session, username)
        now = p.clock.now()
        expert = Expert(name=name, id_number_hash=hash_id_number(id_number), id_number_masked=mask_id_number(id_number),
                        region=region, employer_uscc=employer, username=username, available=available,
                        blacklisted=False, created_at=now, updated_at=now)
        session.add(expert)
        session.flush()
        session.add_all(ExpertSpecialty(expert_id=expert.id, code=code, region=region, active=available)
                        for code in codes)
        audit.append(session, audit.PLATFORM_CHAIN, "experts.registered", actor, now,
                     {"expert_id": expert.id, "region": region, "specialties": codes})
        return expert_view(session, expert)

    return p.db.run(use_case)  # type: ignore[no-any-return]


def get_expert(p: Platform, actor: Actor, expert_id: int) -> dict[str, Any]:
    """One expert with specialties and unavailable periods (admin, staff, supervisor)."""
    _require(actor, READERS, "无权查看专家库")
    with p.db.sessions() as session:
        return expert_view(session, _load(session, actor, expert_id))


def list_experts(p: Platform, actor: Actor, specialty: str | None = None, region: str | None = None,
                 page: int = 1, per_page: int = 50) -> dict[str, Any]:
    """A page of the pool in the caller's region, optionally by specialty code and region."""
    _require(actor, READERS, "无权查看专家库")
    query = select(Expert)
    if specialty:
        query = query.join(ExpertSpecialty, ExpertSpecialty.expert_id == Expert.id).where(
            ExpertSpecialty.code == specialty.strip().upper())
    for scope in (region, actor.region):
        if scope:
            low, high = region_range(scope)
            query = query.where(Expert.region.between(low, high))
    with p.db.sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(Expert.id).offset((page - 1) * per_page).limit(per_page))
        return {"items": [expert_view(session, e) for e in rows], "page": page, "per_page": per_page,
                "total": total}


def set_availability(p: Platform, actor: Actor, expert_id: int, available: bool | None,
                     periods: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Switch an expert on or off and/or replace their unavailable periods (inclusive dates)."""
    _require(actor, MANAGERS, "只有管理员或交易中心工作人员可以管理专家库")
    if available is not None and not isinstance(available, bool):
        raise Invalid("available 必须是布尔值")
    spans = None if periods is None else [_period(item) for item in periods]

    def use_case(session: Session) -> dict[str, Any]:
        expert = _load(session, actor, expert_id)
        now = p.clock.now()
        if available is not None:
            expert.available = available
        if spans is not None:
            for old in session.scalars(select(ExpertUnavailability).where(
                    ExpertUnavailability.expert_id == expert.id)):
                session.delete(old)
            session.add_all(ExpertUnavailability(expert_id=expert.id, starts_on=s, ends_on=e, reason=r)
                            for s, e, r in spans)
        expert.updated_at = now
        _sync(session, expert)
        audit.append(session, audit.PLATFORM_CHAIN, "experts.availability", actor, now, {
            "expert_id": expert.id, "available": expert.available,
            "periods": None if spans is None else [[s.isoformat(), e.isoformat()] for s, e, _ in spans]})
        return expert_view(session, expert)

    return p.db.run(use_case)  # type: ignore[no-any-return]


def set_blacklist(p: Platform, actor: Actor, expert_id: int, blacklisted: bool, reason: str | None) -> dict[str, Any]:
    """Put an expert on the blacklist with a reason, or lift it; a blacklisted expert is never drawn."""
    _require(actor, MANAGERS, "只有管理员或交易中心工作人员可以管理专家库")
    reason = (reason or "").strip() or None
    if blacklisted and not reason:
        raise Invalid("列入黑名单必须说明理由", [{"field": "reason", "message": "必填"}])

    def use_case(session: Session) -> dict[str, Any]:
        expert = _load(session, actor, expert_id)
        now = p.clock.now()
        expert.blacklisted, expert.blacklist_reason, expert.updated_at = blacklisted, reason, now
        _sync(session, expert)
        audit.append(session, audit.PLATFORM_CHAIN, "experts.blacklisted" if blacklisted else "experts.unblacklisted",
                     actor, now, {"expert_id": expert.id, "reason": reason})
        return expert_view(session, expert)

    return p.db.run(use_case)  # type: ignore[no-any-return]


# --- the draw's query ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligible:
    """The draw's candidates after the exclusions, and what the audit records about them."""

    ids: Sequence[int]  # distinct, ascending
    filtered: int  # candidates before the exclusions
    ids_hash: str | None = None  # trading.experts.candidates_hash(ids), when the database computed it


def eligible(session: Session, codes: list[str], region: str | None, employers: list[str], day: date,
             instance_id: str, drawn_for: int | None = None) -> Eligible:
    """The candidates less the conflicted: employees of `employers`, away on `day`, recused from the trade,
    and, with drawn_for, anyone already drawn for that committee."""
    if session.get_bind().dialect.name == "postgresql":
        return _eligible_pg(session, codes, region, employers, day, instance_id, drawn_for)
    return _eligible_py(session, codes, region, employers, day, instance_id, drawn_for)


def _eligible_py(session: Session, codes: list[str], region: str | None, employers: list[str], day: date,
                 instance_id: str, drawn_for: int | None) -> Eligible:
    found = candidates(session, codes, region)
    # The exclusions are small sets of ids, each from an indexed lookup.
    excluded = employed_by(session, employers) | unavailable_on(session, day) | set(session.scalars(
        select(ExpertRecusal.expert_id).where(ExpertRecusal.instance_id == instance_id)))
    if drawn_for is not None:
        excluded |= set(session.scalars(select(CommitteeMember.expert_id).where(
            CommitteeMember.committee_id == drawn_for)))
    # The candidates come ascending and distinct; filtering keeps that order, so nothing is sorted again.
    return Eligible([i for i in found if i not in excluded], len(found))


def candidates(session: Session, codes: list[str], region: str | None) -> list[int]:
    """Ids of the active experts with any of the specialty codes, in the region (and its subdivisions), ascending."""
    # One range scan of ix_expert_specialties_code per code, answered from the index alone.
    query = select(ExpertSpecialty.expert_id).where(ExpertSpecialty.code.in_(codes),
                                                    ExpertSpecialty.active.is_(True))
    if region:
        low, high = region_range(region)
        query = query.where(ExpertSpecialty.region.between(low, high))
    if len(codes) > 1:
        query = query.distinct()
    return sorted(_ids(session, query))


def unavailable_on(session: Session, day: date) -> set[int]:
    """Experts with an unavailable period covering the day (periods ended earlier are never read)."""
    return set(_ids(session, select(ExpertUnavailability.expert_id).where(
        ExpertUnavailability.ends_on >= day, ExpertUnavailability.starts_on <= day)))


def employed_by(session: Session, employers: list[str]) -> set[int]:
    """Experts whose employer is one of the organisations (bidders, the purchaser)."""
    if not employers:
        return set()
    return set(session.scalars(select(Expert.id).where(Expert.employer_uscc.in_(employers))))


def region_range(region: str) -> tuple[str, str]:
    """A region and its subdivisions as a range of 6-digit codes: 330000 → 330000..339999."""
    # A range of equal-length digit strings orders the same under every collation, unlike LIKE 'prefix%'.
    prefix = region_prefix(region)
    if not prefix.isdigit():
        raise Invalid(f"行政区划代码不合法：{region}")
    return prefix.ljust(6, "0"), prefix.ljust(6, "9")


# --- values -------------------------------------------------------------------------------------------


def clean_codes(value: Any) -> list[str]:
    """Specialty codes (评标专家专业分类, e.g. A080101): a non-empty list, upper case, without repeats."""
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list) or not value or len(value) > 50:
        raise Invalid("评标专业代码必须是 1 到 50 个代码的列表", [{"field": "specialties", "message": "如 [\"A080101\"]"}])
    codes = sorted({str(v).strip().upper() for v in value})
    bad = [c for c in codes if not SPECIALTY.match(c)]
    if bad:
        raise Invalid(f"评标专业代码不合法：{', '.join(bad)}（应为 1 个大写字母加数字，如 A080101）")
    return codes


def clean_id_number(value: Any) -> str:
    """A resident ID number (GB 11643-1999): 17 digits and the check character."""
    number = str(value or "").strip().upper()
    if not _ID_NUMBER.match(number):
        raise Invalid("身份证号码应为 18 位", [{"field": "id_number", "message": "17 位数字加校验位"}])
    check = "10X98765432"[sum(int(c) * w for c, w in zip(number[:17], _ID_WEIGHTS, strict=True)) % 11]
    if number[17] != check:
        raise Invalid("身份证号码校验位错误", [{"field": "id_number", "message": f"第 18 位应为 {check}"}])
    return number


def hash_id_number(number: str) -> str:
    """The stored fingerprint of an ID number: enough to refuse a second registration, never shown."""
    return hashlib.sha256(f"ggzy-expert-id:{number}".encode()).hexdigest()


def mask_id_number(number: str) -> str:
    """330106**********1234 style: region and last four only."""
    return number[:6] + "*" * 8 + number[-4:]


def expert_view(session: Session, expert: Expert) -> dict[str, Any]:
    """An expert as staff see them (never the ID number itself)."""
    codes = list(session.scalars(select(ExpertSpecialty.code).where(ExpertSpecialty.expert_id == expert.id)
                                 .order_by(ExpertSpecialty.code)))
    periods = session.scalars(select(ExpertUnavailability).where(ExpertUnavailability.expert_id == expert.id)
                              .order_by(ExpertUnavailability.starts_on))
    return {
        "id": expert.id, "name": expert.name, "id_number_masked": expert.id_number_masked, "region": expert.region,
        "employer_uscc": expert.employer_uscc, "username": expert.username, "specialties": codes,
        "available": expert.available, "blacklisted": expert.blacklisted, "blacklist_reason": expert.blacklist_reason,
        "unavailable_periods": [{"starts_on": u.starts_on.isoformat(), "ends_on": u.ends_on.isoformat(),
                                 "reason": u.reason} for u in periods],
        "created_at": expert.created_at.isoformat(),
    }


def _ids(session: Session, query: Select[Any]) -> list[int]:
    """The query's ids as one comma-joined string: with tens of thousands of candidates, handling a row per
    id costs several times more than the index scan itself."""
    subquery = query.subquery()
    text = session.scalar(select(func.aggregate_strings(cast(subquery.c[0], String), ",")))
    return [int(i) for i in text.split(",")] if text else []


# eligible() on PostgreSQL: one statement, so one snapshot, and only arrays travel (binary int4[]). It reads the
# pool's version (the counter of changes to expert_specialties, kept by triggers) and the excluded ids; and,
# unless the process keeps the pool at that version, either what changed since the kept one (the experts
# logged since, and which of them the pool's query returns now: a few index look-ups) or, with no kept pool,
# one older than the log reaches, or more than PATCH_MOST changed experts, the pool itself. A CASE runs its subquery
# only when its condition holds. The pool comes out of ix_expert_specialties_code_id in id order (no sort),
# followed by its text (the ids joined by ","), which the server writes far faster than Python would; OFFSET 0
# keeps the array from being built once per use.
PATCH_MOST = 2_000
_ELIGIBLE_PG = """
SELECT v.counter, COALESCE(v.xact_id = txid_current_if_assigned(), false),
       CASE WHEN v.counter = %(kept)s OR ch.ids IS NOT NULL THEN NULL ELSE (
           SELECT array_send(ids) || convert_to(array_to_string(ids, ','), 'UTF8')
           FROM (SELECT ARRAY({pool} ORDER BY expert_id) AS ids OFFSET 0) AS pool) END,
       array_send(ch.ids),
       CASE WHEN ch.ids IS NOT NULL THEN array_send(ARRAY({pool} AND expert_id = ANY(ch.ids) ORDER BY expert_id)) END,
       array_send(ARRAY(
           SELECT id FROM experts WHERE employer_uscc = ANY(%(employers)s)
           UNION SELECT expert_id FROM expert_unavailability WHERE ends_on >= %(day)s AND starts_on <= %(day)s
           UNION SELECT expert_id FROM expert_recusals WHERE instance_id = %(instance_id)s
           UNION SELECT expert_id FROM expert_committee_members WHERE committee_id = %(drawn_for)s
           ORDER BY 1))
FROM (SELECT 1) AS one LEFT JOIN expert_pool_version AS v ON v.id = 1
LEFT JOIN LATERAL (
    SELECT ARRAY(SELECT DISTINCT expert_id FROM expert_pool_changes WHERE counter > %(kept)s
                 ORDER BY 1 LIMIT {most} + 1) AS ids
    WHERE v.counter > %(kept)s AND %(kept)s + 1 >= v.log_from
) AS logged ON true
LEFT JOIN LATERAL (SELECT logged.ids WHERE cardinality(logged.ids) <= {most}) AS ch ON true
"""


def _eligible_pg(session: Session, codes: list[str], region: str | None, employers: list[str], day: date,
                 instance_id: str, drawn_for: int | None) -> Eligible:
    # (expert_id, code) is the key, so only several codes can yield an id twice.
    several = len(set(codes)) > 1
    span = region_range(region) if region else None
    key = (tuple(sorted(set(codes))), span)
    pools = candidate_pools.pools_for(session.get_bind())
    kept = pools.get(key)
    params: dict[str, Any] = {"codes": list(codes), "code": codes[0] if codes else None,
                              "employers": list(employers), "day": day, "instance_id": instance_id,
                              "drawn_for": drawn_for, "kept": kept.version if kept else None}
    pool = ("SELECT DISTINCT expert_id FROM expert_specialties WHERE code = ANY(%(codes)s)" if several else
            "SELECT expert_id FROM expert_specialties WHERE code = %(code)s") + " AND active"
    if span is not None:
        params["low"], params["high"] = span
        pool += " AND region BETWEEN %(low)s AND %(high)s"
    sql = _ELIGIBLE_PG.format(pool=pool, most=PATCH_MOST)
    # The driver's binary cursor on the session's own connection, so the read stays in this transaction.
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor(binary=True) as cursor:
        version, mine, read, changed, members, excluded = cursor.execute(sql, params).fetchone()
    if read is not None:
        data = bytes(read)
        ids, size = _int4_array_prefix(data)  # the int4[] first, then its text
        found = candidate_pools.Pool(version, ids, data[size:])
    else:
        assert kept is not None  # the statement sends no pool only to a process that keeps one
        found = kept if changed is None else kept.patched(version, _int4_array(changed), _int4_array(members))
    pools.count(hit=found is kept, patched=changed is not None)
    if found is not kept and not mine:  # a pool this transaction changed itself is no one else's pool (yet)
        pools.keep(key, found)
    eligible_ids, digest = found.without(_int4_array(excluded))
    return Eligible(eligible_ids, len(found), digest)


def _int4_array(data: bytes) -> array[int]:
    """An int4[] in PostgreSQL's binary format (array_send): a header, then each value after its length."""
    values, size = _int4_array_prefix(data)
    if size != len(data):
        raise ValueError("not a one-dimensional int4[] without nulls")
    return values


def _int4_array_prefix(data: bytes) -> tuple[array[int], int]:
    """The int4[] at the start of data (array_send), and how many bytes it took."""
    ndim, _, oid = struct.unpack_from("!iiI", data)
    if ndim == 0:
        return array(_INT4), 12
    count = struct.unpack_from("!i", data, 12)[0]
    size = 20 + 8 * count
    if ndim != 1 or oid != _INT4_OID or len(data) < size:
        raise ValueError("not a one-dimensional int4[] without nulls")
    words = array(_INT4, data[20:size])
    if sys.byteorder == "little":
        words.byteswap()
    return words[1::2], size


def _sync(session: Session, expert: Expert) -> None:
    """Copy what the draw filters on into the expert's specialty rows."""
    session.execute(update(ExpertSpecialty).where(ExpertSpecialty.expert_id == expert.id).values(
        region=expert.region, active=expert.available and not expert.blacklisted))


def _period(item: Any) -> tuple[date, date, str | None]:
    try:
        start, end = date.fromisoformat(str(item["starts_on"])), date.fromisoformat(str(item["ends_on"]))
    except (KeyError, TypeError, ValueError):
        raise Invalid("不可用时段应为 {starts_on, ends_on}（YYYY-MM-DD）") from None
    if end < start:
        raise Invalid(f"不可用时段的结束日期 {end} 早于开始日期 {start}")
    reason = str(item.get("reason") or "").strip()[:200] or None
    return start, end, reason


def _check_username(session: Session, username: str) -> None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or "expert" not in user.roles:
        raise Invalid(f"用户 {username} 不存在或不具有评标专家角色", [{"field": "username", "message": "需为专家用户"}])
    if session.scalar(select(Expert.id).where(Expert.username == username)) is not None:
        raise Conflict(f"用户 {username} 已关联其他专家")


def _load(session: Session, actor: Actor, expert_id: int) -> Expert:
    expert = session.get(Expert, expert_id, populate_existing=True)
    if expert is None:
        raise NotFound(f"专家 {expert_id} 不存在")
    if not actor.covers(expert.region):
        raise Forbidden("无权管理其他区域的专家")
    return expert


def _require(actor: Actor, roles: tuple[str, ...], message: str) -> None:
    if not actor.has(*roles):
        raise Forbidden(message)
