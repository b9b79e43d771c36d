"""Peers (对接节点): adding one after its fingerprint is checked, removing it, and its delivery state."""

import base64
import binascii
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.crypto import load_verifying_key
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.security import Principal, check
from yiwang.core.timeutil import utcnow
from yiwang.exchange import permissions as exchange_perm
from yiwang.federation import permissions as perm
from yiwang.federation import protocol
from yiwang.federation.keys import FederationKeys
from yiwang.federation.models import CatalogSync, IncomingMessage, OutgoingMessage, Peer
from yiwang.federation.schemas import DEFAULT_KINDS, ROLE_NAMES, Identity, PeerCreate, PeerRead
from yiwang.org import service as org_service
from yiwang.org.schemas import DepartmentCreate


def normalise_fingerprint(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _public_raw(identity: Identity) -> bytes:
    try:
        raw = base64.b64decode(identity.public_key, validate=True)
        load_verifying_key(identity.algorithm, raw)
    except (ValueError, binascii.Error) as exc:
        raise ValidationFailed("对方提供的公钥无效", code="bad_peer_key") from exc
    return raw


def add_peer(db: Session, *, actor: Principal, identity: Identity, data: PeerCreate, own: FederationKeys) -> PeerRead:
    """Pin a peer's key, only when the fingerprint checked out of band matches the key it presented.

    The peer is taken to pin our current key: that is what our identity shows it (and what the
    command tells its operator to check)."""
    check(actor, perm.PEER_MANAGE)
    raw = _public_raw(identity)
    key_id = protocol.key_id(identity.algorithm, raw)
    if normalise_fingerprint(data.fingerprint) != key_id:
        raise ValidationFailed("指纹与对方公钥不符，未添加：请与对方重新核对", code="fingerprint_mismatch")
    if key_id in own.key_ids:
        raise ValidationFailed("不能把本平台添加为对接节点", code="self_peer")
    existing = db.execute(select(Peer).where(Peer.key_id == key_id)).scalar_one_or_none()
    if existing is not None and existing.status == "active":
        raise Conflict(f"该节点已添加（{existing.name}）", code="peer_exists")
    department_id = (
        org_service.get_department_by_code(db, code=data.department_code).id
        if data.department_code
        else _stand_in_department(db, actor, key_id, identity.name)
    )
    kinds = data.required_kinds if data.required_kinds is not None else DEFAULT_KINDS[data.platform]
    now = utcnow()
    peer = existing or Peer(key_id=key_id, added_at=now)
    peer.name, peer.url, peer.role, peer.platform = (
        identity.name[:100],
        str(data.url).rstrip("/"),
        data.role,
        data.platform,
    )
    peer.required_kinds, peer.algorithm, peer.public_key = list(kinds), identity.algorithm, identity.public_key
    peer.department_id, peer.status, peer.added_by, peer.added_at = department_id, "active", actor.username, now
    peer.removed_at, peer.last_error, peer.own_key_version = None, "", own.current.version
    if existing is None:
        db.add(peer)
    else:  # what was queued before the removal was cancelled: a peer added again gets the whole catalog
        db.execute(delete(CatalogSync).where(CatalogSync.peer_id == existing.id))
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="federation.peer.add",
        target_type="federation_peer",
        target_id=peer.id,
        details={
            "name": peer.name,
            "url": peer.url,
            "role": peer.role,
            "fingerprint": protocol.fingerprint(peer.algorithm, raw),
        },
    )
    return _read(db, peer)


def _stand_in_department(db: Session, actor: Principal, key_id: str, name: str) -> int:
    """The local department that applies and reads in the peer's name (跨级申请的申请方)."""
    code = f"FED_{key_id[:12]}"
    try:
        return org_service.get_department_by_code(db, code=code).id
    except NotFound:
        created = org_service.create_department(
            db,
            actor=actor,
            data=DepartmentCreate(code=code, short_name=name[:40], full_name=f"对接节点：{name}"[:100], kind="unit"),
        )
        return created.id


def remove_peer(db: Session, *, actor: Principal, peer_id: int) -> PeerRead:
    """Stop trusting a peer: its messages are refused from now on and what waits for it is cancelled."""
    check(actor, perm.PEER_MANAGE)
    peer = get_row(db, peer_id)
    if peer.status == "removed":
        raise Conflict("该节点已移除", code="peer_removed")
    peer.status, peer.removed_at = "removed", utcnow()
    cancelled = 0
    for message in db.execute(
        select(OutgoingMessage).where(OutgoingMessage.peer_id == peer.id, OutgoingMessage.status == "pending")
    ).scalars():
        message.status, cancelled = "cancelled", cancelled + 1
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="federation.peer.remove",
        target_type="federation_peer",
        target_id=peer.id,
        details={"name": peer.name, "cancelled_messages": cancelled},
    )
    return _read(db, peer)


def get_row(db: Session, peer_id: int) -> Peer:
    peer = db.get(Peer, peer_id)
    if peer is None:
        raise NotFound("对接节点不存在")
    return peer


def active_row(db: Session, peer_id: int) -> Peer:
    peer = get_row(db, peer_id)
    if peer.status != "active":
        raise ValidationFailed("该对接节点已移除", code="peer_removed")
    return peer


def _read(db: Session, peer: Peer, counts: dict[int, tuple[int, datetime | None, int, int]] | None = None) -> PeerRead:
    read = PeerRead.model_validate(peer)
    read.fingerprint = protocol.fingerprint(peer.algorithm, base64.b64decode(peer.public_key))
    backlog, oldest, delivered, received = (counts or _counts(db, [peer.id])).get(peer.id, (0, None, 0, 0))
    read.backlog, read.oldest_pending_at, read.delivered, read.received = backlog, oldest, delivered, received
    return read


def _counts(db: Session, ids: list[int]) -> dict[int, tuple[int, datetime | None, int, int]]:
    sent = db.execute(
        select(OutgoingMessage.peer_id, OutgoingMessage.status, func.count(), func.min(OutgoingMessage.created_at))
        .where(OutgoingMessage.peer_id.in_(ids))
        .group_by(OutgoingMessage.peer_id, OutgoingMessage.status)
    ).all()
    received = dict(
        db.execute(
            select(IncomingMessage.peer_id, func.count())
            .where(IncomingMessage.peer_id.in_(ids))
            .group_by(IncomingMessage.peer_id)
        ).all()
    )
    result: dict[int, tuple[int, datetime | None, int, int]] = {i: (0, None, 0, received.get(i, 0)) for i in ids}
    for peer_id, status, count, oldest in sent:
        backlog, first, delivered, got = result[peer_id]
        if status == "pending":
            backlog, first = count, oldest
        elif status == "delivered":
            delivered = count
        result[peer_id] = (backlog, first, delivered, got)
    return result


def list_peers(db: Session, *, include_removed: bool = True) -> list[PeerRead]:
    """Every peer with its backlog (messages waiting), oldest waiting message, and counts."""
    query = select(Peer).order_by(Peer.id)
    if not include_removed:
        query = query.where(Peer.status == "active")
    peers = list(db.execute(query).scalars())
    counts = _counts(db, [p.id for p in peers])
    return [_read(db, p, counts) for p in peers]


def get_peer(db: Session, *, peer_id: int) -> PeerRead:
    return _read(db, get_row(db, peer_id))


def role_name(role: str) -> str:
    return ROLE_NAMES.get(role, role)


def peer_principal(peer: Peer) -> Principal:
    """The peer acting in this installation: it applies for data and reads what was granted, as its
    stand-in department, and nothing else."""
    return Principal(
        user_id=None,
        username=f"peer:{peer.name}"[:100],
        display_name=peer.name,
        kind="system",
        department_id=peer.department_id,
        scope_department_ids=frozenset({peer.department_id}),
        permissions=frozenset({exchange_perm.APPLY, exchange_perm.DATA_READ, exchange_perm.USAGE_READ}),
        ip=peer.url[:45],
    )
