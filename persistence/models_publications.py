"""Published items (公告、公示、结果) and the counter that orders the public change feed."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from domain.errors import Conflict
from persistence.models import Base


class Publication(Base):
    """One published item: immutable once written; a correction is a new row whose supersedes_id names the old."""

    __tablename__ = "publications"
    __table_args__ = (
        UniqueConstraint("feed_seq", name="uq_publications_feed_seq"),
        # A chain, never a tree: an item is corrected at most once, later corrections correct the correction.
        UniqueConstraint("supersedes_id", name="uq_publications_supersedes_id"),
        Index("ix_publications_trade_code", "trade_code"),
        Index("ix_publications_instance_id", "instance_id"),
        Index("ix_publications_region_published", "region", "published_at"),
        Index("ix_publications_published_at", "published_at"),
        # On PostgreSQL with pg_trgm this is a trigram GIN index that serves `title ILIKE '%q%'`; elsewhere a
        # plain index of the same name (the migration decides).
        Index("ix_publications_title", "title"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_seq: Mapped[int] = mapped_column(BigInteger)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", name="fk_publications_instance_id"))
    element_id: Mapped[str] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))
    trade_code: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(12))
    process_key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    labels: Mapped[dict[str, Any]]
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("publications.id", name="fk_publications_supersedes_id"))
    published_at: Mapped[datetime]
    published_by: Mapped[str | None] = mapped_column(String(100))


@event.listens_for(Publication, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: Publication) -> None:
    # The service-level half of immutability; the database trigger of migration 0012 is the other half.
    raise Conflict(f"已发布的信息 {target.id} 不可修改：更正须发布新的更正公告")


class PublicationFeed(Base):
    """The one row whose lock hands out feed sequence numbers in commit order."""

    __tablename__ = "publication_feed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


__all__ = ["Publication", "PublicationFeed"]
