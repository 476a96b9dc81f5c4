"""Tables of the live bidding engine: auctions, their participants (竞买号) and their bids."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base
from persistence.models_deposits import BIG_ID, Money


class Auction(Base):
    """One auction, listing or online bidding of a lot of a trade; the row every bid locks."""

    __tablename__ = "auctions"
    __table_args__ = (Index("ix_auctions_instance_lot", "instance_id", "lot"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"))
    lot: Mapped[str] = mapped_column(String(50))
    element_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    start_price: Mapped[Decimal] = mapped_column(Money())
    increment: Mapped[Decimal] = mapped_column(Money())
    # 底价: never leaves the server before the auction closes.
    reserve_price: Mapped[Decimal | None] = mapped_column(Money())
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    quiet_seconds: Mapped[int | None] = mapped_column(Integer)
    free_quote_until: Mapped[datetime | None]
    extend_window_seconds: Mapped[int | None] = mapped_column(Integer)
    extend_seconds: Mapped[int | None] = mapped_column(Integer)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("auctions.id", name="fk_auctions_previous_id"))
    # The effective close time after the bids so far (trading.auction.effective_close), kept with each bid.
    closes_at: Mapped[datetime]
    # Last event number: each bid takes the next one, closing takes one more. Followers poll this column.
    seq: Mapped[int] = mapped_column(Integer)
    bid_count: Mapped[int] = mapped_column(Integer)
    current_price: Mapped[Decimal | None] = mapped_column(Money())
    leader_id: Mapped[int | None] = mapped_column(BIG_ID)
    outcome: Mapped[str | None] = mapped_column(String(10))
    winner_uscc: Mapped[str | None] = mapped_column(String(18))
    winner_name: Mapped[str | None] = mapped_column(String(200))
    award_amount: Mapped[Decimal | None] = mapped_column(Money())
    continue_count: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuctionParticipant(Base):
    """A qualified bidder of an auction and its paddle number, the only name other bidders see."""

    __tablename__ = "auction_participants"
    __table_args__ = (
        UniqueConstraint("auction_id", "bidder_uscc", name="uq_auction_participants_bidder"),
        UniqueConstraint("auction_id", "paddle", name="uq_auction_participants_paddle"),
        Index("ix_auction_participants_bidder_uscc", "bidder_uscc"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id", name="fk_auction_participants_auction_id"))
    bidder_uscc: Mapped[str] = mapped_column(String(18))
    bidder_name: Mapped[str] = mapped_column(String(200))
    paddle: Mapped[str] = mapped_column(String(10))
    # Listing: when the bidder asked to continue to an on-site auction (39号令 第二十一条).
    continue_requested_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AuctionBid(Base):
    """An accepted bid: ordered by seq, timestamped by the server, persisted before it is acknowledged."""

    __tablename__ = "auction_bids"
    __table_args__ = (UniqueConstraint("auction_id", "seq", name="uq_auction_bids_seq"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id", name="fk_auction_bids_auction_id"))
    seq: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("auction_participants.id", name="fk_auction_bids_participant_id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    placed_at: Mapped[datetime]
    # The close time this bid left behind (the online kind extends it).
    closes_at: Mapped[datetime]
    placed_by: Mapped[str] = mapped_column(String(100))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    # The listing's highest quote carried into the on-site auction that continues it.
    carried_from: Mapped[int | None] = mapped_column(BIG_ID)


__all__ = ["Auction", "AuctionBid", "AuctionParticipant"]
