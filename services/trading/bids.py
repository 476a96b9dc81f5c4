"""Sealed bids: upload, replace, withdraw, receipts, the list after the deadline, opening and decryption.

Secrecy (电子招标投标办法 第二十六条): before the deadline nobody, staff, supervisor and admin included, can list,
count or read bids; a bidder sees only its own receipts. The instance's audit chain then names a bid by its
receipt number only, under the pseudonymous actor "sealed-bidder": who uploaded it, from which IP and device,
is kept in bid_events, which nobody can read before the deadline either.

Bidders are organisations (Actor.org, the USCC); one bid per organisation per trade and lot is in force at a
time: uploading again replaces it (the old file and receipt stay, marked superseded). Bidders from any region
may bid (no regional barriers), so only the people who look at bids are held to the trade's region.

Long file work (receiving, decrypting) happens outside any transaction; the transaction that records it locks
the instance and checks everything again, against the server clock at the moment the work finished (for an
upload, when its last byte arrived). So a bid whose upload finishes after the deadline is refused even if it
started before, one that arrived in time is not refused for waiting behind others to be recorded (unless the
lot was opened meanwhile), and a deadline moved by a late clarification is honoured because it is read from
the process variables on every request. The instance's row lock lets one transaction of a trade record bids
at a time, so the uploads that wait for it are recorded together (bid_batches), and whatever does not need
the lock is done before it is taken: in a rush, each statement under it is paid by every bidder behind.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from domain import statutes
from domain.access import Actor
from domain.errors import BadRequest, Conflict, DomainError, Forbidden, Invalid, NotFound
from persistence.db import shared
from persistence.models import ProcessInstance
from persistence.models_bids import Bid, BidEvent, BidOpening
from services import audit, steps
from services.platform import Platform
from services.service_tasks import ServiceCall, service_task
from services.trading import bid_storage, supervision
from services.trading.bid_batches import Batcher
from trading import bids as rules
from trading import crypto

VIEWERS = ("staff", "supervisor", "purchaser", "agency")
SEALED = Actor("sealed-bidder")
# Uploads are recorded under the trade's row lock with Core statements built once: the unit of work's
# bookkeeping would be time under the lock. The first supersedes the bids in force of a batch's bidders.
_BIDS, _BID_EVENTS = cast(Table, Bid.__table__), cast(Table, BidEvent.__table__)
_SUPERSEDE = shared(
    update(_BIDS).where(_BIDS.c.instance_id == bindparam("trade"), _BIDS.c.status == rules.SUBMITTED,
                        tuple_(_BIDS.c.lot, _BIDS.c.bidder_org).in_(bindparam("keys", expanding=True)))
    .values(status=rules.SUPERSEDED, superseded_at=bindparam("at"))
    .returning(_BIDS.c.lot, _BIDS.c.bidder_org, _BIDS.c.id, _BIDS.c.receipt_no))
_INSERT_BID, _INSERT_BID_EVENT = shared(insert(_BIDS)), shared(insert(_BID_EVENTS))


@dataclass(frozen=True)
class _Arrival:
    """An upload received whole, waiting to be recorded."""

    actor: Actor
    org: str
    lot: str
    device: str
    stored: bid_storage.Stored
    at: datetime  # when its last byte arrived: the moment the deadline is judged against


_BATCHES: Batcher[_Arrival, Bid] = Batcher()


@supervision.alerts_blacklisted("递交投标文件")
def upload(p: Platform, actor: Actor, instance_id: str, lot: str | None, stream: bid_storage.Readable,
           content_length: int | None, fingerprint: str | None) -> dict[str, Any]:
    """Receive an encrypted bid file (streamed to disk) and return its receipt; replaces an earlier bid."""
    org, device, lot = _bidder(actor), _device(fingerprint), rules.clean_lot(lot)
    with p.db.sessions() as session:  # refuse early, before hundreds of MB arrive
        _open_trade(session, p, _instance(session, instance_id), p.clock.now(), org, "递交")
    stored = bid_storage.receive(stream, content_length)
    arrival = _Arrival(actor, org, lot, device, stored, p.clock.now())
    try:
        with p.db.sessions() as session:  # listings are not guarded by the trade's lock: checked apart
            _require_not_blacklisted(session, org, arrival.at)
        bid = _BATCHES.run(f"{id(p.db)}:{instance_id}", arrival,
                           lambda batch: p.db.run(_record_uploads, p, instance_id, batch))
    except BaseException:
        bid_storage.discard(stored.key)
        raise
    return receipt(bid, p)


def _record_uploads(session: Session, p: Platform, instance_id: str,
                    batch: list[_Arrival]) -> list[Bid | DomainError]:
    """Record uploads of one trade in one transaction under its row lock, each judged at its own arrival."""
    instance = steps.lock_instance(session, instance_id)
    now = p.clock.now()
    refusals = [_refusal(session, p, instance, a, now) for a in batch]
    accepted = [a for a, refusal in zip(batch, refusals, strict=True) if refusal is None]
    if not accepted:
        return [r for r in refusals if r is not None]
    connection = session.connection()
    replaced = {(row.lot, row.bidder_org): (row.id, row.receipt_no) for row in connection.execute(
        _SUPERSEDE, {"trade": instance_id, "keys": [(a.lot, a.org) for a in accepted], "at": now})}
    latest: dict[tuple[str, str], Bid] = {}
    bids, events = [], []
    for a in accepted:
        # Of two uploads of the same bidder, the one recorded last is in force (its receipt came last).
        before = latest.get((a.lot, a.org))
        if before is not None:
            before.status, before.superseded_at = rules.SUPERSEDED, now
        previous = (before.id, before.receipt_no) if before is not None else replaced.get((a.lot, a.org))
        bid = Bid(id=secrets.token_hex(16), instance_id=instance_id, lot=a.lot, bidder_org=a.org,
                  status=rules.SUBMITTED, status_reason=None, receipt_no=rules.receipt_no(a.at, p.tz),
                  storage_key=a.stored.key, sha256=a.stored.sha256, size=a.stored.size, received_at=a.at,
                  submitted_by=a.actor.username, replaces_id=previous[0] if previous else None,
                  decrypt_attempts=0)
        latest[(a.lot, a.org)] = bid
        bids.append(bid)
        kind = "replaced" if previous else "uploaded"
        facts = {"receipt_no": bid.receipt_no, "lot": a.lot, "sha256": bid.sha256, "size": bid.size,
                 "replaces_receipt_no": previous[1] if previous else None}
        events.append(_event(bid, kind, a.actor, a.at, a.device, facts))
        audit.append(session, instance_id, f"bid.{kind}", SEALED, now, facts)
    connection.execute(_INSERT_BID, [{c.key: getattr(b, c.key) for c in _BIDS.columns} for b in bids])
    connection.execute(_INSERT_BID_EVENT, events)
    recorded = iter(bids)
    return [refusal if refusal is not None else next(recorded) for refusal in refusals]


def _refusal(session: Session, p: Platform, instance: ProcessInstance, arrival: _Arrival,
             now: datetime) -> DomainError | None:
    """Why an upload cannot be recorded, or None: checked again under the lock, at the upload's arrival."""
    try:
        deadline = _open_trade(session, p, instance, arrival.at, arrival.org, "递交", screen=False)
        _require_prequalified(instance, arrival.org)
        if arrival.stored.size < crypto.MIN_ENVELOPE:
            raise Invalid("投标文件不是有效的加密文件（AES-256-GCM 信封至少 28 字节）")
        # Arrived in time but recorded after the deadline (it waited behind others): the count is final once
        # the lot is opened.
        if rules.has_passed(deadline, now) and _opening(session, instance.id, arrival.lot) is not None:
            raise Conflict("该标段已开标，不再接收投标文件")
    except DomainError as exc:
        return exc
    return None


def withdraw(p: Platform, actor: Actor, instance_id: str, lot: str | None,
             fingerprint: str | None) -> dict[str, Any]:
    """Withdraw (撤回) the bid in force before the deadline (招标投标法 第二十九条)."""
    org, device, lot = _bidder(actor), rules.clean_fingerprint(fingerprint), rules.clean_lot(lot)

    def use_case(session: Session) -> dict[str, Any]:
        instance = steps.lock_instance(session, instance_id)
        now = p.clock.now()
        _open_trade(session, p, instance, now, org, "撤回", screen=False)
        bid = _current(session, instance_id, lot, org)
        if bid is None:
            raise NotFound("您在该标段没有可撤回的投标文件")
        bid.status, bid.withdrawn_at = rules.WITHDRAWN, now
        facts = {"receipt_no": bid.receipt_no, "lot": lot}
        _record(session, bid, "withdrawn", actor, now, device, facts)
        audit.append(session, instance_id, "bid.withdrawn", SEALED, now, facts)
        return receipt(bid, p)

    return p.db.run(use_case)  # type: ignore[no-any-return]


def mine(p: Platform, actor: Actor, instance_id: str, lot: str | None) -> dict[str, Any]:
    """The caller's own receipts on a trade and lot, newest first, with the one in force."""
    org, lot = _bidder(actor), rules.clean_lot(lot)
    with p.db.sessions() as session:
        instance = _instance(session, instance_id)
        rows = list(session.scalars(select(Bid).where(
            Bid.instance_id == instance_id, Bid.lot == lot, Bid.bidder_org == org,
        ).order_by(Bid.received_at.desc(), Bid.id)))
        current = next((b for b in rows if b.status in (rules.SUBMITTED, rules.DECRYPTED)), None)
        return {"instance_id": instance_id, "lot": lot, "bid_deadline": _deadline_text(instance, p),
                "current": receipt(current, p) if current else None, "receipts": [receipt(b, p) for b in rows]}


def list_bids(p: Platform, actor: Actor, instance_id: str, lot: str | None) -> dict[str, Any]:
    """Every bid of a lot with its bidder, receipt and status; only after the deadline, never the content."""
    lot = rules.clean_lot(lot)
    if not actor.has(*VIEWERS):
        raise Forbidden("投标文件列表仅在投标截止后向交易中心、行政监督、招标人及代理机构开放")
    with p.db.sessions() as session:
        instance = _instance(session, instance_id)
        if not actor.covers(instance.region):
            raise Forbidden("无权查看其他区域交易的投标文件")
        deadline = rules.parse_deadline(instance.variables.get("bid_deadline"), p.tz)
        rules.require_closed(deadline, p.clock.now(), p.tz)
        rows = session.scalars(select(Bid).where(Bid.instance_id == instance_id, Bid.lot == lot)
                               .order_by(Bid.received_at, Bid.id))
        items = [{**receipt(b, p), "bidder_org": b.bidder_org} for b in rows]
        opening = _opening(session, instance_id, lot)
        return {"instance_id": instance_id, "lot": lot, "bid_deadline": deadline.astimezone(p.tz).isoformat(),
                "bids": items, "valid_count": sum(_counts_at_opening(b, deadline) for b in items),
                "opening": _opening_view(opening, p) if opening else None}


def decrypt(p: Platform, actor: Actor, instance_id: str, bid_id: str, key_text: Any,
            fingerprint: str | None) -> dict[str, Any]:
    """Decrypt the caller's bid with its key within the window; a wrong key is refused (422) and may retry."""
    org, device = _bidder(actor), _device(fingerprint)
    key = crypto.parse_key(key_text)
    asked_at = p.clock.now()  # the key counts as submitted when the request arrives
    with p.db.sessions() as session:
        bid = _own_bid(session, instance_id, bid_id, org)
        _require_decryptable(session, p, bid, asked_at)
        storage_key = bid.storage_key
    try:
        plain = bid_storage.decrypt(storage_key, key)
    except crypto.WrongKey as exc:
        p.db.run(_record_failure, p, actor, instance_id, bid_id, device, exc.message)
        raise

    def use_case(session: Session) -> dict[str, Any]:
        steps.lock_instance(session, instance_id)
        bid = _own_bid(session, instance_id, bid_id, org)
        now = p.clock.now()
        _require_decryptable(session, p, bid, asked_at)
        bid.status, bid.decrypted_at = rules.DECRYPTED, now
        bid.plain_key, bid.plain_sha256, bid.plain_size = plain.key, plain.sha256, plain.size
        bid.decrypt_attempts += 1
        facts = {"receipt_no": bid.receipt_no, "lot": bid.lot, "bidder_org": org,
                 "plain_sha256": plain.sha256, "plain_size": plain.size}
        _record(session, bid, "decrypted", actor, now, device, facts)
        audit.append(session, instance_id, "bid.decrypted", actor, now, facts)
        return receipt(bid, p)

    try:
        return p.db.run(use_case)  # type: ignore[no-any-return]
    except BaseException:
        bid_storage.discard(plain.key, plain=True)
        raise


def valid_bidders(session: Session, instance_id: str, lot: str = rules.DEFAULT_LOT) -> list[str]:
    """USCCs of the bidders whose bids were decrypted in time, in order of arrival (for conflicts, evaluation)."""
    rows = session.execute(select(Bid.bidder_org, func.min(Bid.received_at)).where(
        Bid.instance_id == instance_id, Bid.lot == lot, Bid.status == rules.DECRYPTED,
    ).group_by(Bid.bidder_org).order_by(func.min(Bid.received_at), Bid.bidder_org))
    return [org for org, _ in rows]


def plaintext_file(session: Session, bid_id: str) -> Path:
    """The decrypted file of a bid, for evaluation; Conflict while it is not decrypted."""
    bid = session.get(Bid, bid_id)
    if bid is None:
        raise NotFound(f"投标文件 {bid_id} 不存在")
    if bid.status != rules.DECRYPTED or bid.plain_key is None:
        raise Conflict("该投标文件尚未解密")
    return bid_storage.plain_path(bid.plain_key)


@service_task("bids.open", "开标：统计投标截止时的有效投标并开启解密")
def open_bids(call: ServiceCall) -> dict[str, Any]:
    """Count the bids in force at the deadline against the COUNT rule and open the decryption window."""
    tz, session, instance = call.platform.tz, call.session, call.instance
    lot = rules.clean_lot(call.data.get("lot"))
    deadline = rules.parse_deadline(call.data.get("bid_deadline"), tz)
    if not rules.has_passed(deadline, call.now):
        raise Conflict(f"投标截止时间 {rules.local_text(deadline, tz)} 未到，不能开标")
    existing = _opening(session, instance.id, lot)
    if existing is not None:  # the step ran before: same answer
        return _opening_variables(existing, call.platform)
    rule = statutes.get_rule(str(call.data.get("min_bidders_rule") or rules.DEFAULT_MIN_BIDDERS_RULE))
    if rule.kind != "COUNT":
        raise Invalid(f"规则 {rule.id} 不是数量规则，不能用于开标人数校验")
    count = session.scalar(select(func.count()).select_from(Bid).where(
        Bid.instance_id == instance.id, Bid.lot == lot, Bid.status.in_(rules.AT_OPENING),
        Bid.received_at < deadline)) or 0
    valid = count >= rule.n
    minutes = call.data.get("decrypt_minutes", rules.DEFAULT_DECRYPT_MINUTES)
    minutes = int(minutes) if isinstance(minutes, str) and minutes.strip().isdigit() else minutes
    until = rules.decrypt_until(call.now, minutes) if valid else None
    opening = BidOpening(instance_id=instance.id, lot=lot, deadline=deadline, opened_at=call.now, bid_count=count,
                         min_bidders_rule=rule.id, min_bidders=rule.n, valid=valid, decrypt_until=until)
    session.add(opening)
    session.flush()
    audit.append(session, instance.id, "bids.opened", call.actor, call.now,
                 {"lot": lot, "bid_count": count, "rule": rule.id, "min_bidders": rule.n, "opening_valid": valid,
                  "citation": rule.citation, "decrypt_until": until.isoformat() if until else None})
    return _opening_variables(opening, call.platform)


@service_task("bids.close_decryption", "解密截止：未解密的投标文件视为撤销")
def close_decryption(call: ServiceCall) -> dict[str, Any]:
    """End the decryption window: bids not decrypted are treated as withdrawn (电子招标投标办法 第三十一条)."""
    session, instance = call.session, call.instance
    lot = rules.clean_lot(call.data.get("lot"))
    opening = _opening(session, instance.id, lot)
    if opening is None or opening.decrypt_until is None:
        raise Conflict("该标段未开标或开标无效，没有解密环节")
    if opening.closed_at is None:
        pending = list(session.scalars(select(Bid).where(
            Bid.instance_id == instance.id, Bid.lot == lot, Bid.status == rules.SUBMITTED)))
        if pending and not rules.has_passed(opening.decrypt_until, call.now):
            raise Conflict(f"解密时限 {rules.local_text(opening.decrypt_until, call.platform.tz)} 未到")
        for bid in pending:
            bid.status, bid.status_reason = rules.NOT_DECRYPTED, rules.NOT_DECRYPTED_REASON
            _record(session, bid, "not_decrypted", call.actor, call.now, None,
                    {"receipt_no": bid.receipt_no, "reason": rules.NOT_DECRYPTED_REASON})
        opening.closed_at = call.now
        opening.decrypted_count = session.scalar(select(func.count()).select_from(Bid).where(
            Bid.instance_id == instance.id, Bid.lot == lot, Bid.status == rules.DECRYPTED)) or 0
        audit.append(session, instance.id, "bids.decryption_closed", call.actor, call.now,
                     {"lot": lot, "decrypted_count": opening.decrypted_count,
                      "not_decrypted": [b.receipt_no for b in pending], "legal_basis": rules.NOT_DECRYPTED_REASON})
    decrypted = opening.decrypted_count or 0
    return {"decrypted_count": decrypted, "not_decrypted_count": opening.bid_count - decrypted,
            "bid_count_after_decryption": decrypted, "enough_bidders_after_decryption": decrypted >= opening.min_bidders}


def receipt(bid: Bid, p: Platform) -> dict[str, Any]:
    """A bid as its receipt (回执): what was received, when, with which hash; never the bidder's content."""
    def at(moment: datetime | None) -> str | None:
        return moment.astimezone(p.tz).isoformat() if moment else None

    return {"bid_id": bid.id, "receipt_no": bid.receipt_no, "instance_id": bid.instance_id, "lot": bid.lot,
            "sha256": bid.sha256, "size": bid.size, "received_at": at(bid.received_at), "status": bid.status,
            "status_name": rules.STATUS_NAMES[bid.status], "status_reason": bid.status_reason,
            "superseded_at": at(bid.superseded_at), "withdrawn_at": at(bid.withdrawn_at),
            "decrypted_at": at(bid.decrypted_at), "plain_sha256": bid.plain_sha256, "plain_size": bid.plain_size}


def _bidder(actor: Actor) -> str:
    if not actor.has("bidder"):
        raise Forbidden("只有投标人可以递交、撤回或解密投标文件")
    if not actor.org:
        raise Forbidden("您的账号未关联投标单位（统一社会信用代码），不能投标")
    return actor.org


def _device(fingerprint: str | None) -> str:
    device = rules.clean_fingerprint(fingerprint)
    if device is None:
        raise BadRequest("缺少设备指纹（请求头 X-Device-Fingerprint）")
    return device


def _instance(session: Session, instance_id: str) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"交易 {instance_id} 不存在")
    return instance


def _open_trade(session: Session, p: Platform, instance: ProcessInstance, now: datetime, org: str, doing: str,
                screen: bool = True) -> datetime:
    """The trade runs, its deadline has not passed, and (for a new bid) the bidder is not blacklisted."""
    if instance.status != "running":
        raise Conflict(f"交易当前状态为 {instance.status}，不接受投标文件")
    deadline = rules.parse_deadline(instance.variables.get("bid_deadline"), p.tz)
    rules.require_open(deadline, now, p.tz, doing)
    if screen:
        _require_not_blacklisted(session, org, now)
        _require_prequalified(instance, org)
    return deadline


def _require_prequalified(instance: ProcessInstance, org: str) -> None:
    """After prequalification only the applicants that passed may bid (招标投标法实施条例 第十九条)."""
    qualified = instance.variables.get("qualified_usccs")
    if instance.variables.get("prequalification") and isinstance(qualified, list) and org not in qualified:
        raise Forbidden(f"{org} 未通过资格预审，不得递交投标文件（《招标投标法实施条例》第十九条）")


def _require_not_blacklisted(session: Session, org: str, now: datetime) -> None:
    try:
        from services.trading.entities import require_not_blacklisted
    except ModuleNotFoundError as exc:  # the entities service is optional; any other import error is a bug
        if exc.name != "services.trading.entities":
            raise
        return
    require_not_blacklisted(session, org, now)


def _current(session: Session, instance_id: str, lot: str, org: str) -> Bid | None:
    return session.scalars(select(Bid).where(
        Bid.instance_id == instance_id, Bid.lot == lot, Bid.bidder_org == org, Bid.status == rules.SUBMITTED,
    )).first()


def _own_bid(session: Session, instance_id: str, bid_id: str, org: str) -> Bid:
    bid = session.get(Bid, bid_id, populate_existing=True)
    if bid is None or bid.instance_id != instance_id:
        raise NotFound(f"投标文件 {bid_id} 不存在")
    if bid.bidder_org != org:
        raise Forbidden("只能解密本单位的投标文件")
    return bid


def _require_decryptable(session: Session, p: Platform, bid: Bid, asked_at: datetime) -> None:
    if bid.status != rules.SUBMITTED:
        raise Conflict(f"投标文件状态为{rules.STATUS_NAMES[bid.status]}，不能解密")
    opening = _opening(session, bid.instance_id, bid.lot)
    if opening is not None and opening.closed_at is not None:
        raise Conflict("解密环节已结束")
    rules.require_in_window(opening.opened_at if opening else None, opening.decrypt_until if opening else None,
                            asked_at, p.tz)


def _record_failure(session: Session, p: Platform, actor: Actor, instance_id: str, bid_id: str, device: str,
                    message: str) -> None:
    steps.lock_instance(session, instance_id)
    bid = session.get(Bid, bid_id, populate_existing=True)
    assert bid is not None
    bid.decrypt_attempts += 1
    _record(session, bid, "decrypt_failed", actor, p.clock.now(), device,
            {"receipt_no": bid.receipt_no, "attempt": bid.decrypt_attempts, "message": message})


def _record(session: Session, bid: Bid, type_: str, actor: Actor | None, at: datetime, device: str | None,
            data: dict[str, Any]) -> None:
    session.add(BidEvent(**_event(bid, type_, actor, at, device, data)))


def _event(bid: Bid, type_: str, actor: Actor | None, at: datetime, device: str | None,
           data: dict[str, Any]) -> dict[str, Any]:
    """The columns of a bid event: who did what to the bid, when, from which address and device."""
    return {"bid_id": bid.id, "instance_id": bid.instance_id, "type": type_, "at": at,
            "actor": actor.username if actor else None, "bidder_org": bid.bidder_org,
            "client_ip": actor.ip if actor else None, "device_fingerprint": device, "data": data}


def _opening(session: Session, instance_id: str, lot: str) -> BidOpening | None:
    return session.scalars(select(BidOpening).where(
        BidOpening.instance_id == instance_id, BidOpening.lot == lot)).first()


def _opening_view(opening: BidOpening, p: Platform) -> dict[str, Any]:
    return {**_opening_variables(opening, p), "closed_at": opening.closed_at.isoformat() if opening.closed_at
            else None, "decrypted_count": opening.decrypted_count}


def _opening_variables(opening: BidOpening, p: Platform) -> dict[str, Any]:
    until = opening.decrypt_until.astimezone(p.tz).isoformat() if opening.decrypt_until else None
    return {"bid_count": opening.bid_count, "min_bidders": opening.min_bidders, "opening_valid": opening.valid,
            "decrypt_until": until, "bid_opened_at": opening.opened_at.astimezone(p.tz).isoformat()}


def _counts_at_opening(item: dict[str, Any], deadline: datetime) -> bool:
    return item["status"] in rules.AT_OPENING and datetime.fromisoformat(item["received_at"]) < deadline


def _deadline_text(instance: ProcessInstance, p: Platform) -> str | None:
    try:
        return rules.parse_deadline(instance.variables.get("bid_deadline"), p.tz).astimezone(p.tz).isoformat()
    except (Conflict, Invalid):
        return None
