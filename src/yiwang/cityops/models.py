"""Tables of 一网统管: categories, division dispatch rules, events, their transitions and assists."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yiwang.core.db import Base, UTCDateTime


class Category(Base):
    __tablename__ = "cityops_category"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    group: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    department_code: Mapped[str] = mapped_column(String(40))
    sla_hours: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(20))


class DispatchRule(Base):
    """A division-level override: in this division, this category goes to that department."""

    __tablename__ = "cityops_dispatch_rule"
    __table_args__ = (UniqueConstraint("division_code", "category_code", name="uq_cityops_dispatch_rule_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    division_code: Mapped[str] = mapped_column(String(20))
    category_code: Mapped[str] = mapped_column(String(10))
    department_code: Mapped[str] = mapped_column(String(40))
    sla_hours: Mapped[int | None] = mapped_column(Integer)


class Event(Base):
    __tablename__ = "cityops_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    category_code: Mapped[str | None] = mapped_column(String(10), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), index=True)  # citizen | open311 | hotline | grid | sensor
    status: Mapped[str] = mapped_column(String(20), index=True)
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)  # lead department
    division_code: Mapped[str | None] = mapped_column(String(20), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(20), index=True)  # the grid cell (网格) it falls in
    lon: Mapped[float | None] = mapped_column(Float, index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300), default="")
    photos: Mapped[list[Any] | None] = mapped_column(JSON)
    reporter_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reporter_name: Mapped[str | None] = mapped_column(Text)  # encrypted
    reporter_phone: Mapped[str | None] = mapped_column(Text)  # encrypted
    suggested_category: Mapped[str | None] = mapped_column(String(10))
    suggestion_score: Mapped[float | None] = mapped_column(Float)
    needs_dispatcher: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    extension_requested_hours: Mapped[int | None] = mapped_column(Integer)
    extension_reason: Mapped[str | None] = mapped_column(String(500))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    result: Mapped[str | None] = mapped_column(Text)
    warned: Mapped[bool] = mapped_column(Boolean, default=False)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    sent_back_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    alarm_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    open311_token: Mapped[str | None] = mapped_column(String(40), unique=True)


class EventAssist(Base):
    """Joint handling: departments assisting the lead department."""

    __tablename__ = "cityops_event_assist"
    event_id: Mapped[int] = mapped_column(ForeignKey("cityops_event.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note: Mapped[str | None] = mapped_column(String(500))
    done: Mapped[bool] = mapped_column(Boolean, default=False)


class Transition(Base):
    """Every step of an event's life: who, when, from which status to which, and why."""

    __tablename__ = "cityops_transition"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("cityops_event.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(1000))
    # Lets a new event and its first steps be written in one flush (the key is set on insert).
    event: Mapped["Event"] = relationship()


class Sequence(Base):
    """Per-day counters for event numbers SJ-YYYYMMDD-NNNNNN."""

    __tablename__ = "cityops_sequence"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
