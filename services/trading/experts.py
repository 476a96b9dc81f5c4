"""The expert pool (评标专家库), the random draw of a committee, and the drawn experts' answers.

The draw filters the pool in SQL on one index (specialty code, active = available and not blacklisted,
region range) less the exclusions (employees of the bidders and of the purchaser, experts away on the
evaluation day, recused, already drawn): expert_pool.eligible, one statement on PostgreSQL that also hashes
the list. The random pick is trading.experts.draw_sorted (the published draw_ids, reading only the picked
ids), replayable from the seed and the candidate list stored with the draw (the seed and the list's hash
also go into the instance's audit chain).
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.access import Actor, is_valid_region
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models import Event, ProcessInstance
from persistence.models_experts import (
    CommitteeMember,
    Evaluation,
    Expert,
    ExpertCommittee,
    ExpertDraw,
    ExpertRecusal,
)
from services import audit, steps
from services.platform import Platform
from services.service_tasks import ServiceCall, service_task
from services.trading import expert_pool as pool
from trading import uscc
from trading.experts import candidates_hash, committee_size, draw_ids, draw_sorted, pack_ids, unpack_ids

OVERSEERS = ("staff", "supervisor", "admin")
REPLAYERS = ("staff", "supervisor")
VIEWERS = (*OVERSEERS, "purchaser", "agency", "bidder", "expert")
SEATED = ("pending", "confirmed")
DEFAULT_RESERVES = 2
DEFAULT_RULE = "cons.committee"


# --- the draw -----------------------------------------------------------------------------------------


def draw_committee(p: Platform, actor: Actor, instance_id: str, specialties: list[str], size: int | None = None,
                   owner_reps: int = 0, reserves: int = DEFAULT_RESERVES, region: str | None = None,
                   exclusions: Iterable[str] = (), lot: str | None = None, rule: str = DEFAULT_RULE,
                   budget: Any = None, evaluation_date: Any = None) -> dict[str, Any]:
    """Draw a trade's committee at random (staff); on an existing committee, fill its vacant seats."""
    if not actor.has("staff"):
        raise Forbidden("只有交易中心工作人员可以抽取评标专家")

    def use_case(session: Session) -> dict[str, Any]:
        instance = steps.lock_instance(session, instance_id)
        if not actor.covers(instance.region):
            raise Forbidden("无权为其他区域的交易抽取专家")
        committee = form_committee(
            session, p, actor, p.clock.now(), instance, dict(instance.variables), clean_lot(lot), specialties,
            size, owner_reps, reserves, region, exclusions, rule, budget, evaluation_date)
        return committee_view(session, actor, instance, committee)

    return p.db.run(use_case)  # type: ignore[no-any-return]


def form_committee(session: Session, p: Platform, actor: Actor | None, now: datetime, instance: ProcessInstance,
                   variables: dict[str, Any], lot: str, specialties: Any, size: Any, owner_reps: Any, reserves: Any,
                   region: str | None, exclusions: Iterable[str], rule: str, budget: Any,
                   evaluation_date: Any) -> ExpertCommittee:
    """Create the committee and draw it, or redraw its vacant seats; the caller holds the instance lock."""
    existing = _committee(session, instance.id, lot)
    if existing is not None:
        vacant = existing.experts_needed - _seated_count(session, existing.id)
        if vacant <= 0:
            raise Conflict(f"标段 {lot} 的评标委员会已经组建，没有空缺席位")
        _refresh_conflicts(session, existing, variables, exclusions)
        _draw_seats(session, p, actor, now, existing, vacant, "redraw")
        return existing
    shape = committee_size(rule, budget if budget is not None else variables.get("budget"), _int(size, "committee_size"),
                           _int(owner_reps, "owner_reps") or 0)
    reserves = _int(reserves, "reserves")
    reserves = DEFAULT_RESERVES if reserves is None else reserves
    if not 0 <= reserves <= 20:
        raise Invalid("候补专家人数应在 0 到 20 之间")
    region = (region or instance.region or "").strip() or None
    if region is not None and not is_valid_region(region):
        raise Invalid("抽取地区应为 6 位行政区划代码")
    committee = ExpertCommittee(
        instance_id=instance.id, lot=lot, rule=shape.rule, size=shape.size, owner_reps=shape.owner_reps,
        experts_needed=shape.experts, reserves=reserves, specialties=pool.clean_codes(specialties),
        region=region, evaluation_date=_evaluation_date(p, evaluation_date or variables.get("evaluation_date")),
        excluded_employers=_conflicting_employers(session, instance.id, lot, variables, exclusions),
        created_at=now, created_by=actor.username if actor else None,
    )
    session.add(committee)
    session.flush()
    _draw_seats(session, p, actor, now, committee, shape.experts, "initial")
    return committee


def _draw_seats(session: Session, p: Platform, actor: Actor | None, now: datetime, committee: ExpertCommittee,
                needed: int, reason: str) -> ExpertDraw:
    """One recorded draw of `needed` members plus the committee's reserves."""
    first = reason == "initial"  # a new committee has no seats yet: none to exclude or to number after
    # Nobody drawn before, declined or not, is drawn again for the same committee.
    found = pool.eligible(session, committee.specialties, committee.region, committee.excluded_employers,
                          committee.evaluation_date, committee.instance_id, None if first else committee.id)
    seed = secrets.token_hex(16)
    result = draw_sorted(found.ids, needed, committee.reserves, seed, found.ids_hash)
    event = audit.append(session, committee.instance_id, "experts.drawn", actor, now, {
        "committee_id": committee.id, "lot": committee.lot, "reason": reason, "seed": seed,
        "candidates_hash": result.candidates_hash, "candidate_count": result.candidate_count,
        "filtered_count": found.filtered, "needed": needed, "reserves_requested": committee.reserves,
        "members": list(result.members), "reserves": list(result.reserves),
        "algorithm": "random.Random(seed).sample(sorted(candidate_ids), needed + reserves)",
    })
    row = ExpertDraw(
        committee_id=committee.id, instance_id=committee.instance_id, reason=reason, seed=seed,
        candidates_hash=result.candidates_hash, candidate_count=result.candidate_count,
        candidates=pack_ids(found.ids, ascending=True), needed=needed, reserves_requested=committee.reserves,
        members=list(result.members), reserves=list(result.reserves), event_seq=event.seq, created_at=now,
        created_by=actor.username if actor else None,
    )
    session.add(row)
    session.flush()
    seat = 0 if first else _last_position(session, committee.id, reserve=False)
    turn = 0 if first else _last_position(session, committee.id, reserve=True)
    for i, expert_id in enumerate(result.members, start=1):
        session.add(CommitteeMember(committee_id=committee.id, expert_id=expert_id, draw_id=row.id,
                                    position=seat + i, status="pending"))
    for i, expert_id in enumerate(result.reserves, start=1):
        session.add(CommitteeMember(committee_id=committee.id, expert_id=expert_id, draw_id=row.id,
                                    position=turn + i, status="reserve"))
    session.flush()
    return row


def replay_draw(p: Platform, actor: Actor, draw_id: int) -> bool:
    """Recompute a draw from the audited seed and the stored candidate list; True when everything matches."""
    if not actor.has(*REPLAYERS):
        raise Forbidden("只有交易中心工作人员或行政监督人员可以复核专家抽取")

    def use_case(session: Session) -> bool:
        row = session.get(ExpertDraw, draw_id)
        if row is None:
            raise NotFound(f"专家抽取记录 {draw_id} 不存在")
        instance = steps.lock_instance(session, row.instance_id)
        if not actor.covers(instance.region):
            raise Forbidden("无权复核其他区域的专家抽取")
        event = session.scalar(select(Event).where(Event.instance_id == row.instance_id,
                                                   Event.seq == row.event_seq))
        ids = unpack_ids(row.candidates)
        recorded = event.data if event is not None and event.type == "experts.drawn" else {}
        matches = False
        if recorded and candidates_hash(ids) == recorded.get("candidates_hash") == row.candidates_hash:
            try:
                again = draw_ids(ids, recorded["needed"], recorded["reserves_requested"], recorded["seed"])
                matches = (list(again.members), list(again.reserves)) == (recorded["members"], recorded["reserves"])
                matches = matches and (row.members, row.reserves) == (recorded["members"], recorded["reserves"])
            except (Invalid, KeyError, TypeError):
                matches = False
        _, broken = audit.verify(session, row.instance_id)
        matches = matches and broken is None
        audit.append(session, row.instance_id, "experts.draw_replayed", actor, p.clock.now(),
                     {"draw_id": row.id, "matches": matches})
        return matches

    return p.db.run(use_case)  # type: ignore[no-any-return]


@service_task("experts.draw", "抽取评标专家")
def draw_task(call: ServiceCall) -> dict[str, Any]:
    """Draw the committee from the process variables; returns committee_id, experts_needed and draw_id."""
    v = call.data
    lot = clean_lot(v.get("lot"))
    existing = _committee(call.session, call.instance.id, lot)
    if existing is not None and _seated_count(call.session, existing.id) >= existing.experts_needed:
        committee = existing  # the step ran before: the same answer, no second draw
    else:
        committee = form_committee(
            call.session, call.platform, call.actor, call.now, call.instance, v, lot, v.get("expert_specialties"),
            v.get("committee_size"), v.get("owner_reps") or 0, v.get("reserves", DEFAULT_RESERVES),
            v.get("expert_region"), v.get("bidder_usccs") or (), str(v.get("committee_rule") or DEFAULT_RULE),
            v.get("budget"), v.get("evaluation_date"))
    last = call.session.scalar(select(func.max(ExpertDraw.id)).where(ExpertDraw.committee_id == committee.id))
    return {"committee_id": committee.id, "experts_needed": committee.experts_needed, "draw_id": last}


# --- the drawn experts' answers -----------------------------------------------------------------------


def confirm(p: Platform, actor: Actor, instance_id: str, member_id: int) -> dict[str, Any]:
    """The drawn expert confirms attendance."""
    def use_case(session: Session) -> dict[str, Any]:
        instance, committee, member = _own_seat(session, actor, instance_id, member_id)
        if member.status != "confirmed":
            if member.status != "pending":
                raise Conflict(f"该席位状态为 {member.status}，不能确认参加")
            now = p.clock.now()
            member.status, member.responded_at = "confirmed", now
            audit.append(session, instance.id, "experts.confirmed", actor, now, {"member_id": member.id})
        return committee_view(session, actor, instance, committee)

    return p.db.run(use_case)  # type: ignore[no-any-return]


def decline(p: Platform, actor: Actor, instance_id: str, member_id: int, reason: str | None = None) -> dict[str, Any]:
    """The drawn expert declines; the seat goes to the next reserve, or to a fresh draw when none is left."""
    def use_case(session: Session) -> dict[str, Any]:
        instance, committee, member = _own_seat(session, actor, instance_id, member_id)
        if member.status not in SEATED:
            raise Conflict(f"该席位状态为 {member.status}，不能拒绝")
        if session.scalar(select(Evaluation.id).where(Evaluation.committee_id == committee.id)) is not None:
            raise Conflict("评标已经开始，不能再拒绝参加；如需回避请申请回避")
        now = p.clock.now()
        member.status, member.responded_at, member.note = "declined", now, reason
        audit.append(session, instance.id, "experts.declined", actor, now, {"member_id": member.id})
        _fill(session, p, actor, now, committee, member)
        return committee_view(session, actor, instance, committee)

    return p.db.run(use_case)  # type: ignore[no-any-return]


def recuse(p: Platform, actor: Actor, instance_id: str, member_id: int, reason: str | None = None) -> dict[str, Any]:
    """The expert declares a conflict (回避): excluded from this trade for good, the seat refilled."""
    def use_case(session: Session) -> dict[str, Any]:
        instance, committee, member = _own_seat(session, actor, instance_id, member_id)
        if member.status not in (*SEATED, "reserve"):
            raise Conflict(f"该席位状态为 {member.status}，无需回避")
        if session.scalar(select(Evaluation.id).where(Evaluation.committee_id == committee.id,
                                                      Evaluation.status == "closed")) is not None:
            raise Conflict("评标已经结束，不能再申请回避")
        now = p.clock.now()
        was_seated = member.status in SEATED
        member.status, member.responded_at, member.note = "recused", now, reason
        if session.scalar(select(ExpertRecusal.id).where(ExpertRecusal.instance_id == instance.id,
                                                         ExpertRecusal.expert_id == member.expert_id)) is None:
            session.add(ExpertRecusal(instance_id=instance.id, expert_id=member.expert_id, reason=reason,
                                      declared_at=now, declared_by=actor.username))
        audit.append(session, instance.id, "experts.recused", actor, now, {"member_id": member.id})
        if was_seated:
            _fill(session, p, actor, now, committee, member)
        return committee_view(session, actor, instance, committee)

    return p.db.run(use_case)  # type: ignore[no-any-return]


def _fill(session: Session, p: Platform, actor: Actor, now: datetime, committee: ExpertCommittee,
          vacated: CommitteeMember) -> None:
    """Give a vacated seat to the first reserve, or draw afresh; a pool too thin leaves the seat vacant."""
    reserve = session.scalar(select(CommitteeMember).where(
        CommitteeMember.committee_id == committee.id, CommitteeMember.status == "reserve",
    ).order_by(CommitteeMember.position).limit(1))
    if reserve is not None:
        reserve.status, reserve.position = "pending", _last_position(session, committee.id, reserve=False) + 1
        audit.append(session, committee.instance_id, "experts.replaced", actor, now,
                     {"vacated": vacated.id, "member_id": reserve.id, "source": "reserve"})
        return
    instance = session.get(ProcessInstance, committee.instance_id)
    _refresh_conflicts(session, committee, dict(instance.variables) if instance else {}, ())
    try:
        # draw() refuses a thin pool before anything is written, so the answer itself still stands.
        _draw_seats(session, p, actor, now, committee, 1, "redraw")
    except Invalid as exc:
        # The answer stands; staff redraw the vacant seat (POST .../committee/draw) once the pool allows.
        audit.append(session, committee.instance_id, "experts.redraw_failed", actor, now,
                     {"vacated": vacated.id, "message": exc.message})


def _own_seat(session: Session, actor: Actor, instance_id: str,
              member_id: int) -> tuple[ProcessInstance, ExpertCommittee, CommitteeMember]:
    if not actor.has("expert"):
        raise Forbidden("只有被抽中的评标专家本人可以答复")
    instance = steps.lock_instance(session, instance_id)
    member = session.get(CommitteeMember, member_id, populate_existing=True)
    committee = session.get(ExpertCommittee, member.committee_id) if member is not None else None
    if member is None or committee is None or committee.instance_id != instance.id:
        raise NotFound(f"评标委员会席位 {member_id} 不存在")
    expert_id = session.scalar(select(Expert.id).where(Expert.username == actor.username))
    if expert_id is None or expert_id != member.expert_id:
        raise Forbidden("只能答复本人被抽中的席位")
    return instance, committee, member


# --- reading the committee ----------------------------------------------------------------------------


def get_committee(p: Platform, actor: Actor, instance_id: str, lot: str | None = None) -> dict[str, Any]:
    """The committee: names to staff and supervisors, masked to everyone else until the result is published."""
    with p.db.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"交易 {instance_id} 不存在")
        committee = _committee(session, instance_id, clean_lot(lot))
        if committee is None:
            raise NotFound("该交易尚未抽取评标委员会")
        return committee_view(session, actor, instance, committee)


def committee_view(session: Session, actor: Actor | None, instance: ProcessInstance,
                   committee: ExpertCommittee) -> dict[str, Any]:
    """The committee as this actor may see it."""
    me = _check_view(session, actor, instance, committee)
    rows = session.execute(select(CommitteeMember, Expert).join(Expert, Expert.id == CommitteeMember.expert_id)
                           .where(CommitteeMember.committee_id == committee.id)
                           .order_by(CommitteeMember.status == "reserve", CommitteeMember.position)).all()
    seated = [(m, e) for m, e in rows if m.status in SEATED]
    view: dict[str, Any] = {
        "id": committee.id, "instance_id": committee.instance_id, "lot": committee.lot, "rule": committee.rule,
        "size": committee.size, "owner_reps": committee.owner_reps, "experts_needed": committee.experts_needed,
        "confirmed": sum(1 for m, _ in seated if m.status == "confirmed"),
        "pending": sum(1 for m, _ in seated if m.status == "pending"),
        "vacant": committee.experts_needed - len(seated),
    }
    view["formed"] = view["confirmed"] == committee.experts_needed
    if actor is None or (actor.has(*OVERSEERS) and actor.covers(instance.region)):
        view["members"] = [{"id": m.id, "expert_id": e.id, "name": e.name, "employer_uscc": e.employer_uscc,
                            "status": m.status, "position": m.position, "draw_id": m.draw_id} for m, e in rows]
        view["draws"] = [{"id": d.id, "reason": d.reason, "seed": d.seed, "candidates_hash": d.candidates_hash,
                          "candidate_count": d.candidate_count, "created_at": d.created_at.isoformat()}
                         for d in session.scalars(select(ExpertDraw).where(ExpertDraw.committee_id == committee.id)
                                                  .order_by(ExpertDraw.id))]
        return view
    named = result_published(instance)
    view["members"] = [{"id": m.id, "name": e.name if named or e.id == me else f"专家{n}", "status": m.status,
                        "me": e.id == me} for n, (m, e) in enumerate(seated, start=1)]
    return view


def result_published(instance: ProcessInstance) -> bool:
    """Names become public with the result: variable result_published true, or the trade completed."""
    return instance.variables.get("result_published") is True or instance.status == "completed"


def _check_view(session: Session, actor: Actor | None, instance: ProcessInstance,
                committee: ExpertCommittee) -> int | None:
    """Who may look; returns the caller's own expert id when the caller is a drawn expert."""
    if actor is None:
        return None
    if not actor.has(*VIEWERS):
        raise Forbidden("无权查看评标委员会")
    me = None
    if actor.has("expert"):
        me = session.scalar(select(Expert.id).join(CommitteeMember, CommitteeMember.expert_id == Expert.id).where(
            Expert.username == actor.username, CommitteeMember.committee_id == committee.id))
    # Bidders come from any region; the people who run or oversee a trade are held to its region.
    if me is None and not actor.has("bidder") and not (actor.has(*OVERSEERS, "purchaser", "agency")
                                                       and actor.covers(instance.region)):
        raise Forbidden("无权查看该交易的评标委员会")
    return me


# --- helpers ------------------------------------------------------------------------------------------


def clean_lot(lot: Any) -> str:
    """A lot (标段) id: short text, "1" when absent."""
    text = str(lot).strip() if lot is not None else ""
    if len(text) > 40:
        raise Invalid("标段编号过长（最多 40 个字符）")
    return text or "1"


def _committee(session: Session, instance_id: str, lot: str) -> ExpertCommittee | None:
    return session.scalar(select(ExpertCommittee).where(ExpertCommittee.instance_id == instance_id,
                                                        ExpertCommittee.lot == lot))


def _seated_count(session: Session, committee_id: int) -> int:
    return session.scalar(select(func.count()).select_from(CommitteeMember).where(
        CommitteeMember.committee_id == committee_id, CommitteeMember.status.in_(SEATED))) or 0


def _last_position(session: Session, committee_id: int, reserve: bool) -> int:
    kind = CommitteeMember.status == "reserve" if reserve else CommitteeMember.status != "reserve"
    return session.scalar(select(func.max(CommitteeMember.position)).where(
        CommitteeMember.committee_id == committee_id, kind)) or 0


def _conflicting_employers(session: Session, instance_id: str, lot: str, variables: dict[str, Any],
                           explicit: Iterable[str]) -> list[str]:
    """Every bidder's USCC (given and recorded) and the purchaser's: their employees may not evaluate."""
    if isinstance(explicit, str):
        explicit = [explicit]
    found = {uscc.clean(str(code), "exclusions") for code in explicit}
    if variables.get("purchaser_uscc"):
        found.add(uscc.clean(str(variables["purchaser_uscc"]), "purchaser_uscc"))
    found.update(_valid_bidders(session, instance_id, lot))
    return sorted(found)


def _refresh_conflicts(session: Session, committee: ExpertCommittee, variables: dict[str, Any],
                       exclusions: Iterable[str]) -> None:
    """A later draw also excludes the bidders known since (their bids decrypted after the first draw)."""
    now_known = _conflicting_employers(session, committee.instance_id, committee.lot, variables, exclusions)
    committee.excluded_employers = sorted(set(committee.excluded_employers) | set(now_known))


def _valid_bidders(session: Session, instance_id: str, lot: str) -> set[str]:
    try:  # imported late: the draw works, with explicit exclusions, where the bids service is absent
        from services.trading.bids import valid_bidders
    except ModuleNotFoundError as exc:
        if exc.name != "services.trading.bids":
            raise
        return set()
    return {uscc.normalize(code) for code in valid_bidders(session, instance_id, lot=lot)}


def _evaluation_date(p: Platform, value: Any) -> date:
    if value is None or value == "":
        return p.clock.now().astimezone(p.tz).date()
    if isinstance(value, datetime):
        return value.astimezone(p.tz).date()
    if isinstance(value, date):
        return value
    try:
        text = str(value)
        return datetime.fromisoformat(text).astimezone(p.tz).date() if "T" in text else date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"评标日期不合法：{value!r}（应为 YYYY-MM-DD）") from None


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value).strip()):
        raise Invalid(f"{name} 必须是整数")
    return int(str(value).strip())
