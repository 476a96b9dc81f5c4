"""Web sessions: bearer tokens issued by password login, beside each user's long-lived API token."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base


class WebSession(Base):
    """One signed-in browser: the SHA-256 of its token, whose it is, and when it expires."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user_id", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", name="fk_web_sessions_user_id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    client_ip: Mapped[str | None] = mapped_column(String(64))
