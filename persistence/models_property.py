"""Tables of state-owned property trades: the price payment plan, its instalments, payments and the voucher."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base
from persistence.models_deposits import BIG_ID, Money


class PaymentPlan(Base):
    """How the transferee pays the price of one trade, as the contract sets it (32号令 28)."""

    __tablename__ = "property_payment_plans"
    __table_args__ = (
        UniqueConstraint("instance_id", name="uq_property_plans_instance"),
        Index("ix_property_plans_transferee", "transferee_uscc"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", name="fk_property_plans_instance"))
    transferee_uscc: Mapped[str] = mapped_column(String(18))
    transferee_name: Mapped[str] = mapped_column(String(200))
    total: Mapped[Decimal] = mapped_column(Money())
    mode: Mapped[str] = mapped_column(String(20))
    contract_no: Mapped[str] = mapped_column(String(100))
    effective_on: Mapped[date] = mapped_column(Date)
    guarantee: Mapped[str | None] = mapped_column(String(500))
    # Annual percent as decimal text: the interest owed on deferred instalments (同期银行贷款利率).
    interest_rate: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(100))
    paid_at: Mapped[datetime | None]


class PlanInstalment(Base):
    """One instalment of a plan (a lump sum is a plan of one) and how much of it has been covered."""

    __tablename__ = "property_instalments"
    __table_args__ = (
        UniqueConstraint("plan_id", "seq", name="uq_property_instalments_plan_seq"),
        Index("ix_property_instalments_overdue_scan", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("property_payment_plans.id", name="fk_property_instalments_plan"))
    seq: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money())
    due_on: Mapped[date] = mapped_column(Date)
    paid: Mapped[Decimal] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(20))
    paid_at: Mapped[datetime | None]
    overdue_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", name="fk_property_instalments_alert"))


class PricePayment(Base):
    """Money received from the transferee, as staff or the bank interface recorded it."""

    __tablename__ = "property_payments"
    __table_args__ = (
        UniqueConstraint("plan_id", "bank_reference", name="uq_property_payments_plan_reference"),
        Index("ix_property_payments_plan", "plan_id"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("property_payment_plans.id", name="fk_property_payments_plan"))
    amount: Mapped[Decimal] = mapped_column(Money())
    paid_at: Mapped[datetime]
    bank_reference: Mapped[str] = mapped_column(String(100))
    payer_account_name: Mapped[str] = mapped_column(String(200))
    payer_account_no: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime]


class TransactionVoucher(Base):
    """The transaction voucher (交易凭证) the exchange issues once the price is paid in full."""

    __tablename__ = "property_vouchers"
    __table_args__ = (
        UniqueConstraint("instance_id", name="uq_property_vouchers_instance"),
        UniqueConstraint("voucher_no", name="uq_property_vouchers_no"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", name="fk_property_vouchers_instance"))
    voucher_no: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[datetime]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


__all__ = ["PaymentPlan", "PlanInstalment", "PricePayment", "TransactionVoucher"]
