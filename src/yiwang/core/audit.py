"""The audit chain (审计): an append-only, hash-chained log whose head is signed.

Each entry's hash covers its own fields and the previous entry's hash, so editing, deleting or
reordering any stored entry breaks the chain from that entry on. Appenders serialise on the single
chain-head row (SELECT … FOR UPDATE on PostgreSQL; SQLite transactions are IMMEDIATE already).

The hash is the profile's: SHA-256 (intl) or SM3 (gm). The head row names the algorithm the next
entry is hashed with; a profile switch appends a `crypto.profile_changed` entry (hashed with the old
algorithm) and changes the head's algorithm in the same transaction, so the verifier checks the
entries before it with the old hash and those after with the new. Heads are signed with the current
`audit` key of the keyring (Ed25519 or SM2); each signature names its key version, and every older
version stays to verify the heads it signed.
"""

import base64
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from yiwang.core.crypto import AUDIT, SHA_256, Keyring, suite, suite_for_hash
from yiwang.core.crypto.keys import recorded_profile
from yiwang.core.db import Base, UTCDateTime
from yiwang.core.security import Principal
from yiwang.core.timeutil import SHANGHAI, utcnow

GENESIS_HASH = "0" * 64
PROFILE_CHANGED = "crypto.profile_changed"  # the entry after which the chain's hash is the new profile's


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str] = mapped_column(String(100), index=True)
    actor_kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(80), index=True)
    target_type: Mapped[str | None] = mapped_column(String(60), index=True)
    target_id: Mapped[str | None] = mapped_column(String(100), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """One row: the last sequence number and hash, the lock appenders serialise on."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))
    hash_algorithm: Mapped[str] = mapped_column(String(16), default=SHA_256, server_default=SHA_256)


class AuditSignature(Base):
    """A signed chain head: anyone with the public key can check the chain up to seq."""

    __tablename__ = "audit_signature"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    public_key: Mapped[str] = mapped_column(String(128))  # base64 raw public key
    signature: Mapped[str] = mapped_column(String(128))
    algorithm: Mapped[str] = mapped_column(String(16), default="Ed25519", server_default="Ed25519")
    key_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


OUTCOME_SUCCESS = "success"
OUTCOME_FAILURE = "failure"
OUTCOME_DENIED = "denied"


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(entry: "AuditEntry | AppendedEntry", hash_name: str = SHA_256) -> str:
    """The hash (SHA-256 or SM3) over the previous hash and every recorded field, in a fixed canonical form."""
    fields = [
        entry.seq,
        _timestamp(entry.occurred_at),
        entry.actor_id,
        entry.actor_name,
        entry.actor_kind,
        entry.action,
        entry.target_type,
        entry.target_id,
        entry.ip,
        entry.outcome,
        entry.details,
    ]
    return suite_for_hash(hash_name).hexdigest((entry.prev_hash + canonical_json(fields)).encode())


@dataclass(frozen=True)
class AppendedEntry:
    """An entry as appended (the fields its hash covers, and the hash)."""

    seq: int
    occurred_at: datetime
    actor_id: int | None
    actor_name: str
    actor_kind: str
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    outcome: str
    details: str
    prev_hash: str
    entry_hash: str = ""


_CHAIN_HEAD = select(AuditChainHead.last_seq, AuditChainHead.last_hash, AuditChainHead.hash_algorithm).where(
    AuditChainHead.id == 1
)
_LOCK_CHAIN_HEAD = _CHAIN_HEAD.with_for_update()
_APPEND = insert(AuditEntry.__table__)
_MOVE_HEAD = update(AuditChainHead.__table__).where(AuditChainHead.__table__.c.id == 1)


def record(
    db: Session,
    *,
    actor: Principal,
    action: str,
    target_type: str | None = None,
    target_id: object | None = None,
    outcome: str = OUTCOME_SUCCESS,
    details: dict[str, Any] | None = None,
) -> AppendedEntry:
    """Append an entry in the caller's transaction, so it commits or rolls back with the change.

    Written with Core statements on the session's connection: the chain head is never an ORM object,
    so no session holds a stale copy of it, and an append costs three plain statements."""
    db.flush()  # the rows an entry describes are written before it
    connection = db.connection()
    last_seq, last_hash, hash_name = connection.execute(_LOCK_CHAIN_HEAD).one()
    entry = AppendedEntry(
        seq=last_seq + 1,
        occurred_at=utcnow(),
        actor_id=actor.user_id,
        actor_name=actor.username,
        actor_kind=actor.kind,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip=actor.ip,
        outcome=outcome,
        details=canonical_json(details or {}),
        prev_hash=last_hash,
    )
    entry = replace(entry, entry_hash=compute_hash(entry, hash_name))
    connection.execute(_APPEND, [asdict(entry)])
    head = {"last_seq": entry.seq, "last_hash": entry.entry_hash}
    if action == PROFILE_CHANGED:  # every later entry is hashed with the new profile's algorithm
        head["hash_algorithm"] = suite(str((details or {})["to"])).hash_name
    connection.execute(_MOVE_HEAD, head)
    return entry


def head_algorithm(db: Session) -> str:
    """The hash the next entry will be made with."""
    row = db.execute(_CHAIN_HEAD).one_or_none()
    return SHA_256 if row is None else str(row.hash_algorithm)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries_checked: int
    signatures_checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


def _iter_entries(db: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = (
            db.execute(select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch))
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        db.expunge_all()


def _initial_hash(db: Session) -> str:
    recorded = recorded_profile(db)
    return SHA_256 if recorded is None else suite(recorded[1]).hash_name


def _signature_problem(keyring: Keyring, sig: AuditSignature) -> str | None:
    try:
        key = keyring.get(AUDIT, sig.key_version)
    except KeyError:
        return f"第{sig.seq}条的链头签名所用密钥 {AUDIT}/v{sig.key_version} 不存在"
    if key.algorithm != sig.algorithm or key.public_b64() != sig.public_key:
        return f"第{sig.seq}条的链头签名所用公钥与密钥环不符"
    message = f"{sig.seq}:{sig.entry_hash}:{_timestamp(sig.signed_at)}".encode()
    assert key.verifier is not None
    if not key.verifier.verify(base64.b64decode(sig.signature), message):
        return f"第{sig.seq}条的链头签名无效"
    return None


def verify(db: Session, keyring: Keyring) -> VerifyResult:
    """Check every link and every signed head; name the first entry where the chain breaks."""
    signatures = {s.seq: s for s in db.execute(select(AuditSignature)).scalars()}
    for sig in signatures.values():
        problem = _signature_problem(keyring, sig)
        if problem:
            return VerifyResult(False, 0, 0, sig.seq, problem)
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    hash_name = _initial_hash(db)
    for entry in _iter_entries(db):
        if entry.seq != expected_seq:
            return VerifyResult(False, checked, len(signatures), expected_seq, f"缺少第{expected_seq}条（记录被删除）")
        if entry.prev_hash != expected_prev:
            return VerifyResult(False, checked, len(signatures), entry.seq, "前序哈希与上一条不一致")
        if compute_hash(entry, hash_name) != entry.entry_hash:
            return VerifyResult(False, checked, len(signatures), entry.seq, "记录内容与其哈希不一致（被篡改）")
        signed = signatures.get(entry.seq)
        if signed is not None and signed.entry_hash != entry.entry_hash:
            return VerifyResult(False, checked, len(signatures), entry.seq, "与已签名的链头不一致")
        if entry.action == PROFILE_CHANGED and entry.outcome == OUTCOME_SUCCESS:
            hash_name = suite(str(json.loads(entry.details)["to"])).hash_name
        expected_prev, expected_seq, checked = entry.entry_hash, expected_seq + 1, checked + 1
    beyond = [seq for seq in signatures if seq >= expected_seq]
    if beyond:
        return VerifyResult(
            False, checked, len(signatures), expected_seq, f"已签名的第{min(beyond)}条不存在（日志被截断）"
        )
    head = db.execute(_CHAIN_HEAD).one_or_none()
    if head is not None and (
        head.last_seq != expected_seq - 1 or head.last_hash != expected_prev or head.hash_algorithm != hash_name
    ):
        return VerifyResult(False, checked, len(signatures), expected_seq, "链头与最后一条记录不一致")
    return VerifyResult(True, checked, len(signatures))


def sign_head(db: Session, keyring: Keyring) -> AuditSignature | None:
    """Sign the current chain head with the current audit key unless it is already signed; safe to run
    on several nodes."""
    head = db.execute(_LOCK_CHAIN_HEAD).one()
    if head.last_seq == 0:
        return None
    existing = db.execute(select(AuditSignature).where(AuditSignature.seq == head.last_seq)).scalar_one_or_none()
    if existing is not None:
        return None
    signed_at = utcnow()
    message = f"{head.last_seq}:{head.last_hash}:{_timestamp(signed_at)}".encode()
    key = keyring.current(AUDIT)
    signature = AuditSignature(
        seq=head.last_seq,
        entry_hash=head.last_hash,
        signed_at=signed_at,
        public_key=key.public_b64(),
        signature=base64.b64encode(key.signer().sign(message)).decode(),
        algorithm=key.algorithm,
        key_version=key.version,
    )
    db.add(signature)
    db.flush()
    return signature


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _as_aware(value: datetime | None) -> datetime | None:
    """Times typed by people without a zone are Shanghai local time."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=SHANGHAI)


def search(db: Session, *, query: AuditQuery, offset: int = 0, limit: int = 50) -> tuple[list[AuditEntry], int]:
    """Entries matching the query, newest first, with the total count."""
    stmt = select(AuditEntry)
    since, until = _as_aware(query.since), _as_aware(query.until)
    if query.actor:
        stmt = stmt.where(AuditEntry.actor_name == query.actor)
    if query.action:
        stmt = stmt.where(AuditEntry.action.startswith(query.action))
    if query.target_type:
        stmt = stmt.where(AuditEntry.target_type == query.target_type)
    if query.target_id:
        stmt = stmt.where(AuditEntry.target_id == query.target_id)
    if query.outcome:
        stmt = stmt.where(AuditEntry.outcome == query.outcome)
    if since:
        stmt = stmt.where(AuditEntry.occurred_at >= since)
    if until:
        stmt = stmt.where(AuditEntry.occurred_at < until)
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(stmt.order_by(AuditEntry.seq.desc()).offset(offset).limit(limit)).scalars().all()
    return list(rows), total
