"""Evidence of a mediated call (调用存证) for its consumer or provider, and their lists of calls.

The evidence is one JSON document: the call as logged (digests, status, both RFC 9421 signatures with
their exact signature bases), its link of the message log, the content hashes of the links after it up
to a signed head, and that head's signature — all signed once more with the platform's message key
over the document's canonical JSON. Anyone with the published key checks it offline
(docs/exchange.md, "Evidence"). Only the consumer and the provider department see a call.
"""

import base64
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.errors import NotFound
from yiwang.core.hashchain import canonical_json, content_hash
from yiwang.core.httpsig import ALGORITHMS
from yiwang.core.pagination import Page
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.exchange.message_keys import MessageKeys
from yiwang.exchange.message_log import checkpoint_covering, record_fields, rows, timestamp
from yiwang.exchange.models import MessageBody, MessageRecord
from yiwang.exchange.schemas import MessageRead

EVIDENCE_TYPE = "yiwang.exchange.evidence/v1"
Side = Literal["consumer", "provider"]


def _party(actor: Principal, record: MessageRecord) -> bool:
    return actor.can_reach_department(record.provider_department_id) or (
        record.consumer_department_id is not None and actor.can_reach_department(record.consumer_department_id)
    )


def list_messages(
    db: Session,
    *,
    actor: Principal,
    side: Side,
    service_code: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> Page[MessageRead]:
    """The calls the caller's departments made (consumer) or answered (provider), newest first."""
    scope = list(actor.scope_department_ids)
    column = MessageRecord.consumer_department_id if side == "consumer" else MessageRecord.provider_department_id
    stmt = select(MessageRecord).where(column.in_(scope))
    if service_code:
        stmt = stmt.where(MessageRecord.service_code == service_code)
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    found = db.execute(stmt.order_by(MessageRecord.seq.desc()).offset(offset).limit(limit)).scalars()
    return Page(items=[MessageRead.model_validate(r) for r in found], total=total, page=offset // limit + 1, size=limit)


def _record(db: Session, actor: Principal, call_id: str) -> MessageRecord:
    record = db.execute(select(MessageRecord).where(MessageRecord.call_id == call_id)).scalar_one_or_none()
    if record is None or not _party(actor, record):
        raise NotFound("调用记录不存在")  # another department's call is not even confirmed to exist
    return record


def get_message(db: Session, *, actor: Principal, call_id: str) -> MessageRead:
    return MessageRead.model_validate(_record(db, actor, call_id))


def evidence(db: Session, *, actor: Principal, call_id: str, keys: MessageKeys, issuer: str) -> bytes:
    """The signed evidence document of one call, as bytes (canonical JSON)."""
    record = _record(db, actor, call_id)
    checkpoint = checkpoint_covering(db, seq=record.seq, keys=keys)
    later = [
        [content_hash(record_fields(row.seq, row), row.hash_algorithm), row.hash_algorithm]
        for row in rows(db, after=record.seq, until=checkpoint.seq)
    ]
    record = _record(db, actor, call_id)  # rows() expunged it
    message: dict[str, Any] = dict(zip(_FIELD_NAMES, record_fields(record.seq, record), strict=True))
    message |= {"hash_algorithm": record.hash_algorithm, "prev_hash": record.prev_hash, "entry_hash": record.entry_hash}
    message["content_hash"] = content_hash(record_fields(record.seq, record), record.hash_algorithm)
    document: dict[str, Any] = {
        "type": EVIDENCE_TYPE,
        "issuer": issuer,
        "issued_at": timestamp(utcnow()),
        "message": message,
        "chain": {
            "covered_fields": list(_FIELD_NAMES),
            "later": later,
            "checkpoint": {
                "seq": checkpoint.seq,
                "entry_hash": checkpoint.entry_hash,
                "signed_at": timestamp(checkpoint.signed_at),
                "key_id": checkpoint.key_id,
                "alg": ALGORITHMS[checkpoint.algorithm],
                "signature": checkpoint.signature,
                "message": f"yiwang-exchange-messages:{checkpoint.seq}:{checkpoint.entry_hash}:"
                f"{timestamp(checkpoint.signed_at)}",
            },
        },
    }
    if record.bodies_kept:
        bodies = db.get(MessageBody, record.seq)
        document["bodies"] = {
            side: None if body is None else base64.b64encode(body).decode()
            for side, body in (
                ("request", bodies.request_body if bodies else None),
                ("response", bodies.response_body if bodies else None),
            )
        }
    key_id, key = keys.current()
    signature = base64.b64encode(key.sign(canonical_json(document).encode())).decode()
    document["signature"] = {"key_id": key_id, "alg": ALGORITHMS[key.algorithm], "value": signature}
    audit.record(db, actor=actor, action="exchange.message.evidence", target_type="exchange_message", target_id=call_id)
    return canonical_json(document).encode()


_FIELD_NAMES = (
    "seq",
    "call_id",
    "received_at",
    "duration_ms",
    "service_code",
    "operation_id",
    "method",
    "path",
    "query",
    "provider_department_id",
    "consumer_department_id",
    "caller_id",
    "caller_name",
    "grant_id",
    "outcome",
    "status_code",
    "error_code",
    "request_digest",
    "response_digest",
    "request_bytes",
    "response_bytes",
    "key_id",
    "request_signature_input",
    "request_signature",
    "request_signature_base",
    "response_signature_input",
    "response_signature",
    "response_signature_base",
    "bodies_kept",
)
