"""Live bidding (拍卖, 挂牌, 网络竞价): open and close as service tasks, place bids, ask to continue a listing.

Every bid runs in one transaction that locks the trade's instance row and then the auction row, takes the
server time under those locks, checks the bid against trading.auction, gives it the auction's next seq and
commits before the bidder hears back. Closing reads only persisted bids, so the outcome does not depend on
when requests arrived; a bid at or after the effective close time is refused even before auctions.close runs.

Secrecy: bidders see paddle numbers (竞买号), never each other's names; the reserve price (底价) stays in the
server until close, after which viewers learn whether it was met and staff the figure.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models import ProcessInstance
from persistence.models_auctions import Auction, AuctionBid, AuctionParticipant
from persistence.models_deposits import Deposit
from services import audit
from services.platform import Platform
from services.service_tasks import ServiceCall, service_task
from services.trading import credit, supervision
from services.trading.deposits import deposit_status
from trading import auction as rules
from trading import deposits as money_rules

log = logging.getLogger(__name__)
NOT_QUALIFIED = "您不是本场竞价的合格竞买人（未交纳竞买保证金或不具备竞买资格）"

# --- service tasks -----------------------------------------------------------------------------------


@service_task("auctions.open", "开启竞价（拍卖/挂牌/网络竞价）")
def open_task(call: ServiceCall) -> dict[str, Any]:
    """Create the auction from the trade's variables; participants are the bidders whose deposit arrived."""
    data = dict(call.data)
    lot = money_rules.clean_lot(data.get("lot"))
    previous = _previous(call.session, call.instance.id, data.get("auction_participants_from"))
    if previous is not None:
        # The on-site auction continues the listing: its terms default to the listing's.
        for name, value in (("increment", previous.increment), ("reserve_price", previous.reserve_price)):
            if data.get(name) in (None, ""):
                data[name] = money_rules.yuan(value) if value is not None else None
        if data.get("start_price") in (None, ""):
            data["start_price"] = money_rules.yuan(previous.current_price or previous.start_price)
        lot = previous.lot
    terms = rules.parse_terms(data, call.platform.tz)
    if previous is not None and previous.current_price is not None and terms.start_price < previous.current_price:
        terms = replace(terms, start_price=previous.current_price)  # on-site bidding starts at the highest quote
    now = call.now
    row = Auction(
        instance_id=call.instance.id, lot=lot, element_id=call.element_id, kind=terms.kind, status=rules.OPEN,
        start_price=terms.start_price, increment=terms.increment, reserve_price=terms.reserve_price,
        starts_at=terms.starts_at, ends_at=terms.ends_at, quiet_seconds=terms.quiet_seconds,
        free_quote_until=terms.free_quote_until, extend_window_seconds=terms.extend_window_seconds,
        extend_seconds=terms.extend_seconds, previous_id=previous.id if previous else None,
        closes_at=rules.initial_close(terms), seq=0, bid_count=0, continue_count=0, created_at=now, updated_at=now)
    call.session.add(row)
    call.session.flush()
    if previous is None:
        bidders = _qualified_bidders(call, lot)
        _add_participants(call.session, row, bidders, now)
    else:
        _continue_from(call.session, row, previous, now, call.platform)
    count = call.session.scalar(select(func.count()).select_from(AuctionParticipant).where(
        AuctionParticipant.auction_id == row.id)) or 0
    audit.append(call.session, call.instance.id, "auction.opened", call.actor, now, {
        "auction_id": row.id, "lot": lot, "kind": terms.kind, "start_price": money_rules.yuan(terms.start_price),
        "increment": money_rules.yuan(terms.increment), "has_reserve": terms.reserve_price is not None,
        "starts_at": terms.starts_at.isoformat(), "closes_at": row.closes_at.isoformat(),
        "participants": count, "previous_id": row.previous_id})
    log.info("auction opened", extra={"instance_id": call.instance.id, "auction_id": row.id, "kind": terms.kind,
                                      "participants": count})
    # A process that opens a second auction (after a listing) must not read the first one's close flags.
    return {"auction_id": row.id, "auction_close_at": iso(row.closes_at, call.platform),
            "qualified_count": count, "auction_closed": False, "auction_outcome": None}


@service_task("auctions.close", "竞价截止与结果确认")
def close_task(call: ServiceCall) -> dict[str, Any]:
    """Close the auction once the platform time reaches its effective close time; else report the new one."""
    auction_id = call.data.get("auction_id")
    if auction_id in (None, ""):
        raise Invalid("缺少流程变量 auction_id：请先执行“开启竞价”（auctions.open）")
    row = _lock_auction(call.session, _auction_id(auction_id))
    if row.instance_id != call.instance.id:
        raise Invalid(f"竞价 {row.id} 不属于本交易")
    if row.status == rules.OPEN and call.now < row.closes_at:
        return {"auction_closed": False, "auction_close_at": iso(row.closes_at, call.platform)}
    if row.status == rules.OPEN:
        _close(call.session, row, call.now, call.actor)
    winner = row.outcome == rules.SOLD
    return {
        "auction_closed": True, "auction_outcome": row.outcome,
        "winner_uscc": row.winner_uscc if winner else None, "winner_name": row.winner_name if winner else None,
        "award_amount": money_rules.yuan(row.award_amount) if winner and row.award_amount is not None else None,
        "bid_count": row.bid_count, "continue_count": row.continue_count,
        "auction_close_at": iso(row.closes_at, call.platform),
    }


# --- use cases -----------------------------------------------------------------------------------------


def place_bid(p: Platform, actor: Actor, auction_id: int, amount_value: Any) -> dict[str, Any]:
    """Validate, order, timestamp and persist a bid; the acknowledgement is the persisted bid (bidders)."""
    org = _bidder_org(actor)
    amount = money_rules.money(amount_value, "amount")
    instance_id = _precheck(p, auction_id, org, amount)

    def use_case(session: Session) -> dict[str, Any]:
        instance_status = _lock_instance_of(session, auction_id)
        row = _lock_auction(session, auction_id)
        # Taken under the locks, and never before the auction's last change even if API hosts' clocks
        # differ slightly: server order and server time agree.
        now = max(p.clock.now(), row.updated_at)
        credit.require_not_blacklisted(session, org, now, p.tz, action="参与竞价")
        participant = _participant(session, row, org, admit_at=now)
        if instance_status != "running":
            raise Conflict(f"交易状态为 {instance_status}，暂停接受报价")
        terms = terms_of(row)
        rules.check_open(terms, row.closes_at, now, row.status != rules.OPEN, p.tz)
        rules.check_not_leading(row.leader_id == participant.id)
        rules.check_amount(terms, row.current_price, amount)
        bid = _record_bid(session, row, terms, participant, amount, now, actor.username, actor.ip)
        audit.append(session, row.instance_id, "auction.bid", actor, now, {
            "auction_id": row.id, "seq": bid.seq, "paddle": participant.paddle, "amount": money_rules.yuan(amount),
            "closes_at": bid.closes_at.isoformat()})
        return bid_view(bid, participant, row, p, mine=True)

    with supervision.watch_blacklist(p, actor, instance_id, "参与竞价"):
        result: dict[str, Any] = p.db.run(use_case)
    return result


def request_continue(p: Platform, actor: Actor, auction_id: int) -> dict[str, Any]:
    """A listing bidder who has quoted asks to continue to an on-site auction at listing close (39号令 第二十一条)."""
    org = _bidder_org(actor)

    def use_case(session: Session) -> dict[str, Any]:
        _lock_instance_of(session, auction_id)
        row = _lock_auction(session, auction_id)
        now = p.clock.now()
        participant = _participant(session, row, org)
        if row.kind != rules.LISTING:
            raise Conflict("只有挂牌出让可以申请现场竞价")
        rules.check_open(terms_of(row), row.closes_at, now, row.status != rules.OPEN, p.tz)
        quoted = session.scalar(select(AuctionBid.id).where(
            AuctionBid.auction_id == row.id, AuctionBid.participant_id == participant.id).limit(1))
        if quoted is None:
            raise Conflict("只有已报价的竞买人可以申请现场竞价")
        if participant.continue_requested_at is None:
            participant.continue_requested_at = now
            row.continue_count += 1
            row.updated_at = now
            audit.append(session, row.instance_id, "auction.continue_requested", actor, now,
                         {"auction_id": row.id, "paddle": participant.paddle})
        return {"auction_id": row.id, "paddle": participant.paddle,
                "continue_requested_at": iso(participant.continue_requested_at, p)}

    result: dict[str, Any] = p.db.run(use_case)
    return result


def bid_view(bid: AuctionBid, participant: AuctionParticipant, row: Auction, p: Platform, mine: bool,
             names: bool = False) -> dict[str, Any]:
    """A bid as the feed and the bid endpoint show it: the paddle, never the name unless names is set."""
    view: dict[str, Any] = {
        "seq": bid.seq, "type": "bid", "id": bid.id, "auction_id": row.id, "amount": money_rules.yuan(bid.amount),
        "paddle": participant.paddle, "at": iso(bid.placed_at, p), "closes_at": iso(bid.closes_at, p),
        "carried": bid.carried_from is not None, "mine": mine}
    if names:
        view.update(bidder_uscc=participant.bidder_uscc, bidder_name=participant.bidder_name)
    return view


def terms_of(row: Auction) -> rules.Terms:
    """The pure terms of a stored auction."""
    return rules.Terms(row.kind, row.start_price, row.increment, row.reserve_price, row.starts_at, row.ends_at,
                       row.quiet_seconds, row.free_quote_until, row.extend_window_seconds, row.extend_seconds)


# --- helpers -----------------------------------------------------------------------------------------


def _record_bid(session: Session, row: Auction, terms: rules.Terms, participant: AuctionParticipant,
                amount: Decimal, now: datetime, placed_by: str, ip: str | None,
                carried_from: int | None = None) -> AuctionBid:
    closes_at = rules.next_close(terms, row.closes_at, now)
    bid = AuctionBid(auction_id=row.id, seq=row.seq + 1, participant_id=participant.id, amount=amount,
                     placed_at=now, closes_at=closes_at, placed_by=placed_by, client_ip=ip,
                     carried_from=carried_from)
    session.add(bid)
    row.seq, row.bid_count, row.current_price, row.leader_id = bid.seq, row.bid_count + 1, amount, participant.id
    row.closes_at, row.updated_at = closes_at, now
    session.flush()
    return bid


def _precheck(p: Platform, auction_id: int, org: str, amount: Decimal) -> str:
    """Refuse without taking locks what the locked check would refuse anyway: when many bid at once,
    those outbid in the meantime must not queue for the auction's lock."""
    # Only refusals that cannot be undone are made here: a closed auction stays closed and the current
    # price only rises, so a snapshot that is too old refuses nothing the locked check would accept.
    with p.db.sessions() as session:
        row = load_auction(session, auction_id)
        if find_participant(session, row.id, org) is None and admissible(session, row, org) is None:
            raise Forbidden(NOT_QUALIFIED)
        if row.status != rules.OPEN:
            raise Conflict("竞价已结束，不再接受报价")
        rules.check_amount(terms_of(row), row.current_price, amount)
        return row.instance_id


def _close(session: Session, row: Auction, now: datetime, actor: Actor | None) -> None:
    """Decide the outcome from the persisted bids alone and record it."""
    top = session.execute(
        select(AuctionBid.amount, AuctionBid.participant_id).where(AuctionBid.auction_id == row.id)
        .order_by(AuctionBid.amount.desc(), AuctionBid.seq).limit(1)).first()
    result = rules.outcome(terms_of(row), top[0] if top else None)
    winner = session.get(AuctionParticipant, top[1]) if top and result.outcome == rules.SOLD else None
    row.status, row.outcome, row.closed_at, row.updated_at = rules.CLOSED, result.outcome, now, now
    row.award_amount = result.amount if winner else None
    row.winner_uscc = winner.bidder_uscc if winner else None
    row.winner_name = winner.bidder_name if winner else None
    row.seq += 1
    row.continue_count = session.scalar(select(func.count()).select_from(AuctionParticipant).where(
        AuctionParticipant.auction_id == row.id, AuctionParticipant.continue_requested_at.is_not(None))) or 0
    audit.append(session, row.instance_id, "auction.closed", actor, now, {
        "auction_id": row.id, "seq": row.seq, "outcome": result.outcome, "bid_count": row.bid_count,
        "award_amount": yuan(row.award_amount), "winner_uscc": row.winner_uscc,
        "reserve_met": result.reserve_met, "continue_count": row.continue_count,
        "closes_at": row.closes_at.isoformat()})
    log.info("auction closed", extra={"instance_id": row.instance_id, "auction_id": row.id, "outcome": result.outcome,
                                      "bid_count": row.bid_count})


def _qualified_bidders(call: ServiceCall, lot: str) -> list[tuple[str, str]]:
    """(uscc, name) of the lot's bidders whose deposit covers the requirement and who are not blacklisted."""
    rows = call.session.execute(select(Deposit.bidder_uscc, Deposit.bidder_name).where(
        Deposit.instance_id == call.instance.id, Deposit.lot == lot, Deposit.status == money_rules.HELD)
        .order_by(Deposit.bidder_uscc)).all()
    found = []
    for uscc, name in rows:
        if not deposit_status(call.session, call.instance.id, uscc, lot, call.data)["deposit_ok"]:
            continue
        if credit.is_blacklisted(call.session, uscc, call.now, call.platform.tz):
            continue
        found.append((uscc, name))
    return found


def _add_participants(session: Session, row: Auction, bidders: list[tuple[str, str]], now: datetime,
                      paddles: list[str] | None = None) -> list[AuctionParticipant]:
    numbers = paddles or rules.paddles(len(bidders))
    added = [AuctionParticipant(auction_id=row.id, bidder_uscc=uscc, bidder_name=name, paddle=paddle, created_at=now)
             for (uscc, name), paddle in zip(bidders, numbers, strict=True)]
    session.add_all(added)
    session.flush()
    return added


def _continue_from(session: Session, row: Auction, previous: Auction, now: datetime, p: Platform) -> None:
    """Participants of an on-site auction after a listing: who asked to continue, plus the listing's leader,
    with their paddles; the leader's quote is carried over as the standing bid."""
    old = session.scalars(select(AuctionParticipant).where(AuctionParticipant.auction_id == previous.id)
                          .order_by(AuctionParticipant.id)).all()
    keep = [o for o in old if (o.continue_requested_at is not None or o.id == previous.leader_id)
            and not credit.is_blacklisted(session, o.bidder_uscc, now, p.tz)]
    added = _add_participants(session, row, [(o.bidder_uscc, o.bidder_name) for o in keep], now,
                              [o.paddle for o in keep])
    by_old = {o.id: n for o, n in zip(keep, added, strict=True)}
    if previous.leader_id in by_old and previous.current_price is not None:
        top = session.scalar(select(AuctionBid).where(AuctionBid.auction_id == previous.id)
                             .order_by(AuctionBid.seq.desc()).limit(1))
        assert top is not None
        _record_bid(session, row, terms_of(row), by_old[previous.leader_id], previous.current_price, now,
                    top.placed_by, None, carried_from=top.id)


def _previous(session: Session, instance_id: str, value: Any) -> Auction | None:
    if value in (None, ""):
        return None
    previous = session.get(Auction, _auction_id(value, "auction_participants_from"))
    if previous is None or previous.instance_id != instance_id:
        raise Invalid(f"auction_participants_from 指向的竞价 {value} 不属于本交易")
    if previous.status != rules.CLOSED:
        raise Conflict(f"竞价 {previous.id} 尚未结束，不能据此开启现场竞价")
    return previous


def _lock_instance_of(session: Session, auction_id: int) -> str:
    """Lock the auction's instance row first, as every step does, and return its status."""
    owner = select(Auction.instance_id).where(Auction.id == auction_id).scalar_subquery()
    status = session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == owner).with_for_update())
    if status is None:
        raise NotFound(f"竞价 {auction_id} 不存在")
    return status


def _lock_auction(session: Session, auction_id: int) -> Auction:
    row = session.get(Auction, auction_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound(f"竞价 {auction_id} 不存在")
    return row


def load_auction(session: Session, auction_id: int) -> Auction:
    row = session.get(Auction, auction_id)
    if row is None:
        raise NotFound(f"竞价 {auction_id} 不存在")
    return row


def find_participant(session: Session, auction_id: int, org: str) -> AuctionParticipant | None:
    """The organisation's participant row in the auction, if it has one."""
    return session.scalar(select(AuctionParticipant).where(
        AuctionParticipant.auction_id == auction_id, AuctionParticipant.bidder_uscc == org))


def admissible(session: Session, row: Auction, org: str) -> tuple[str, str] | None:
    """(uscc, name) when a listing may still admit the organisation: its deposit arrived after the listing
    opened (挂牌期间竞买人可随时交纳保证金、报价). Auctions fix their participants when they open."""
    if row.kind != rules.LISTING or row.previous_id is not None or row.status != rules.OPEN:
        return None
    name = session.scalar(select(Deposit.bidder_name).where(
        Deposit.instance_id == row.instance_id, Deposit.lot == row.lot, Deposit.bidder_uscc == org,
        Deposit.status == money_rules.HELD))
    if name is None or not deposit_status(session, row.instance_id, org, row.lot)["deposit_ok"]:
        return None
    return org, name


def _participant(session: Session, row: Auction, org: str, admit_at: datetime | None = None) -> AuctionParticipant:
    """The caller's participant row; with admit_at, a listing admits a bidder whose deposit arrived since."""
    participant = find_participant(session, row.id, org)
    if participant is None and admit_at is not None:
        found = admissible(session, row, org)
        if found is not None:
            taken = session.scalars(select(AuctionParticipant.paddle).where(AuctionParticipant.auction_id == row.id))
            paddle = rules.paddles(1, taken=list(taken))
            participant = _add_participants(session, row, [found], admit_at, paddle)[0]
            audit.append(session, row.instance_id, "auction.participant_admitted", None, admit_at,
                         {"auction_id": row.id, "paddle": participant.paddle})
    if participant is None:
        raise Forbidden(NOT_QUALIFIED)
    return participant


def _bidder_org(actor: Actor) -> str:
    if not actor.has("bidder") or not actor.org:
        raise Forbidden("只有登记了单位的竞买人可以报价")
    return actor.org


def _auction_id(value: Any, field: str = "auction_id") -> int:
    try:
        return int(str(value))
    except ValueError:
        raise Invalid(f"{field} 必须是竞价编号（整数）") from None


def yuan(amount: Decimal | None) -> str | None:
    return money_rules.yuan(amount) if amount is not None else None


def iso(value: datetime | None, p: Platform) -> str | None:
    return value.astimezone(p.tz).isoformat() if value is not None else None
