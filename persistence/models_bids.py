"""Tables of sealed bids: each uploaded file with its receipt, what happened to it, and each lot's opening."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base


class Bid(Base):
    """One uploaded bid file (a replacement is a new row; the old one is kept as superseded)."""

    __tablename__ = "bids"
    __table_args__ = (Index("ix_bids_trade", "instance_id", "lot", "bidder_org"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"))
    lot: Mapped[str] = mapped_column(String(40))
    bidder_org: Mapped[str] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(Text)
    receipt_no: Mapped[str] = mapped_column(String(32), unique=True)
    storage_key: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime]
    submitted_by: Mapped[str] = mapped_column(String(100))
    replaces_id: Mapped[str | None] = mapped_column(String(32))
    superseded_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    decrypted_at: Mapped[datetime | None]
    plain_key: Mapped[str | None] = mapped_column(String(64))
    plain_sha256: Mapped[str | None] = mapped_column(String(64))
    plain_size: Mapped[int | None] = mapped_column(BigInteger)
    decrypt_attempts: Mapped[int] = mapped_column(Integer, default=0)


class BidEvent(Base):
    """Who did what to a bid, from which address and device (电子招标投标办法: 记录投标人 IP 与设备信息)."""

    __tablename__ = "bid_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    bid_id: Mapped[str] = mapped_column(ForeignKey("bids.id"), index=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    type: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(100))
    bidder_org: Mapped[str] = mapped_column(String(18))
    client_ip: Mapped[str | None] = mapped_column(String(45))
    device_fingerprint: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column()


class BidOpening(Base):
    """The opening (开标) of one lot: the count at the deadline and the decryption window."""

    __tablename__ = "bid_openings"
    __table_args__ = (UniqueConstraint("instance_id", "lot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"))
    lot: Mapped[str] = mapped_column(String(40))
    deadline: Mapped[datetime]
    opened_at: Mapped[datetime]
    bid_count: Mapped[int] = mapped_column(Integer)
    min_bidders_rule: Mapped[str] = mapped_column(String(60))
    min_bidders: Mapped[int] = mapped_column(Integer)
    valid: Mapped[bool]
    decrypt_until: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    decrypted_count: Mapped[int | None] = mapped_column(Integer)
