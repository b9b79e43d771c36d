"""Tables of the federation; internal to it."""

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class Peer(Base):
    """Another installation this one exchanges messages with, and the public key pinned for it (对接节点)."""

    __tablename__ = "federation_peer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))  # upper | lower | sibling
    platform: Mapped[str] = mapped_column(String(16))  # sharing | security | cloud | projects (indicators 17–20)
    required_kinds: Mapped[list] = mapped_column(JSON, default=list)
    algorithm: Mapped[str] = mapped_column(String(16))  # Ed25519 | SM2
    public_key: Mapped[str] = mapped_column(String(200))  # base64 raw public key
    key_id: Mapped[str] = mapped_column(String(80), unique=True)  # the peer's fingerprint, as it names itself
    own_key_version: Mapped[int] = mapped_column(Integer)  # the version of our federation key the peer pinned
    department_id: Mapped[int] = mapped_column(Integer)  # the local department that stands for the peer
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | removed
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")


class OutgoingMessage(Base):
    """A message to a peer, written in the transaction that caused it and delivered by the worker (发件箱)."""

    __tablename__ = "federation_outbox"
    __table_args__ = (Index("ix_federation_outbox_due", "status", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("federation_peer.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    body: Mapped[str] = mapped_column(Text)  # the envelope exactly as sent (JSON)
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())  # not tried before this (back-off or lease)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IncomingMessage(Base):
    """A message accepted from a peer; its id is recorded in the applying transaction (收件记录)."""

    __tablename__ = "federation_inbox"
    __table_args__ = (UniqueConstraint("peer_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("federation_peer.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    summary: Mapped[str] = mapped_column(String(300), default="")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RemoteEntry(Base):
    """A catalog entry a peer published (上级目录 from the upper level), as its DCAT description."""

    __tablename__ = "federation_remote_entry"
    __table_args__ = (UniqueConstraint("peer_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("federation_peer.id"), index=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    department_name: Mapped[str] = mapped_column(String(100), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    sharing_type: Mapped[str] = mapped_column(String(20), default="")
    items: Mapped[list] = mapped_column(JSON, default=list)  # [{"name", "label"}]
    dcat: Mapped[dict] = mapped_column(JSON, default=dict)
    search_text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # published | retired
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CatalogSync(Base):
    """What version of each local entry has been queued to each peer, and when the peer acknowledged it."""

    __tablename__ = "federation_catalog_sync"
    __table_args__ = (UniqueConstraint("peer_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("federation_peer.id"), index=True)
    code: Mapped[str] = mapped_column(String(30))
    digest: Mapped[str] = mapped_column(String(128))  # of what was sent; "" once retired
    change: Mapped[str] = mapped_column(String(16))  # new | changed | retired
    message_id: Mapped[str] = mapped_column(String(40))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CrossApplication(Base):
    """A cross-level data application (跨级申请): sent by a local department, or received from a peer."""

    __tablename__ = "federation_application"
    __table_args__ = (UniqueConstraint("peer_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))  # the applying side's id, the same on both sides
    direction: Mapped[str] = mapped_column(String(8), index=True)  # outgoing | incoming
    peer_id: Mapped[int] = mapped_column(ForeignKey("federation_peer.id"), index=True)
    entry_code: Mapped[str] = mapped_column(String(30))
    entry_name: Mapped[str] = mapped_column(String(120), default="")
    fields: Mapped[list] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    period_end: Mapped[date] = mapped_column(Date)
    department_id: Mapped[int] = mapped_column(Integer, index=True)  # outgoing: applicant; incoming: peer's stand-in
    applicant_name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), index=True)  # submitted granted refused returned
    exchange_application_id: Mapped[int | None] = mapped_column(Integer)  # incoming: the local exchange application
    grant_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(500), default="")
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rows_total: Mapped[int] = mapped_column(Integer, default=0)


class ReturnedPage(Base):
    """One page of granted rows that came back for an outgoing application."""

    __tablename__ = "federation_returned_page"
    __table_args__ = (UniqueConstraint("application_id", "page"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("federation_application.id"), index=True)
    page: Mapped[int] = mapped_column(Integer)
    fields: Mapped[list] = mapped_column(JSON)
    rows: Mapped[str] = mapped_column(Text)  # JSON array of row objects
    row_count: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Objection(Base):
    """A problem the upper level reports back about a synchronised entry (数据异议), and its answer."""

    __tablename__ = "federation_objection"
    __table_args__ = (UniqueConstraint("peer_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(8), index=True)  # outgoing (we raised it) | incoming
    peer_id: Mapped[int] = mapped_column(ForeignKey("federation_peer.id"), index=True)
    entry_code: Mapped[str] = mapped_column(String(30), index=True)
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)  # incoming: the entry's department
    description: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | answered
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
