"""The public read side of disclosure (no token): published items, a trade's timeline, the change feed."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from domain import disclosure as rules
from domain.access import region_prefix
from domain.errors import BadRequest, NotFound
from persistence.models import ProcessInstance
from persistence.models_publications import Publication
from persistence.models_tender import TradeRegistration
from services import disclosure
from services.platform import Platform

STATUSES = ("current", "superseded")
FEED_MAX = 500


def _with_successor() -> tuple[Select[Publication, int], Any]:
    """Items with the id of the item that corrected each (None while current)."""
    later = aliased(Publication)
    query = select(Publication, later.id).outerjoin(later, later.supersedes_id == Publication.id)
    return query, later


def list_publications(p: Platform, filters: dict[str, Any], page: int = 1, per_page: int = 20) -> dict[str, Any]:
    """A page of published items, newest first, filtered by category, region, kind, dates, status and title."""
    query, later = _with_successor()
    if filters.get("category"):
        query = query.where(Publication.category == filters["category"])
    if filters.get("region"):
        query = query.where(Publication.region.like(_escape(region_prefix(filters["region"])) + "%", escape="\\"))
    if filters.get("kind"):
        if filters["kind"] not in rules.KINDS:
            raise BadRequest(f"kind 只能是：{', '.join(rules.KINDS)}")
        query = query.where(Publication.kind == filters["kind"])
    if filters.get("trade_code"):
        query = query.where(Publication.trade_code == filters["trade_code"])
    if filters.get("from_"):
        query = query.where(Publication.published_at >= _day_start(p, filters["from_"]))
    if filters.get("to"):
        query = query.where(Publication.published_at < _day_start(p, filters["to"] + timedelta(days=1)))
    status = filters.get("status")
    if status:
        if status not in STATUSES:
            raise BadRequest(f"status 只能是：{', '.join(STATUSES)}")
        query = query.where(later.id.is_(None) if status == "current" else later.id.is_not(None))
    text = (filters.get("q") or "").strip()
    if text:
        # ILIKE works on both backends; on PostgreSQL with pg_trgm the trigram index of migration 0012 serves it.
        query = query.where(Publication.title.ilike(f"%{_escape(text)}%", escape="\\"))
    with p.db.sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(query.order_by(Publication.published_at.desc(), Publication.id.desc())
                               .offset((page - 1) * per_page).limit(per_page)).all()
        items = [disclosure.view(row, successor, p.tz) for row, successor in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def get_publication(p: Platform, publication_id: int) -> dict[str, Any]:
    """One published item."""
    query, _ = _with_successor()
    with p.db.sessions() as session:
        found = session.execute(query.where(Publication.id == publication_id)).first()
        if found is None:
            raise NotFound(f"公开信息 {publication_id} 不存在")
        return disclosure.view(found[0], found[1], p.tz)


def trade(p: Platform, trade_code: str) -> dict[str, Any]:
    """A trade as the public sees it: its code, category, region and the timeline of what it published."""
    with p.db.sessions() as session:
        timeline = trade_items(session, trade_code)
        if not timeline:
            # A trade that has published nothing is not public yet, not even its existence.
            raise NotFound(f"交易 {trade_code} 没有公开信息")
        items = [disclosure.view(row, successor, p.tz) for row, successor in timeline]
        registration = session.scalar(select(TradeRegistration).where(TradeRegistration.trade_code == trade_code))
        instance = session.get(ProcessInstance, timeline[0][0].instance_id)
        first = timeline[0][0]
        return {
            "trade_code": trade_code,
            "ocid": rules.ocid(trade_code),
            "category": first.category,
            "category_name": rules.CATEGORIES.get(first.category, first.category),
            "region": first.region,
            "process_key": first.process_key,
            "registered_at": registration.registered_at.astimezone(p.tz).isoformat() if registration else None,
            "status": instance.status if instance else None,
            "latest_kind": items[-1]["kind"],
            "publications": items,
        }


def trade_items(session: Session, trade_code: str) -> list[tuple[Publication, int | None]]:
    """A trade's published items with their correctors, in feed order."""
    query, _ = _with_successor()
    rows = session.execute(query.where(Publication.trade_code == trade_code).order_by(Publication.feed_seq)).all()
    return [(row, successor) for row, successor in rows]


def feed(p: Platform, cursor: int = 0, limit: int = 100) -> dict[str, Any]:
    """Items after the cursor in feed order; next_cursor resumes there (replay: cursor 0).

    Sequence numbers are drawn in commit order (services.disclosure), so an item committed after this read
    always has a higher number than next_cursor: reading on from next_cursor never skips one.
    """
    if cursor < 0:
        raise BadRequest("cursor 不能为负数")
    limit = max(1, min(limit, FEED_MAX))
    query, _ = _with_successor()
    with p.db.sessions() as session:
        rows = session.execute(query.where(Publication.feed_seq > cursor)
                               .order_by(Publication.feed_seq).limit(limit + 1)).all()
        items = [disclosure.view(row, successor, p.tz) for row, successor in rows[:limit]]
    return {
        "items": items,
        "cursor": cursor,
        "next_cursor": items[-1]["feed_seq"] if items else cursor,
        "has_more": len(rows) > limit,
    }


def _day_start(p: Platform, day: date) -> datetime:
    return datetime.combine(day, time.min, p.tz)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
