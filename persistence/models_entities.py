"""Tables of market entities: organisations by 统一社会信用代码, contacts, qualifications, credit listings."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base


class Organisation(Base):
    """A legal person or other organisation, registered once for the whole platform."""

    __tablename__ = "organisations"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    type: Mapped[str | None] = mapped_column(String(60))
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    # The registering authority's division, read from the code: informational, never a visibility limit.
    region: Mapped[str] = mapped_column(String(6))
    roles: Mapped[list[Any]] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OrganisationContact(Base):
    """A person to reach at an organisation (投标联系人, 财务联系人 …)."""

    __tablename__ = "organisation_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("organisations.uscc"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(60))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]


class OrganisationQualification(Base):
    """A qualification certificate (资质) with its grade and validity, both days inclusive."""

    __tablename__ = "organisation_qualifications"
    __table_args__ = (UniqueConstraint("uscc", "type", "certificate_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("organisations.uscc"), index=True)
    type: Mapped[str] = mapped_column(String(100))
    grade: Mapped[str | None] = mapped_column(String(40))
    certificate_no: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CreditListing(Base):
    """An entry on a credit black or red list, as published by its source; revoked, never deleted."""

    __tablename__ = "credit_listings"
    __table_args__ = (Index("ix_credit_listings_uscc_list", "uscc", "list"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key: a source may list an organisation that has not (yet) registered on the platform.
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str | None] = mapped_column(String(200))
    list_: Mapped[str] = mapped_column("list", String(10))
    source: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    document_no: Mapped[str | None] = mapped_column(String(100))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
