"""Tables: the engine's state, the platform's projections of it, and the audit chain."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend (SQLite keeps no offsets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: the platform stores aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime()}


class User(Base):
    """A person or system with a bearer token."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[list[Any]] = mapped_column(JSON)
    region: Mapped[str | None] = mapped_column(String(12))
    org: Mapped[str | None] = mapped_column(String(18))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # Salted scrypt (domain/passwords.py) for web login; NULL: the user signs in with the token only.
    password_hash: Mapped[str | None] = mapped_column(String(200))


class ProcessDefinition(Base):
    """One deployed version of a BPMN process; versions are immutable."""

    __tablename__ = "process_definitions"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        UniqueConstraint("key", "checksum"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    spec_json: Mapped[str] = mapped_column(Text)
    elements: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(100))


class Form(Base):
    """One deployed version of a JSON Schema form."""

    __tablename__ = "forms"
    __table_args__ = (UniqueConstraint("key", "version"), UniqueConstraint("key", "checksum"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployed_at: Mapped[datetime]


class ProcessInstance(Base):
    """A running trade: its engine state (pruned to the live frontier) and its variables."""

    __tablename__ = "process_instances"
    __table_args__ = (UniqueConstraint("process_key", "business_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    process_key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(12), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    variables: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    # The audit chain's head, so that cutting events off the end of the chain is detected too.
    event_seq: Mapped[int | None] = mapped_column(Integer)
    event_head: Mapped[str | None] = mapped_column(String(64))
    # How many transactions changed the row (services.steps counts them). Every change is made under the
    # row's lock (steps.lock_instance, lock_many), which is what keeps concurrent steps apart.
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class Task(Base):
    """A user task in a queue: the platform's projection of the engine's ready tasks."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_queue", "status", "role", "region"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(100))
    element_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(30))
    form_key: Mapped[str | None] = mapped_column(String(100))
    rule: Mapped[str | None] = mapped_column(String(60))
    region: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))


class Timer(Base):
    """A pending timer event: the source of truth the timer workers scan."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    boundary: Mapped[bool] = mapped_column(Boolean, default=False)
    rule: Mapped[str | None] = mapped_column(String(60))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))
    fired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Event(Base):
    """One link of an instance's audit hash chain."""

    __tablename__ = "events"
    # The unique (instance_id, seq) index also serves every look-up by instance: no second index to maintain.
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(100))
    client_ip: Mapped[str | None] = mapped_column(String(45))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CalendarYear(Base):
    """A year's holiday schedule: weekday holidays and make-up working weekend days."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    holidays: Mapped[list[Any]] = mapped_column(JSON)
    workdays: Mapped[list[Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime]


class Setting(Base):
    """Small platform-wide values, such as the fake clock's offset."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


__all__ = [
    "Base", "User", "ProcessDefinition", "Form", "ProcessInstance", "Task", "Timer", "Event",
    "CalendarYear", "Setting",
]


def _load_model_modules() -> None:
    # Each trading service keeps its tables in persistence/models_<name>.py; importing them here puts every
    # table in Base.metadata for Alembic, the tests and the services alike.
    import importlib
    import pkgutil

    import persistence

    for info in pkgutil.iter_modules(persistence.__path__):
        if info.name.startswith("models_"):
            importlib.import_module(f"persistence.{info.name}")


_load_model_modules()
