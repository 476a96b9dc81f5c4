"""Tables of the expert pool, the committees drawn from it, and the evaluations they carry out."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base


class Expert(Base):
    """An evaluation expert in the pool (评标专家库); the ID number is kept only as a hash and a mask."""

    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    region: Mapped[str] = mapped_column(String(12), index=True)
    # Indexed: the draw looks up the experts employed by the bidders and the purchaser.
    employer_uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    username: Mapped[str | None] = mapped_column(String(100), unique=True)
    available: Mapped[bool] = mapped_column(Boolean)
    blacklisted: Mapped[bool] = mapped_column(Boolean)
    blacklist_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ExpertSpecialty(Base):
    """One specialty code of an expert, with copies of what the draw filters on."""

    __tablename__ = "expert_specialties"
    # The draw's whole filter is one range of this index (code, then active, then the region range), and the
    # ids come out of the index itself: no join with experts, no table access. Joining instead made the
    # database intersect the code's experts with the region's (tens of thousands of rows at 100,000 experts).
    # The second index gives a code's active experts in id order, the draw's list, so a national draw of
    # ~100,000 ids is not sorted again each time (services.trading.expert_pool.eligible).
    __table_args__ = (Index("ix_expert_specialties_code", "code", "active", "region", "expert_id"),
                      Index("ix_expert_specialties_code_id", "code", "active", "expert_id", "region"))

    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    # Copies of experts.region and of (available and not blacklisted), kept in step by
    # services.trading.expert_pool, the only writer of experts.
    region: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(Boolean)


class ExpertPoolVersion(Base):
    """The version of every draw's candidate pool: how many transactions have changed expert_specialties.

    On PostgreSQL statement-level triggers (migrations 0017, 0018) update the single row (id 1) in every
    transaction that inserts, updates, deletes or truncates specialty rows: `counter` goes up by one, once per
    transaction, and `xact_id` names that transaction (so a draw can tell a change of its own, not committed
    yet). Changers queue on the row until they commit, so counters follow commit order: the pool a statement
    reads together with this row is the pool of that counter, and services.trading.candidate_pools keeps
    pools by it. `log_from` is the first counter whose changes expert_pool_changes still holds in full.
    SQLite has the tables but no triggers, and never reads them: its draws read the pool every time."""

    __tablename__ = "expert_pool_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    xact_id: Mapped[int] = mapped_column(BigInteger)
    counter: Mapped[int] = mapped_column(BigInteger, server_default="0")
    log_from: Mapped[int] = mapped_column(BigInteger, server_default="1")


class ExpertPoolChange(Base):
    """An expert whose specialty rows the change numbered `counter` inserted, updated or deleted (PostgreSQL
    triggers write it; the last 10,000 changes are kept). A kept pool of counter S is brought up to date by
    checking again only the experts logged after S."""

    __tablename__ = "expert_pool_changes"

    counter: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    expert_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class ExpertUnavailability(Base):
    """A period (inclusive dates) in which an expert cannot sit on a committee."""

    __tablename__ = "expert_unavailability"
    __table_args__ = (Index("ix_expert_unavailability_span", "ends_on", "starts_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))


class ExpertRecusal(Base):
    """An expert's declaration that they must stay out of a trade (回避)."""

    __tablename__ = "expert_recusals"
    __table_args__ = (UniqueConstraint("instance_id", "expert_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    declared_at: Mapped[datetime]
    declared_by: Mapped[str | None] = mapped_column(String(100))


class ExpertCommittee(Base):
    """The evaluation committee of one lot of a trade: its lawful size and what the draw excluded."""

    __tablename__ = "expert_committees"
    __table_args__ = (UniqueConstraint("instance_id", "lot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"))
    lot: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    owner_reps: Mapped[int] = mapped_column(Integer)
    experts_needed: Mapped[int] = mapped_column(Integer)
    reserves: Mapped[int] = mapped_column(Integer)
    specialties: Mapped[list[Any]] = mapped_column(JSON)
    region: Mapped[str | None] = mapped_column(String(12))
    evaluation_date: Mapped[date] = mapped_column(Date)
    excluded_employers: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(100))


class ExpertDraw(Base):
    """One random draw: the seed and the exact candidate list it ran on, so anyone can replay it."""

    __tablename__ = "expert_draws"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("expert_committees.id"), index=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    seed: Mapped[str] = mapped_column(String(64))
    candidates_hash: Mapped[str] = mapped_column(String(64))
    candidate_count: Mapped[int] = mapped_column(Integer)
    # trading.experts.pack_ids: zlib-compressed deltas of the sorted ids.
    candidates: Mapped[bytes] = mapped_column(LargeBinary)
    needed: Mapped[int] = mapped_column(Integer)
    reserves_requested: Mapped[int] = mapped_column(Integer)
    members: Mapped[list[Any]] = mapped_column(JSON)
    reserves: Mapped[list[Any]] = mapped_column(JSON)
    event_seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(100))


class CommitteeMember(Base):
    """A drawn expert's seat: pending, confirmed, declined, recused, or waiting as a reserve."""

    __tablename__ = "expert_committee_members"
    __table_args__ = (UniqueConstraint("committee_id", "expert_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("expert_committees.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("expert_draws.id"))
    # Members are numbered 1, 2, ... as seats are filled (the mask "专家N"); reserves by their turn.
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    responded_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class Evaluation(Base):
    """One evaluation (评标) of a lot: method, criteria, the bidders and prices, and the ranking."""

    __tablename__ = "evaluations"
    __table_args__ = (Index("ix_evaluations_trade", "instance_id", "lot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"))
    lot: Mapped[str] = mapped_column(String(40))
    committee_id: Mapped[int] = mapped_column(ForeignKey("expert_committees.id"))
    method: Mapped[str] = mapped_column(String(30))
    criteria: Mapped[list[Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    bidders: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    opened_at: Mapped[datetime]
    opened_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(100))


class EvaluationScore(Base):
    """One expert's mark for one bidder on one criterion (a pass/fail review is criterion "review", 1 or 0)."""

    __tablename__ = "evaluation_scores"
    __table_args__ = (UniqueConstraint("evaluation_id", "expert_id", "bidder_uscc", "criterion"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    bidder_uscc: Mapped[str] = mapped_column(String(18))
    criterion: Mapped[str] = mapped_column(String(40))
    score: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    submitted_at: Mapped[datetime]


__all__ = [
    "CommitteeMember",
    "Evaluation",
    "EvaluationScore",
    "Expert",
    "ExpertCommittee",
    "ExpertDraw",
    "ExpertPoolVersion",
    "ExpertRecusal",
    "ExpertSpecialty",
    "ExpertUnavailability",
]
