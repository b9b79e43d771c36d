"""The message log (消息日志) of mediated calls: who called which operation when, the digests of both
bodies, the status and both RFC 9421 signatures — in a hash chain (`core.hashchain`) whose heads are
signed with the platform's message key every CHECKPOINT_EVERY entries, by the `exchange.sign_messages`
job and whenever evidence needs one. Bodies are kept beside the chain only when the service says so.

Appenders serialise on the single head row (SELECT … FOR UPDATE on PostgreSQL; SQLite transactions
are IMMEDIATE already), as the audit chain's do. The mediation appends through `log_writer`, which
gathers the calls that finish together into one transaction (group commit).
"""

import base64
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from yiwang.core.db import dialect_insert
from yiwang.core.hashchain import GENESIS_HASH, ChainWalk, Link, content_hash, link_hash, walk
from yiwang.core.httpsig import verify_stored
from yiwang.core.timeutil import utcnow
from yiwang.exchange.message_keys import MessageKeys
from yiwang.exchange.models import MessageBody, MessageCheckpoint, MessageHead, MessageRecord
from yiwang.exchange.schemas import MessageChainCheck

CHECKPOINT_EVERY = 1000


@dataclass(frozen=True)
class CallRecord:
    """What the log keeps of one call (everything its hash covers but the sequence number)."""

    call_id: str
    received_at: datetime
    duration_ms: float
    service_code: str
    operation_id: str
    method: str
    path: str
    query: str
    provider_department_id: int
    consumer_department_id: int | None
    caller_id: int | None
    caller_name: str
    grant_id: int | None
    outcome: str  # answered | refused | failed
    status_code: int
    error_code: str = ""
    request_digest: str = ""
    response_digest: str = ""
    request_bytes: int = 0
    response_bytes: int = 0
    key_id: str = ""
    request_signature_input: str = ""
    request_signature: str = ""
    request_signature_base: str = ""
    response_signature_input: str = ""
    response_signature: str = ""
    response_signature_base: str = ""
    bodies_kept: bool = False


def timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_fields(seq: int, record: "CallRecord | MessageRecord") -> list[object]:
    """The fields a link's content hash covers, in their fixed order."""
    return [
        seq,
        record.call_id,
        timestamp(record.received_at),
        round(record.duration_ms, 2),
        record.service_code,
        record.operation_id,
        record.method,
        record.path,
        record.query,
        record.provider_department_id,
        record.consumer_department_id,
        record.caller_id,
        record.caller_name,
        record.grant_id,
        record.outcome,
        record.status_code,
        record.error_code,
        record.request_digest,
        record.response_digest,
        record.request_bytes,
        record.response_bytes,
        record.key_id,
        record.request_signature_input,
        record.request_signature,
        record.request_signature_base,
        record.response_signature_input,
        record.response_signature,
        record.response_signature_base,
        record.bodies_kept,
    ]


_HEAD = MessageHead.__table__
_LOCK_HEAD = select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1).with_for_update()


def _locked_head(db: Session) -> tuple[int, str]:
    connection = db.connection()
    head = connection.execute(_LOCK_HEAD).one_or_none()
    if head is None:  # the first append ever: make the head row, whoever gets there first
        connection.execute(
            dialect_insert(db)(_HEAD).values(id=1, last_seq=0, last_hash=GENESIS_HASH).on_conflict_do_nothing()
        )
        head = connection.execute(_LOCK_HEAD).one()
    return int(head.last_seq), str(head.last_hash)


@dataclass(frozen=True)
class Entry:
    """A call to append, with its bodies when the service keeps them."""

    record: CallRecord
    request_body: bytes | None = None
    response_body: bytes | None = None


def append_many(db: Session, *, entries: list[Entry], hash_name: str, keys: MessageKeys) -> list[int]:
    """Append calls in order in the caller's transaction, under one head lock; their sequence numbers.
    A head whose number passes a multiple of CHECKPOINT_EVERY is signed."""
    if not entries:
        return []
    connection = db.connection()
    last_seq, last_hash = _locked_head(db)
    first_seq, rows, bodies = last_seq + 1, [], []
    for offset, entry in enumerate(entries):
        seq = first_seq + offset
        rounded = CallRecord(**(asdict(entry.record) | {"duration_ms": round(entry.record.duration_ms, 2)}))
        entry_hash = link_hash(last_hash, content_hash(record_fields(seq, rounded), hash_name), hash_name)
        rows.append(
            asdict(rounded)
            | {"seq": seq, "hash_algorithm": hash_name, "prev_hash": last_hash, "entry_hash": entry_hash}
        )
        if rounded.bodies_kept:
            bodies.append({"seq": seq, "request_body": entry.request_body, "response_body": entry.response_body})
        last_hash = entry_hash
    last_seq = first_seq + len(entries) - 1
    connection.execute(insert(MessageRecord.__table__), rows)
    if bodies:
        connection.execute(insert(MessageBody.__table__), bodies)
    connection.execute(update(_HEAD).where(_HEAD.c.id == 1).values(last_seq=last_seq, last_hash=last_hash))
    if last_seq // CHECKPOINT_EVERY > (first_seq - 1) // CHECKPOINT_EVERY:
        _sign(db, last_seq, last_hash, keys)
    return list(range(first_seq, last_seq + 1))


def append(
    db: Session,
    *,
    record: CallRecord,
    hash_name: str,
    keys: MessageKeys,
    request_body: bytes | None = None,
    response_body: bytes | None = None,
) -> int:
    """Append one call in the caller's transaction; returns its sequence number."""
    entry = Entry(record, request_body, response_body)
    return append_many(db, entries=[entry], hash_name=hash_name, keys=keys)[0]


def _checkpoint_message(seq: int, entry_hash: str, signed_at: datetime) -> bytes:
    return f"yiwang-exchange-messages:{seq}:{entry_hash}:{timestamp(signed_at)}".encode()


def _sign(db: Session, seq: int, entry_hash: str, keys: MessageKeys) -> MessageCheckpoint:
    key_id, key = keys.current()
    signed_at = utcnow()
    checkpoint = MessageCheckpoint(
        seq=seq,
        entry_hash=entry_hash,
        signed_at=signed_at,
        key_id=key_id,
        algorithm=key.algorithm,
        signature=base64.b64encode(key.sign(_checkpoint_message(seq, entry_hash, signed_at))).decode(),
    )
    db.add(checkpoint)
    db.flush()
    return checkpoint


def checkpoint_covering(db: Session, *, seq: int, keys: MessageKeys) -> MessageCheckpoint:
    """The first signed head at or after seq, signing the current head when there is none yet."""
    found = db.execute(
        select(MessageCheckpoint).where(MessageCheckpoint.seq >= seq).order_by(MessageCheckpoint.seq).limit(1)
    ).scalar_one_or_none()
    if found is not None:
        return found
    return sign_head(db, keys=keys) or checkpoint_covering(db, seq=seq, keys=keys)


def sign_head(db: Session, *, keys: MessageKeys) -> MessageCheckpoint | None:
    """Sign the current head unless it is signed already or empty; safe on several nodes (head lock)."""
    last_seq, last_hash = _locked_head(db)
    if last_seq == 0:
        return None
    if db.execute(select(MessageCheckpoint.id).where(MessageCheckpoint.seq == last_seq)).first():
        return None
    return _sign(db, last_seq, last_hash, keys)


def checkpoint_valid(checkpoint: MessageCheckpoint, keys: MessageKeys) -> bool:
    verifier = keys.verifier(checkpoint.key_id)
    message = _checkpoint_message(checkpoint.seq, checkpoint.entry_hash, checkpoint.signed_at)
    return verifier is not None and verifier.verify(base64.b64decode(checkpoint.signature), message)


def link_of(row: MessageRecord) -> Link:
    return Link(
        seq=row.seq,
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
        content_hash=content_hash(record_fields(row.seq, row), row.hash_algorithm),
        hash_name=row.hash_algorithm,
    )


def rows(db: Session, *, after: int = 0, until: int | None = None, batch: int = 2000) -> Iterator[MessageRecord]:
    last = after
    while True:
        stmt = select(MessageRecord).where(MessageRecord.seq > last).order_by(MessageRecord.seq).limit(batch)
        if until is not None:
            stmt = stmt.where(MessageRecord.seq <= until)
        found = db.execute(stmt).scalars().all()
        if not found:
            return
        yield from found
        last = found[-1].seq
        db.expunge_all()


_REASONS = {
    "missing": "缺少第{seq}条（记录被删除）",
    "prev_hash": "前序哈希与上一条不一致",
    "content": "记录内容与其哈希不一致（被篡改）",
}


def _signature_problem(row: MessageRecord, keys: MessageKeys) -> str | None:
    """A stored request or response signature that its own base and key do not verify, or whose base
    does not carry the digest the record names."""
    verifier = keys.verifier(row.key_id) if row.key_id else None
    for side, base, signature, digest in (
        ("请求", row.request_signature_base, row.request_signature, row.request_digest),
        ("响应", row.response_signature_base, row.response_signature, row.response_digest),
    ):
        if not signature:
            continue
        if verifier is None:
            return f"{side}签名所用密钥 {row.key_id} 不存在"
        if f'"content-digest": {digest}' not in base.split("\n"):
            return f"{side}签名未覆盖所记录的正文摘要"
        if not verify_stored(verifier, signature_base=base, signature_field=signature):
            return f"{side}签名无效"
    return None


def verify(db: Session, *, keys: MessageKeys) -> MessageChainCheck:
    """Recompute every link, check the signed heads and each stored message signature; name the first
    broken entry."""
    checkpoints = {c.seq: c for c in db.execute(select(MessageCheckpoint)).scalars()}
    for checkpoint in sorted(checkpoints.values(), key=lambda c: c.seq):
        if not checkpoint_valid(checkpoint, keys):
            return MessageChainCheck(
                ok=False, entries_checked=0, checkpoints_checked=0, signatures_checked=0,
                first_broken_seq=checkpoint.seq, reason=f"第{checkpoint.seq}条的链头签名无效",
            )  # fmt: skip
    signatures = 0
    problem: tuple[int, str] | None = None

    def links() -> Iterator[Link]:
        nonlocal signatures, problem
        for row in rows(db):
            signed = checkpoints.get(row.seq)
            if signed is not None and signed.entry_hash != row.entry_hash:
                problem = problem or (row.seq, "与已签名的链头不一致")
            bad = _signature_problem(row, keys)
            if bad:
                problem = problem or (row.seq, bad)
            signatures += bool(row.request_signature) + bool(row.response_signature)
            yield link_of(row)

    result: ChainWalk = walk(links())
    if result.broken is not None:
        reason = _REASONS[result.broken.reason].format(seq=result.broken.seq)
        return _broken(result, len(checkpoints), signatures, result.broken.seq, reason)
    if problem is not None:
        return _broken(result, len(checkpoints), signatures, problem[0], problem[1])
    beyond = [seq for seq in checkpoints if seq > result.last_seq]
    if beyond:
        return _broken(
            result, len(checkpoints), signatures, result.last_seq + 1, f"已签名的第{min(beyond)}条不存在（日志被截断）"
        )
    head = db.execute(select(MessageHead.last_seq, MessageHead.last_hash).where(MessageHead.id == 1)).one_or_none()
    if head is not None and (head.last_seq != result.last_seq or head.last_hash != result.last_hash):
        return _broken(result, len(checkpoints), signatures, result.last_seq + 1, "链头与最后一条记录不一致")
    return MessageChainCheck(
        ok=True, entries_checked=result.links, checkpoints_checked=len(checkpoints), signatures_checked=signatures
    )


def _broken(result: ChainWalk, checkpoints: int, signatures: int, seq: int, reason: str) -> MessageChainCheck:
    return MessageChainCheck(
        ok=False,
        entries_checked=result.links,
        checkpoints_checked=checkpoints,
        signatures_checked=signatures,
        first_broken_seq=seq,
        reason=reason,
    )
