"""Tables of the negotiated procurement methods (竞争性谈判, 询价): suppliers' offers per round and the team's findings."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base


class GpOffer(Base):
    """One supplier's price in one round (谈判轮次; 询价 has only round 1) of a trade and lot."""

    __tablename__ = "gp_offers"
    __table_args__ = (UniqueConstraint("instance_id", "lot", "round", "supplier_uscc"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"), index=True)
    lot: Mapped[str] = mapped_column(String(40))
    round: Mapped[int] = mapped_column(Integer)
    supplier_uscc: Mapped[str] = mapped_column(String(18))
    supplier_name: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    submitted_at: Mapped[datetime]
    submitted_by: Mapped[str] = mapped_column(String(100))
    client_ip: Mapped[str | None] = mapped_column(String(64))


class GpAssessment(Base):
    """Whether a supplier's response meets the procurement requirements, as the negotiation or inquiry team found."""

    __tablename__ = "gp_assessments"

    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"), primary_key=True)
    lot: Mapped[str] = mapped_column(String(40), primary_key=True)
    supplier_uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    meets_requirements: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(2000))
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(100))


__all__ = ["GpAssessment", "GpOffer"]
