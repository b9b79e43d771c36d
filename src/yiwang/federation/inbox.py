"""Receiving a peer's message: verify, refuse replays, record the id, apply — all in one transaction.

A message is applied only if it is signed (RFC 9421 headers), by the key pinned for an active peer,
signed within the replay window, addressed to this installation, and its id was never recorded
before. The id is written in the same transaction as what the message changes, so a message is
applied exactly once however often it arrives; a second arrival is refused as a replay (409), which
tells an honest sender that it was received.
"""

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.crypto import load_verifying_key
from yiwang.core.errors import AppError, Conflict, PermissionDenied, ValidationFailed
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.federation import protocol
from yiwang.federation.models import IncomingMessage, Peer
from yiwang.federation.protocol import MessageRefused
from yiwang.federation.schemas import Payload, Receipt

ENVELOPE_FIELDS = frozenset({"id", "kind", "sender", "recipient", "created", "payload"})
Handler = Callable[[Session, Peer, Any], str]  # returns a one-line summary for the history


@dataclass(frozen=True)
class Route:
    payload_type: type[Payload]
    handler: Handler


_routes: dict[str, Route] = {}


def route(kind: str, payload_type: type[Payload]) -> Callable[[Handler], Handler]:
    """Register the handler of one message kind ("report" also takes every "report:<topic>")."""

    def register(handler: Handler) -> Handler:
        _routes[kind] = Route(payload_type, handler)
        return handler

    return register


def _route_for(kind: str) -> Route | None:
    return _routes.get(kind) or (_routes.get("report") if kind.startswith("report:") else None)


def _refuse(db: Session, peer: Peer, error: AppError, detail: str = "") -> AppError:
    """Keep a refusal naming a known peer in the audit chain (a forged or replayed message is an attack)."""
    audit.record(
        db,
        actor=_peer_actor(peer),
        action="federation.message.refused",
        target_type="federation_peer",
        target_id=peer.id,
        outcome="denied",
        details={"code": error.code, "detail": detail[:200]},
    )
    error.commit = True
    return error


def _peer_actor(peer: Peer) -> Principal:
    return Principal(user_id=None, username=f"peer:{peer.name}"[:100], display_name=peer.name, kind="system")


def receive(
    db: Session,
    *,
    headers: Mapping[str, str],
    body: bytes,
    own_key_ids: frozenset[str],
    window: timedelta,
    now: datetime | None = None,
) -> Receipt:
    """Verify and apply one message; MessageRefused (or Conflict for a replay) when it is not accepted."""
    now = now or utcnow()
    message = _envelope(body)  # malformed is the sender's 400 before anything is looked up
    claims = protocol.parse({k.lower(): v for k, v in headers.items()})
    peer = db.execute(select(Peer).where(Peer.key_id == claims.keyid)).scalar_one_or_none()
    if peer is None:
        raise MessageRefused("签名密钥不是已登记对接节点的公钥", code="unknown_key")
    if peer.status != "active":
        raise _refuse(db, peer, PermissionDenied("该对接节点已被移除，消息不予接受", code="peer_removed"))
    key = load_verifying_key(peer.algorithm, base64.b64decode(peer.public_key))
    try:
        protocol.verify(claims, body=body, key=key)
    except MessageRefused as exc:
        raise _refuse(db, peer, exc) from None
    signed_at = datetime.fromtimestamp(claims.created, tz=now.tzinfo)
    if abs(now - signed_at) > window:
        raise _refuse(
            db, peer, MessageRefused("签名时间超出允许窗口，疑似重放", code="stale_signature"), signed_at.isoformat()
        )
    if (
        message.get("id") != claims.nonce
        or message.get("sender") != peer.key_id
        or message.get("recipient") not in own_key_ids
    ):
        raise _refuse(db, peer, MessageRefused("消息的编号、发送方或接收方与签名不符", code="misaddressed"))
    kind = str(message.get("kind", ""))
    target = _route_for(kind)
    if target is None:
        raise ValidationFailed(f"不支持的消息类型 {kind}", code="unknown_kind")
    try:
        payload = target.payload_type.model_validate(message.get("payload"))
    except ValidationError as exc:
        raise ValidationFailed(
            "消息内容不符合约定", code="bad_payload", details=exc.errors(include_url=False)[:5]
        ) from None
    record = IncomingMessage(
        peer_id=peer.id, message_id=claims.nonce, kind=kind, sent_at=_created(message), received_at=now
    )
    try:
        with db.begin_nested():
            db.add(record)
            db.flush()
    except IntegrityError:
        raise _refuse(db, peer, Conflict("该消息已接收过，不再处理", code="replayed"), claims.nonce) from None
    record.summary = target.handler(db, peer, payload)[:300]
    peer.last_received_at = now
    db.flush()
    return Receipt(status="accepted", message_id=claims.nonce, received_at=now)


def _envelope(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise AppError("消息体不是合法的 JSON", code="malformed_json") from None
    if not isinstance(message, dict) or not set(message) >= ENVELOPE_FIELDS:
        raise AppError(
            "消息体须为含 id、kind、sender、recipient、created、payload 的 JSON 对象", code="malformed_envelope"
        )
    return message


def _created(message: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(message.get("created")))
    except ValueError:
        raise ValidationFailed("消息的创建时间无效", code="bad_payload") from None
