"""Tables of bid bonds and deposits (投标保证金/竞买保证金) and their refunds."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from persistence.models import Base

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class Money(TypeDecorator[Decimal]):
    """Yuan as Decimal in Python, whole fen (cents) as BIGINT in the database: exact on every backend."""

    impl = BigInteger()
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        if value is None:
            return None
        cents = Decimal(value) * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"amount {value} has fractions of a fen")
        return int(cents)

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(Decimal("0.01"))


class Deposit(Base):
    """One bidder's bond for one lot of one trade: the payment, and where the money went."""

    __tablename__ = "deposits"
    __table_args__ = (
        UniqueConstraint("instance_id", "lot", "bidder_uscc"),
        Index("ix_deposits_refund_scan", "status", "refund_due_at"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"), index=True)
    lot: Mapped[str] = mapped_column(String(50))
    bidder_uscc: Mapped[str] = mapped_column(String(18), index=True)
    bidder_name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money())
    payer_account_no: Mapped[str] = mapped_column(String(64))
    payer_bank: Mapped[str] = mapped_column(String(200))
    payer_account_name: Mapped[str] = mapped_column(String(200))
    is_basic_account: Mapped[bool] = mapped_column(Boolean)
    bank_reference: Mapped[str] = mapped_column(String(100))
    paid_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    refund_rule: Mapped[str | None] = mapped_column(String(60))
    refund_event: Mapped[str | None] = mapped_column(String(30))
    refund_due_at: Mapped[datetime | None]
    # Annual percent as decimal text (exact everywhere); NULL when the rule pays no interest.
    interest_rate: Mapped[str | None] = mapped_column(String(20))
    overdue_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    updated_at: Mapped[datetime]


class DepositRefund(Base):
    """The refund of one deposit as staff recorded it from the bank's transfer."""

    __tablename__ = "deposit_refunds"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    deposit_id: Mapped[int] = mapped_column(ForeignKey("deposits.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    interest: Mapped[Decimal] = mapped_column(Money())
    days_held: Mapped[int] = mapped_column(Integer)
    refunded_at: Mapped[datetime]
    bank_reference: Mapped[str] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(100))
    late: Mapped[bool] = mapped_column(Boolean)


__all__ = ["Deposit", "DepositRefund", "Money"]
