"""Tables of the exchange; internal to it."""

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, ForeignKey, Integer, LargeBinary, String, Text
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
    # What is applied for: "data" (fields of the catalog entry entry_code) or "service" (operations of the
    # live service whose code is in entry_code), with the service's rate and daily quota asked for.
    kind: Mapped[str] = mapped_column(String(10), default="data", server_default="data", index=True)
    operations: Mapped[list | None] = mapped_column(JSON)
    rate_per_second: Mapped[int | None] = mapped_column(Integer)
    daily_quota: Mapped[int | None] = mapped_column(Integer)


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
    kind: Mapped[str] = mapped_column(String(10), default="data", server_default="data", index=True)
    operations: Mapped[list | None] = mapped_column(JSON)  # service grants: the operation ids allowed
    rate_per_second: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    daily_quota: Mapped[int | None] = mapped_column(Integer)  # calls per day (Asia/Shanghai); None: no limit


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


_SEQ = BigInteger().with_variant(Integer, "sqlite")


class LiveService(Base):
    """An HTTP service a provider department runs, reachable through the platform (服务共享)."""

    __tablename__ = "exch_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    provider_department_id: Mapped[int] = mapped_column(Integer, index=True)
    base_url: Mapped[str] = mapped_column(String(500))
    operations: Mapped[list] = mapped_column(JSON)  # [{"id", "method", "path"}]
    openapi_source: Mapped[str] = mapped_column(String(500), default="")  # where the operations came from
    keep_bodies: Mapped[bool] = mapped_column(Boolean, default=False)
    connect_timeout_s: Mapped[float] = mapped_column(Float)
    read_timeout_s: Mapped[float] = mapped_column(Float)
    breaker_failures: Mapped[int] = mapped_column(Integer)
    breaker_reset_s: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ServiceCounter(Base):
    """Calls of a service grant in one window ("s<epoch second>" for the rate, "d<yyyymmdd>" for the
    quota): one upsert per call, so every process of the platform counts against the same figure."""

    __tablename__ = "exch_service_counter"

    grant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window: Mapped[str] = mapped_column(String(16), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)


class MessageRecord(Base):
    """One mediated call in the message log (消息日志): a link of a hash chain, like the audit log."""

    __tablename__ = "exch_message"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)
    call_id: Mapped[str] = mapped_column(String(40), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    duration_ms: Mapped[float] = mapped_column(Float)
    service_code: Mapped[str] = mapped_column(String(40), index=True)
    operation_id: Mapped[str] = mapped_column(String(200), default="")
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(1000))
    query: Mapped[str] = mapped_column(String(1000), default="")
    provider_department_id: Mapped[int] = mapped_column(Integer, index=True)
    consumer_department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    caller_id: Mapped[int | None] = mapped_column(Integer)
    caller_name: Mapped[str] = mapped_column(String(100))
    grant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    outcome: Mapped[str] = mapped_column(String(20))  # answered | refused | failed
    status_code: Mapped[int] = mapped_column(Integer)
    error_code: Mapped[str] = mapped_column(String(40), default="")
    request_digest: Mapped[str] = mapped_column(String(200), default="")  # Content-Digest (RFC 9530)
    response_digest: Mapped[str] = mapped_column(String(200), default="")
    request_bytes: Mapped[int] = mapped_column(_SEQ, default=0)
    response_bytes: Mapped[int] = mapped_column(_SEQ, default=0)
    key_id: Mapped[str] = mapped_column(String(80), default="")
    request_signature_input: Mapped[str] = mapped_column(Text, default="")
    request_signature: Mapped[str] = mapped_column(Text, default="")
    request_signature_base: Mapped[str] = mapped_column(Text, default="")
    response_signature_input: Mapped[str] = mapped_column(Text, default="")
    response_signature: Mapped[str] = mapped_column(Text, default="")
    response_signature_base: Mapped[str] = mapped_column(Text, default="")
    bodies_kept: Mapped[bool] = mapped_column(Boolean, default=False)
    hash_algorithm: Mapped[str] = mapped_column(String(16))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class MessageBody(Base):
    """The bodies of a call, kept only when its service says so; the chained record holds their digests."""

    __tablename__ = "exch_message_body"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)
    request_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)


class DirectoryVersion(Base):
    """One counter that database triggers raise whenever a service or a grant changes; processes key
    their copy of the services and grants that admit mediated calls on it."""

    __tablename__ = "exch_directory_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class MessageHead(Base):
    """One row: the message log's last sequence number and hash, the lock appenders serialise on."""

    __tablename__ = "exch_message_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(_SEQ)
    last_hash: Mapped[str] = mapped_column(String(64))


class MessageCheckpoint(Base):
    """A signed head of the message log: evidence of a call proves its link up to one of these."""

    __tablename__ = "exch_message_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(_SEQ, unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(80))
    algorithm: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(Text)
