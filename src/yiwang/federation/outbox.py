"""Durable delivery to peers: an outbox written in the sender's transaction, delivered by a job.

Each peer's messages go out in the order they were written (the head of its queue first), so an
entry's retirement never overtakes the entry. A claim locks the peer's row for a moment and leases
the head message (`available_at` moves past the HTTP time-out), so several workers never send the
same message at once, and the HTTP call holds no transaction. A failure waits base × 2ⁿ⁻¹ seconds,
capped, with jitter, and is tried again for as long as the peer stays: nothing is dropped because the
other side was down for hours. The receiver records each message id, so a resend after a lost answer
is refused as a replay and counted as delivered.
"""

import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from yiwang.core.timeutil import utcnow
from yiwang.federation import protocol, rollover
from yiwang.federation.keys import FederationKeys, InstallationKey
from yiwang.federation.models import CatalogSync, OutgoingMessage, Peer
from yiwang.federation.schemas import Payload

log = logging.getLogger(__name__)
ERROR_LIMIT = 1000


@dataclass
class RetryPolicy:
    base_seconds: float = 5.0
    max_seconds: float = 600.0
    timeout_seconds: float = 10.0

    def delay(self, attempts: int) -> timedelta:
        """Exponential back-off with jitter: a random point in the upper half of base × 2ⁿ⁻¹, capped."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return timedelta(seconds=random.uniform(ceiling / 2, ceiling))

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.timeout_seconds + 30)


def enqueue(db: Session, *, peer: Peer, kind: str, payload: Payload) -> str:
    """Write a message to the peer in the caller's transaction; the delivery job sends it after commit."""
    message_id = uuid.uuid4().hex
    now = utcnow()
    db.add(
        OutgoingMessage(
            message_id=message_id,
            peer_id=peer.id,
            kind=kind,
            body=payload.model_dump_json(),
            status="pending",
            attempts=0,
            last_error="",
            created_at=now,
            available_at=now,
        )
    )
    db.flush()
    return message_id


def body_of(message: OutgoingMessage, *, sender: str, recipient: str) -> bytes:
    return protocol.envelope(
        message_id=message.message_id,
        kind=message.kind,
        sender=sender,
        recipient=recipient,
        created=message.created_at,
        payload=json.loads(message.body),
    ).encode()


@dataclass(frozen=True)
class Claimed:
    row_id: int
    peer_id: int
    url: str
    body: bytes
    message_id: str
    attempts: int
    key: InstallationKey  # the version of our key this peer pinned


Sender = Callable[[str, bytes, dict[str, str]], httpx.Response]


def _claim(engine: Engine, *, peer_id: int, keys: FederationKeys, policy: RetryPolicy, now: datetime) -> Claimed | None:
    with Session(engine, expire_on_commit=False) as db, db.begin():
        peer = db.execute(
            select(Peer).where(Peer.id == peer_id, Peer.status == "active").with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if peer is None:
            return None
        head = db.execute(
            select(OutgoingMessage)
            .where(OutgoingMessage.peer_id == peer_id, OutgoingMessage.status == "pending")
            .order_by(OutgoingMessage.id)
            .limit(1)
        ).scalar_one_or_none()
        if head is None or head.available_at > now:
            return None
        head.attempts += 1
        head.available_at = now + policy.lease
        key = keys.version(peer.own_key_version)
        return Claimed(
            head.id,
            peer.id,
            peer.url + protocol.PATH,
            body_of(head, sender=key.key_id, recipient=peer.key_id),
            head.message_id,
            head.attempts,
            key,
        )


def _outcome(response: httpx.Response | None, error: str) -> tuple[str, str]:
    """(status, error): delivered, rejected for good (the receiver cannot read it), or retry."""
    if response is None:
        return "retry", error
    if response.status_code == 200:
        return "delivered", ""
    code = ""
    with contextlib.suppress(ValueError, AttributeError):
        code = response.json().get("error", {}).get("code", "")
    if response.status_code == 409 and code == "replayed":
        return "delivered", ""  # the receiver holds it already: an earlier answer was lost
    text = f"HTTP {response.status_code} {code} {response.text[:300]}".strip()
    if response.status_code in (400, 413, 422):
        return "rejected", text
    return "retry", text


def _finish(engine: Engine, claimed: Claimed, status: str, error: str, policy: RetryPolicy) -> None:
    now = utcnow()
    with Session(engine) as db, db.begin():
        message = db.get(OutgoingMessage, claimed.row_id)
        peer = db.get(Peer, claimed.peer_id)
        if message is None or peer is None or message.status != "pending":
            return
        if status == "delivered":
            message.status, message.delivered_at, message.last_error = "delivered", now, ""
            peer.last_sent_at, peer.last_error = now, ""
            db.execute(
                update(CatalogSync).where(CatalogSync.message_id == message.message_id).values(acknowledged_at=now)
            )
        elif status == "rejected":
            message.status, message.last_error = "rejected", error[:ERROR_LIMIT]
            peer.last_error = f"消息 {message.message_id} 被对方拒收：{error}"[:ERROR_LIMIT]
            log.error("peer %s rejected message %s: %s", peer.name, message.message_id, error)
        else:
            message.available_at = now + policy.delay(claimed.attempts)
            message.last_error = peer.last_error = error[:ERROR_LIMIT]
            log.warning(
                "delivery of %s to %s failed (attempt %s): %s", message.message_id, peer.name, claimed.attempts, error
            )


def _post(client: httpx.Client) -> Sender:
    def send(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return client.post(url, content=body, headers=headers)

    return send


def _roll_key_over(engine: Engine, *, peer_id: int, keys: FederationKeys, sender: Sender) -> bool:
    """Tell the peer our current key under the one it pinned, if it has an older one; False on failure.

    The rollover is tried at each delivery round until the peer accepts it: its state is the peer's
    `own_key_version`, so nothing waits in the outbox for it and nothing overtakes it."""
    with Session(engine) as db:
        peer = db.get(Peer, peer_id)
        if peer is None or peer.own_key_version >= keys.current.version:
            return True
        old, new, recipient, url = keys.version(peer.own_key_version), keys.current, peer.key_id, peer.url
    message_id = rollover.message_id(old, new, recipient)
    body = protocol.envelope(
        message_id=message_id,
        kind=rollover.KIND,
        sender=old.key_id,
        recipient=recipient,
        created=utcnow(),
        payload=rollover.payload(old, new).model_dump(),
    ).encode()
    headers = protocol.sign(
        body=body, key=old.signer, keyid=old.key_id, message_id=message_id, signed_at=int(time.time())
    )
    response, error = None, ""
    try:
        response = sender(url + protocol.PATH, body, headers)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    status, error = _outcome(response, error)
    if response is not None and response.status_code == 401 and "unknown_key" in error:
        status = "delivered"  # it trusts neither: it was re-added since, and a re-add pins our current key
    with Session(engine) as db, db.begin():
        peer = db.get(Peer, peer_id)
        if peer is None:
            return False
        if status == "delivered":
            peer.own_key_version, peer.last_error = new.version, ""
            log.info("peer %s now pins federation key v%s", peer.name, new.version)
            return True
        peer.last_error = f"密钥轮换通知未送达：{error}"[:ERROR_LIMIT]
        log.warning("key rollover to %s failed: %s", peer.name, error)
        return False


def deliver_due(
    engine: Engine, *, keys: FederationKeys, policy: RetryPolicy, limit: int = 200, send: Sender | None = None
) -> int:
    """Send every due message, peer by peer in order, until a peer fails or limit is reached."""
    with Session(engine) as db:
        peer_ids = list(db.execute(select(Peer.id).where(Peer.status == "active").order_by(Peer.id)).scalars())
    delivered = 0
    with httpx.Client(timeout=policy.timeout_seconds) as client:
        sender = send or _post(client)
        for peer_id in peer_ids:
            if not _roll_key_over(engine, peer_id=peer_id, keys=keys, sender=sender):
                continue
            while delivered < limit:
                claimed = _claim(engine, peer_id=peer_id, keys=keys, policy=policy, now=utcnow())
                if claimed is None:
                    break
                headers = protocol.sign(
                    body=claimed.body,
                    key=claimed.key.signer,
                    keyid=claimed.key.key_id,
                    message_id=claimed.message_id,
                    signed_at=int(time.time()),
                )
                response, error = None, ""
                try:
                    response = sender(claimed.url, claimed.body, headers)
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                status, error = _outcome(response, error)
                _finish(engine, claimed, status, error, policy)
                if status != "delivered":
                    break
                delivered += 1
    return delivered
