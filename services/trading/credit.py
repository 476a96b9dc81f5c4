"""Credit lists (信用红黑名单): supervisors record and revoke listings; a blacklisted entity may not bid."""
from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models_entities import CreditListing, Organisation
from services import audit
from services.platform import Platform
from trading import uscc
from trading.entities import (
    LISTS,
    Listing,
    blacklist_message,
    check_period,
    date_field,
    in_force,
    optional_text,
    text_field,
)

LISTERS = ("supervisor", "admin")


class Blacklisted(Forbidden):
    """403: the organisation is blacklisted; carries who it is, so that the refusal can raise an alert."""

    def __init__(self, message: str, errors: Any, uscc: str, name: str | None) -> None:
        super().__init__(message, errors)
        self.uscc = uscc
        self.name = name

# The default of GGZY_TIMEZONE; callers holding a Platform pass p.tz.
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


def add_listing(p: Platform, actor: Actor, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Record a listing (supervisors, admins); the same source document again returns it (created False)."""
    if not actor.has(*LISTERS):
        raise Forbidden("只有行政监督人员或管理员可以录入信用名单")
    code = uscc.clean(str(data.get("uscc") or ""))
    list_ = data.get("list")
    if list_ not in LISTS:
        raise Invalid("list 只能是 black（黑名单）或 red（红名单）", [{"field": "list", "message": "black 或 red"}])
    source = text_field(data, "source", 100)
    reason = text_field(data, "reason", 2000)
    document_no = optional_text(data, "document_no", 100)
    valid_from = date_field(data.get("valid_from"), "valid_from") or _today(p)
    valid_until = date_field(data.get("valid_until"), "valid_until")
    check_period(valid_from, valid_until, "名单有效期")

    def use_case(session: Session) -> tuple[dict[str, Any], bool]:
        if document_no:
            existing = session.scalar(select(CreditListing).where(
                CreditListing.uscc == code, CreditListing.list_ == list_, CreditListing.source == source,
                CreditListing.document_no == document_no, CreditListing.revoked_at.is_(None)))
            if existing is not None:
                return listing_view(existing, p.clock.now(), p.tz), False
        now = p.clock.now()
        org = session.get(Organisation, code)
        name = optional_text(data, "name", 200) or (org.name if org else None)
        row = CreditListing(uscc=code, name=name, list_=list_, source=source, reason=reason,
                            document_no=document_no, valid_from=valid_from, valid_until=valid_until,
                            created_by=actor.username, created_at=now)
        session.add(row)
        session.flush()
        audit.append(session, audit.PLATFORM_CHAIN, "credit.listed", actor, now, {
            "listing_id": row.id, "uscc": code, "list": list_, "source": source, "reason": reason,
            "document_no": document_no, "valid_from": valid_from, "valid_until": valid_until})
        return listing_view(row, now, p.tz), True

    return p.db.run(use_case)


def revoke_listing(p: Platform, actor: Actor, listing_id: int, reason: str | None = None) -> dict[str, Any]:
    """Revoke a listing (supervisors, admins): it stops counting at once and stays on record."""
    if not actor.has(*LISTERS):
        raise Forbidden("只有行政监督人员或管理员可以撤销信用名单")
    why = optional_text({"reason": reason}, "reason", 2000)

    def use_case(session: Session) -> dict[str, Any]:
        row = session.get(CreditListing, listing_id)
        if row is None:
            raise NotFound(f"信用名单记录 {listing_id} 不存在")
        if row.revoked_at is not None:
            raise Conflict(f"信用名单记录 {listing_id} 已于 {row.revoked_at.astimezone(p.tz):%Y-%m-%d %H:%M} 撤销")
        now = p.clock.now()
        row.revoked_at, row.revoked_by, row.revoke_reason = now, actor.username, why
        audit.append(session, audit.PLATFORM_CHAIN, "credit.revoked", actor, now,
                     {"listing_id": row.id, "uscc": row.uscc, "list": row.list_, "reason": why})
        return listing_view(row, now, p.tz)

    return p.db.run(use_case)


def list_listings(p: Platform, actor: Actor, list_: str | None = None, code: str | None = None,
                  in_force: bool | None = None, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    """A page of listings, filtered by list, organisation and whether they count now (any token)."""
    if list_ is not None and list_ not in LISTS:
        raise Invalid("list 只能是 black 或 red", [{"field": "list", "message": "black 或 red"}])
    now = p.clock.now()
    query = select(CreditListing)
    if list_:
        query = query.where(CreditListing.list_ == list_)
    if code:
        query = query.where(CreditListing.uscc == uscc.normalize(code))
    if in_force is not None:
        condition = _in_force(now, now.astimezone(p.tz).date())
        query = query.where(condition if in_force else ~condition)
    return _page(p, query, now, page, per_page, public=False)


def public_blacklist(p: Platform, code: str | None = None, page: int = 1, per_page: int = 50,
                     list_: str = "black") -> dict[str, Any]:
    """The blacklist (or the red list) in force now, as the public pages show it (no token)."""
    now = p.clock.now()
    query = select(CreditListing).where(CreditListing.list_ == list_, _in_force(now, now.astimezone(p.tz).date()))
    if code:
        query = query.where(CreditListing.uscc == uscc.normalize(code))
    return _page(p, query, now, page, per_page, public=True)


def blacklistings(session: Session, code: str, on: datetime, tz: tzinfo = DEFAULT_TZ) -> list[CreditListing]:
    """The organisation's blacklist entries in force at `on` (lapsed and revoked ones do not count)."""
    query = select(CreditListing).where(CreditListing.uscc == uscc.normalize(code), CreditListing.list_ == "black",
                                        _in_force(on, on.astimezone(tz).date()))
    return list(session.scalars(query.order_by(CreditListing.valid_from, CreditListing.id)))


def is_blacklisted(session: Session, code: str, on: datetime, tz: tzinfo = DEFAULT_TZ) -> bool:
    """True when a blacklist entry is in force for the organisation at `on`."""
    return bool(blacklistings(session, code, on, tz))


def require_not_blacklisted(session: Session, code: str, on: datetime, tz: tzinfo = DEFAULT_TZ,
                            action: str = "参与投标") -> None:
    """Raise Forbidden naming every blacklist entry in force (source, document number, reason, validity)."""
    rows = blacklistings(session, code, on, tz)
    if not rows:
        return
    code = uscc.normalize(code)
    org = session.get(Organisation, code)
    name = org.name if org else next((r.name for r in rows if r.name), None)
    message = blacklist_message(code, name, [_listing(r) for r in rows], action)
    raise Blacklisted(message, [listing_view(r, on, tz, public=True) for r in rows], code, name)


def listing_view(row: CreditListing, now: datetime, tz: tzinfo, public: bool = False) -> dict[str, Any]:
    """A listing as the API shows it, with whether it is in force now; public views leave out who keyed it."""
    view: dict[str, Any] = {
        "id": row.id, "uscc": row.uscc, "name": row.name, "list": row.list_, "list_name": LISTS[row.list_],
        "source": row.source, "reason": row.reason, "document_no": row.document_no,
        "valid_from": row.valid_from.isoformat(), "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "in_force": in_force(_listing(row), now, now.astimezone(tz).date()),
    }
    if not public:
        view.update({
            "created_by": row.created_by, "created_at": row.created_at.isoformat(),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            "revoked_by": row.revoked_by, "revoke_reason": row.revoke_reason,
        })
    return view


def _listing(row: CreditListing) -> Listing:
    return Listing(row.list_, row.source, row.reason, row.document_no, row.valid_from, row.valid_until,
                   row.revoked_at)


def _in_force(at: datetime, day: date) -> ColumnElement[bool]:
    # The SQL twin of trading.entities.in_force, so that lists and checks filter in the database.
    return and_(
        or_(CreditListing.revoked_at.is_(None), CreditListing.revoked_at > at),
        CreditListing.valid_from <= day,
        or_(CreditListing.valid_until.is_(None), CreditListing.valid_until >= day),
    )


def _page(p: Platform, query: Any, now: datetime, page: int, per_page: int, public: bool) -> dict[str, Any]:
    with p.db.sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(CreditListing.created_at.desc(), CreditListing.id.desc())
                               .offset((page - 1) * per_page).limit(per_page))
        items = [listing_view(r, now, p.tz, public) for r in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def _today(p: Platform) -> date:
    return p.clock.now().astimezone(p.tz).date()
