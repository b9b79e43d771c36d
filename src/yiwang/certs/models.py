"""Tables of the certs domain (internal; other domains go through certs.service)."""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime

BigInt = BigInteger().with_variant(Integer, "sqlite")


class CertificateType(Base):
    """证照类型: a kind of certificate, coded by its issuing ministry (GB/T 36904 type code)."""

    __tablename__ = "certs_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(21), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    ministry: Mapped[str] = mapped_column(String(60))
    holder_kind: Mapped[str] = mapped_column(String(20), default="citizen")  # citizen | enterprise | any
    validity_years: Mapped[int | None] = mapped_column(Integer)
    high_frequency: Mapped[bool] = mapped_column(Boolean, default=False)
    # The one department whose key may sign this type; None means nobody may issue it yet.
    issuer_department_code: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IssuerKey(Base):
    """A version of a department's seal key (Ed25519 or SM2); the private half lives in a key file,
    never in the table. One version per department is active; retired ones stay for verification."""

    __tablename__ = "certs_issuer_key"
    __table_args__ = (Index("ux_certs_issuer_key_department_version", "department_code", "version", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer, index=True)
    department_code: Mapped[str] = mapped_column(String(20), index=True)
    issuer_code: Mapped[str] = mapped_column(String(18))  # the department's credit code
    name: Mapped[str] = mapped_column(String(100), unique=True)
    version: Mapped[int] = mapped_column(Integer, server_default="1")  # 1, 2, … per department
    algorithm: Mapped[str] = mapped_column(String(10), server_default="Ed25519")  # Ed25519 | SM2
    public_key: Mapped[str] = mapped_column(String(120))  # base64: Ed25519's 32 bytes, SM2's 65-byte point
    key_file: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())  # not before: its first signature
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # not after: no signature since


class Certificate(Base):
    """An issued e-certificate: its canonical content, the issuer's signature and its log entries."""

    __tablename__ = "certs_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(120), unique=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("certs_type.id"), index=True)
    serial: Mapped[str] = mapped_column(String(40))
    holder_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    holder_name: Mapped[str] = mapped_column(String(100))
    holder_code_masked: Mapped[str | None] = mapped_column(String(40))
    issuer_key_id: Mapped[int] = mapped_column(ForeignKey("certs_issuer_key.id"), index=True)
    content: Mapped[str] = mapped_column(Text)  # canonical JSON that was signed
    signature: Mapped[str] = mapped_column(String(100))  # base64: Ed25519 (64 bytes) or SM2 DER (≤ 72)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="valid", index=True)  # valid | revoked
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str | None] = mapped_column(String(200))
    log_id: Mapped[int] = mapped_column(Integer, server_default="1")  # the log holding the issue entry
    log_index: Mapped[int] = mapped_column(BigInt)
    revocation_log_id: Mapped[int | None] = mapped_column(Integer)
    revocation_log_index: Mapped[int | None] = mapped_column(BigInt)
    source: Mapped[str | None] = mapped_column(String(60))  # e.g. the application number


class CertificateUse(Base):
    """Each use of a certificate by a service, visible to its holder (用证记录)."""

    __tablename__ = "certs_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certs_certificate.id"), index=True)
    holder_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    used_by: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(60), index=True)
    consent_reference: Mapped[str | None] = mapped_column(String(60))
    actor_name: Mapped[str] = mapped_column(String(100))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SerialCounter(Base):
    """Per type and year serial numbers, raised by one upsert (core.db.next_counter_value)."""

    __tablename__ = "certs_serial"
    __table_args__ = (UniqueConstraint("type_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("certs_type.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    last: Mapped[int] = mapped_column(Integer, default=0)


class LogLeaf(Base):
    """One transparency-log entry: the leaf input exactly as hashed. Append-only."""

    __tablename__ = "certs_log_leaf"

    log_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=False)
    leaf_input: Mapped[bytes] = mapped_column(LargeBinary)
    appended_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LogNode(Base):
    """A complete subtree hash; key = level·2^40 + index (level 0 are the leaf hashes)."""

    __tablename__ = "certs_log_node"

    log_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogHead(Base):
    """One row per transparency log: its identity, algorithms, state and current head; appenders
    serialise on it. One log is active; a frozen log keeps its final checkpoint and names its successor."""

    __tablename__ = "certs_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the log's number, 1 for the first
    tree_size: Mapped[int] = mapped_column(BigInt)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    origin: Mapped[str | None] = mapped_column(String(200), unique=True)  # None until first used
    hash_name: Mapped[str] = mapped_column(String(10), server_default="SHA-256")  # SHA-256 | SM3
    signature_algorithm: Mapped[str] = mapped_column(String(10), server_default="Ed25519")  # Ed25519 | SM2
    key_file: Mapped[str] = mapped_column(String(200), server_default="transparency_log_ed25519.pem")
    state: Mapped[str] = mapped_column(String(10), server_default="active")  # active | frozen
    predecessor_id: Mapped[int | None] = mapped_column(Integer)
    successor_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LogCheckpoint(Base):
    """A signed tree head as a C2SP tlog-checkpoint signed note."""

    __tablename__ = "certs_log_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(Integer, server_default="1", index=True)
    tree_size: Mapped[int] = mapped_column(BigInt, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
