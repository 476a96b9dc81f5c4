"""The trade_results table: one outcome per trade and lot (awarded or failed), the base of statistics."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base
from persistence.models_deposits import Money

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class TradeResult(Base):
    """How one lot of one trade ended: winner and amount, or why it failed; rewritten when recorded again."""

    __tablename__ = "trade_results"
    __table_args__ = (
        UniqueConstraint("instance_id", "lot", name="uq_trade_results_instance_lot"),
        Index("ix_trade_results_region_month", "region", "closed_month"),
        Index("ix_trade_results_category_month", "category", "closed_month"),
        Index("ix_trade_results_purchaser", "purchaser_uscc", "outcome"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", name="fk_trade_results_instance"))
    lot: Mapped[str] = mapped_column(String(50))
    process_key: Mapped[str] = mapped_column(String(100))
    trade_code: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(12))
    project_name: Mapped[str | None] = mapped_column(String(200))
    project_code: Mapped[str | None] = mapped_column(String(50))
    purchaser_uscc: Mapped[str | None] = mapped_column(String(18))
    purchaser_name: Mapped[str | None] = mapped_column(String(200))
    # "awarded" or "failed"
    outcome: Mapped[str] = mapped_column(String(10))
    winner_uscc: Mapped[str | None] = mapped_column(String(18))
    winner_name: Mapped[str | None] = mapped_column(String(200))
    award_amount: Mapped[Decimal | None] = mapped_column(Money())
    budget_amount: Mapped[Decimal | None] = mapped_column(Money())
    bidder_count: Mapped[int | None] = mapped_column(Integer)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime]
    # YYYY-MM of closed_at in the platform's zone: grouping by month stays plain SQL on every backend.
    closed_month: Mapped[str] = mapped_column(String(7))
    recorded_at: Mapped[datetime]
    updated_at: Mapped[datetime]


__all__ = ["TradeResult"]
