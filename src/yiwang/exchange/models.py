"""Tables of the exchange; internal to it."""

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class ShareApplication(Base):
    """A department's application for fields of a catalog entry (共享申请)."""

    __tablename__ = "exch_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    entry_code: Mapped[str] = mapped_column(String(30), index=True)
    provider_department_id: Mapped[int] = mapped_column(Integer, index=True)
    consumer_department_id: Mapped[int] = mapped_column(Integer, index=True)
    applicant_name: Mapped[str] = mapped_column(String(100))
    fields: Mapped[list] = mapped_column(JSON)
    row_filter: Mapped[dict] = mapped_column(JSON, default=dict)
    purpose: Mapped[str] = mapped_column(Text)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending_provider pending_bureau granted refused
    provider_due: Mapped[date | None] = mapped_column(Date)
    provider_by: Mapped[str | None] = mapped_column(String(100))
    provider_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_opinion: Mapped[str] = mapped_column(String(500), default="")
    bureau_by: Mapped[str | None] = mapped_column(String(100))
    bureau_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bureau_opinion: Mapped[str] = mapped_column(String(500), default="")
    refusal_reason: Mapped[str] = mapped_column(String(500), default="")
    grant_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ShareGrant(Base):
    """What a consumer may read: fields, row filter, masking per field, until when (共享授权)."""

    __tablename__ = "exch_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("exch_application.id"), index=True)
    entry_code: Mapped[str] = mapped_column(String(30), index=True)
    provider_department_id: Mapped[int] = mapped_column(Integer, index=True)
    consumer_department_id: Mapped[int] = mapped_column(Integer, index=True)
    fields: Mapped[list] = mapped_column(JSON)
    row_filter: Mapped[dict] = mapped_column(JSON, default=dict)
    masking: Mapped[dict] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DataCall(Base):
    """One call of the data API: who, under which grant, what was asked, what was returned."""

    __tablename__ = "exch_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(Integer, index=True)
    caller_id: Mapped[int | None] = mapped_column(Integer)
    caller_name: Mapped[str] = mapped_column(String(100))
    request_id: Mapped[str] = mapped_column(String(64))
    query: Mapped[str] = mapped_column(String(500))
    rows: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column(Float)
    body_digest: Mapped[str] = mapped_column(String(64), default="")  # with body_digest_algorithm
    body_digest_algorithm: Mapped[str] = mapped_column(String(16), default="SHA-256", server_default="SHA-256")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
