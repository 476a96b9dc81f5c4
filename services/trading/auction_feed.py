"""Reading an auction: who may see it, what each viewer sees, and following it live (long polling, SSE).

Secrecy: bidders see paddle numbers (竞买号), never each other's names; the reserve price (底价) is never
shown before close, after which viewers learn whether it was met and staff and supervisors the figure.

Several API processes may serve one auction, so a follower learns of a new bid by polling the auction row's
seq (one indexed primary-key read every POLL_SECONDS) rather than by an in-process signal. Each waiting
follower holds one server thread, so a process lets at most GGZY_AUCTION_FOLLOWERS of them wait at once;
the others get an immediate answer with a retry hint, which degrades live following to one poll a second
instead of starving bids of threads.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.access import Actor
from domain.errors import Forbidden, NotFound
from persistence.models import ProcessInstance
from persistence.models_auctions import Auction, AuctionBid, AuctionParticipant
from services.platform import Platform
from services.trading import auctions
from trading import auction as rules
from trading import deposits as money_rules

iso = auctions.iso

POLL_SECONDS = 0.3
MAX_WAIT_SECONDS = 25.0
STREAM_SECONDS = 60.0
HEARTBEAT_SECONDS = 15.0
MAX_EVENTS = 500
RETRY_MS = 2000
BUSY_RETRY_SECONDS = 1
VIEWERS = ("staff", "supervisor", "purchaser")
# Who may see bidders' names, and the reserve figure after close: the trading centre and supervision.
OVERSEERS = ("staff", "supervisor")


def get_auction(p: Platform, actor: Actor, auction_id: int) -> dict[str, Any]:
    """The auction's state; a bidder also sees its own paddle and standing (viewers of the region, participants)."""
    with p.db.sessions() as session:
        row = auctions.load_auction(session, auction_id)
        participant = authorize_view(session, actor, row)
        return auction_view(session, row, actor, participant, p)


def list_auctions(p: Platform, actor: Actor, instance_id: str) -> list[dict[str, Any]]:
    """The auctions of a trade: all for viewers of its region, those it may bid in for a bidder."""
    with p.db.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"交易 {instance_id} 不存在")
        views = []
        for row in session.scalars(select(Auction).where(Auction.instance_id == instance_id).order_by(Auction.id)):
            try:
                participant = authorize_view(session, actor, row)
            except Forbidden:
                continue
            views.append(auction_view(session, row, actor, participant, p))
        if not views and not (actor.has(*VIEWERS) and actor.covers(instance.region)):
            raise Forbidden("无权查看该交易的竞价")
        return views


# --- access and views ----------------------------------------------------------------------------------


def authorize_view(session: Session, actor: Actor, row: Auction) -> AuctionParticipant | None:
    """Staff and supervisors of the trade's region, its own purchaser, a participating bidder, or one a listing would
    admit (its deposit arrived since the listing opened); the bidder's participant row, if it has one."""
    if _organiser(session, actor, row):
        return None
    if actor.has("bidder") and actor.org:
        participant = auctions.find_participant(session, row.id, actor.org)
        if participant is not None:
            return participant
        if auctions.admissible(session, row, actor.org) is not None:
            return None
    raise Forbidden("无权查看该竞价：只有本区域的交易中心、监督人员、本宗交易的出让方和本场竞买人可以查看")


def auction_view(session: Session, row: Auction, actor: Actor, participant: AuctionParticipant | None,
                 p: Platform) -> dict[str, Any]:
    """An auction as the API shows it: never the reserve before close, never another bidder's name."""
    now = p.clock.now()
    terms = auctions.terms_of(row)
    closed = row.status != rules.OPEN
    leader = session.get(AuctionParticipant, row.leader_id) if row.leader_id else None
    view: dict[str, Any] = {
        "id": row.id, "instance_id": row.instance_id, "lot": row.lot, "kind": row.kind,
        "kind_name": rules.KINDS[row.kind], "status": row.status,
        "phase": rules.phase(terms, row.closes_at, now, closed), "start_price": money_rules.yuan(row.start_price),
        "increment": money_rules.yuan(row.increment), "has_reserve": row.reserve_price is not None,
        "starts_at": iso(row.starts_at, p), "ends_at": iso(row.ends_at, p), "quiet_seconds": row.quiet_seconds,
        "free_quote_until": iso(row.free_quote_until, p), "extend_window_seconds": row.extend_window_seconds,
        "extend_seconds": row.extend_seconds, "closes_at": iso(row.closes_at, p), "server_time": iso(now, p),
        "seq": row.seq, "bid_count": row.bid_count, "current_price": auctions.yuan(row.current_price),
        "leader_paddle": leader.paddle if leader else None,
        "minimum_bid": None if closed else money_rules.yuan(rules.minimum_bid(terms, row.current_price)),
        "previous_id": row.previous_id, "me": standing(session, row, participant), "result": None,
    }
    organiser = participant is None and _organiser(session, actor, row)
    if organiser:
        # How many bidders qualified is for the organisers; bidders learn only paddles they see bid.
        view["participant_count"] = session.scalar(select(func.count()).select_from(AuctionParticipant).where(
            AuctionParticipant.auction_id == row.id)) or 0
    if closed:
        sold = row.outcome == rules.SOLD
        view["result"] = {
            "outcome": row.outcome, "outcome_name": rules.OUTCOMES.get(row.outcome or "", row.outcome),
            "award_amount": auctions.yuan(row.award_amount), "winner_paddle": leader.paddle if leader and sold else None,
            "winner_name": row.winner_name, "winner_uscc": row.winner_uscc,
            "reserve_met": None if row.reserve_price is None or row.current_price is None
            else row.current_price >= row.reserve_price,
            "continue_count": row.continue_count, "closed_at": iso(row.closed_at, p)}
        if organiser and actor.has(*OVERSEERS):
            view["result"]["reserve_price"] = auctions.yuan(row.reserve_price)
    return view


def _organiser(session: Session, actor: Actor, row: Auction) -> bool:
    if not actor.has(*VIEWERS):
        return False
    instance = session.get(ProcessInstance, row.instance_id)
    if instance is None or not actor.covers(instance.region):
        return False
    if actor.has("staff", "supervisor"):
        return True
    # A purchaser watches only its own trade (the grantor or transferor), not every sale of its region.
    owner = str((instance.variables or {}).get("purchaser_uscc") or "").strip().upper()
    return instance.created_by == actor.username or bool(actor.org and actor.org.strip().upper() == owner)


def standing(session: Session, row: Auction, participant: AuctionParticipant | None) -> dict[str, Any] | None:
    """A participant's own paddle, highest bid and whether it leads; None for other viewers."""
    if participant is None:
        return None
    mine = session.scalar(select(func.max(AuctionBid.amount)).where(
        AuctionBid.auction_id == row.id, AuctionBid.participant_id == participant.id))
    return {"paddle": participant.paddle, "leading": row.leader_id == participant.id and row.current_price is not None,
            "my_highest": auctions.yuan(mine), "continue_requested": participant.continue_requested_at is not None}


# --- following live ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Follower:
    """Who follows which auction, decided once per request."""

    auction_id: int
    actor: Actor
    participant_id: int | None
    names: bool


def follower(p: Platform, actor: Actor, auction_id: int) -> Follower:
    """Check the caller may view the auction (as GET /auctions/{id}) before any waiting starts."""
    with p.db.sessions() as session:
        row = auctions.load_auction(session, auction_id)
        participant = authorize_view(session, actor, row)
        names = participant is None and actor.has(*OVERSEERS) and _organiser(session, actor, row)
    return Follower(auction_id, actor, participant.id if participant else None, names)


def head(p: Platform, auction_id: int) -> tuple[int, bool]:
    """The auction's last event number and whether it is closed: the one cheap read followers repeat."""
    with p.db.sessions() as session:
        row = session.execute(select(Auction.seq, Auction.status).where(Auction.id == auction_id)).first()
    return (row[0], row[1] == rules.CLOSED) if row else (0, True)


def snapshot(p: Platform, f: Follower, after: int) -> dict[str, Any]:
    """The auction's state for the follower and its events after seq `after` (at most MAX_EVENTS)."""
    with p.db.sessions() as session:
        row = auctions.load_auction(session, f.auction_id)
        participant = session.get(AuctionParticipant, f.participant_id) if f.participant_id else None
        rows = session.execute(
            select(AuctionBid, AuctionParticipant).join(AuctionParticipant, AuctionParticipant.id == AuctionBid.participant_id)
            .where(AuctionBid.auction_id == row.id, AuctionBid.seq > after).order_by(AuctionBid.seq)
            .limit(MAX_EVENTS)).all()
        events = [auctions.bid_view(bid, who, row, p, mine=who.id == f.participant_id, names=f.names)
                  for bid, who in rows]
        complete = len(rows) < MAX_EVENTS
        if complete and row.status == rules.CLOSED and row.seq > after:
            events.append(_closed_event(session, row, p))
        view = auction_view(session, row, f.actor, participant, p)
    last = events[-1]["seq"] if events else max(after, 0)
    return {"auction": view, "events": events, "last_seq": min(last, view["seq"]) if complete else last,
            "more": not complete}


def wait(p: Platform, f: Follower, after: int, seconds: float) -> dict[str, Any]:
    """Long poll: answer as soon as an event after `after` is persisted, or after `seconds` (≤ 25) with none."""
    seconds = max(0.0, min(seconds, MAX_WAIT_SECONDS))
    with _slot(seconds > 0) as waiting:
        if waiting:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                seq, closed = head(p, f.auction_id)
                if seq > after or closed:  # nothing will follow the close event
                    break
                time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        result = snapshot(p, f, after)
        result["retry_after"] = None if waiting or seconds == 0 else BUSY_RETRY_SECONDS
    return result


def stream(p: Platform, f: Follower, after: int, seconds: float = STREAM_SECONDS) -> Iterator[str]:
    """Server-sent events: each bid (id = seq), a state message after each batch, then end at close or timeout."""
    seconds = max(1.0, min(seconds, STREAM_SECONDS))

    def events() -> Iterator[str]:
        with _slot(True) as waiting:
            yield f"retry: {RETRY_MS}\n\n"
            last, sent_state = after, False
            deadline = time.monotonic() + (seconds if waiting else 0.0)
            beat = time.monotonic() + HEARTBEAT_SECONDS
            while True:
                if not sent_state or head(p, f.auction_id)[0] > last:
                    batch = snapshot(p, f, last)
                    for event in batch["events"]:
                        yield _message(event["type"], event, event["seq"])
                    last = batch["last_seq"]
                    yield _message("state", batch["auction"])
                    sent_state = True
                    if batch["auction"]["status"] == rules.CLOSED and not batch["more"]:
                        yield _message("end", {"reason": "closed"})
                        return
                    if batch["more"]:
                        continue
                now = time.monotonic()
                if now >= deadline:
                    # The client reconnects with Last-Event-ID; the bounded lifetime frees the server thread.
                    yield _message("end", {"reason": "timeout" if waiting else "busy"})
                    return
                if now >= beat:
                    yield ": keepalive\n\n"
                    beat = now + HEARTBEAT_SECONDS
                time.sleep(min(POLL_SECONDS, max(0.0, deadline - now)))

    return events()


def _closed_event(session: Any, row: Auction, p: Platform) -> dict[str, Any]:
    winner = session.get(AuctionParticipant, row.leader_id) if row.leader_id and row.outcome == rules.SOLD else None
    return {"seq": row.seq, "type": "closed", "auction_id": row.id, "at": iso(row.closed_at, p),
            "outcome": row.outcome, "award_amount": money_rules.yuan(row.award_amount) if row.award_amount else None,
            "winner_paddle": winner.paddle if winner else None}


def _message(event: str, data: dict[str, Any], seq: int | None = None) -> str:
    head_line = f"id: {seq}\n" if seq is not None else ""
    return f"{head_line}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


_LIMIT = max(1, int(os.environ.get("GGZY_AUCTION_FOLLOWERS", "4") or 4))
_SLOTS = threading.BoundedSemaphore(_LIMIT)


@contextmanager
def _slot(want: bool) -> Iterator[bool]:
    """One of the process's follower slots, if one is free; True when held."""
    held = want and _SLOTS.acquire(blocking=False)
    try:
        yield held
    finally:
        if held:
            _SLOTS.release()
