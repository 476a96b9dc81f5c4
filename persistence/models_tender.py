"""Tables of the tender processes: the unified trading code (统一交易编码) of each trade and its sequences."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base


class TradeCodeSequence(Base):
    """The last sequence number issued for one region, category and year."""

    __tablename__ = "trade_code_sequences"

    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    category: Mapped[str] = mapped_column(String(2), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class TradeRegistration(Base):
    """The unified trading code a trade (process instance) received when it was registered (受理登记)."""

    __tablename__ = "trade_registrations"
    __table_args__ = (UniqueConstraint("trade_code"),)

    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"), primary_key=True)
    trade_code: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(6))
    category: Mapped[str] = mapped_column(String(2))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    registered_at: Mapped[datetime]
    registered_by: Mapped[str | None] = mapped_column(String(100))


__all__ = ["TradeCodeSequence", "TradeRegistration"]
