"""The alerts table: findings for supervisors (overdue refunds now, the supervision rules later)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base


class Alert(Base):
    """One finding: what, about whom, under which rule, with the evidence; open until a supervisor acts."""

    __tablename__ = "alerts"
    __table_args__ = (
        # Set while open, cleared on review or dismissal: one open alert per (kind, instance, subject),
        # enforced by the database even when two scans race (NULLs never collide in a unique index).
        UniqueConstraint("open_key"),
        Index("ix_alerts_status_region", "status", "region"),
        # Periodic checks ask whether a subject was ever alerted, reviewed or not.
        Index("ix_alerts_kind_subject", "kind", "subject"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(10))
    # 0-100, how strongly the evidence points to a breach: orders the review queue, never decides anything.
    score: Mapped[int | None] = mapped_column(Integer)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    region: Mapped[str | None] = mapped_column(String(12))
    subject: Mapped[str | None] = mapped_column(String(100))
    rule: Mapped[str | None] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(12))
    open_key: Mapped[str | None] = mapped_column(String(250))
    handled_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


__all__ = ["Alert"]
