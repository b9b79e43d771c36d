"""数据异议: the upper level reports a problem with an entry it received; the entry's steward answers.

A received objection is routed to the department that provides the entry; its stewards see it on
their workbench and the objections page until they answer, and the answer goes back to the peer.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.catalog import service as catalog_service
from yiwang.core import audit
from yiwang.core.errors import Conflict, NotFound, PermissionDenied
from yiwang.core.security import Principal, check
from yiwang.core.timeutil import utcnow
from yiwang.federation import outbox, peers
from yiwang.federation import permissions as perm
from yiwang.federation.catalog_sync import remote_entry
from yiwang.federation.inbox import route
from yiwang.federation.models import Objection, Peer
from yiwang.federation.schemas import (
    ObjectionAnswer,
    ObjectionAnswerPayload,
    ObjectionCreate,
    ObjectionPayload,
    ObjectionRead,
    ReportCreate,
    ReportPayload,
)


def _read(row: Objection, peer_name: str) -> ObjectionRead:
    read = ObjectionRead.model_validate(row)
    read.peer_name = peer_name
    return read


def raise_objection(db: Session, *, actor: Principal, data: ObjectionCreate) -> ObjectionRead:
    """Report a problem with an entry a peer synchronised to us."""
    check(actor, perm.PEER_MANAGE)
    peer = peers.active_row(db, data.peer_id)
    if remote_entry(db, peer_id=peer.id, code=data.entry_code) is None:
        raise NotFound(f"该节点未同步过资源 {data.entry_code}")
    row = Objection(
        reference=uuid.uuid4().hex,
        direction="outgoing",
        peer_id=peer.id,
        entry_code=data.entry_code,
        department_id=None,
        description=data.description,
        raised_by=actor.username,
        status="open",
        created_at=utcnow(),
    )
    db.add(row)
    db.flush()
    outbox.enqueue(
        db,
        peer=peer,
        kind="objection.raise",
        payload=ObjectionPayload(
            reference=row.reference, entry_code=row.entry_code, description=row.description, raised_by=actor.username
        ),
    )
    audit.record(
        db,
        actor=actor,
        action="federation.objection.raise",
        target_type="federation_objection",
        target_id=row.reference,
        details={"peer": peer.name, "entry": row.entry_code},
    )
    return _read(row, peer.name)


@route("objection.raise", ObjectionPayload)
def receive_objection(db: Session, peer: Peer, payload: ObjectionPayload) -> str:
    try:
        department_id: int | None = catalog_service.get_entry(db, code=payload.entry_code).department_id
    except NotFound:
        department_id = None  # an entry since removed: the bureau sees it
    db.add(
        Objection(
            reference=payload.reference,
            direction="incoming",
            peer_id=peer.id,
            entry_code=payload.entry_code,
            department_id=department_id,
            description=payload.description,
            raised_by=f"{payload.raised_by}（{peer.name}）"[:100],
            status="open",
            created_at=utcnow(),
        )
    )
    db.flush()
    return f"{payload.entry_code} 数据异议"


def answer_objection(db: Session, *, actor: Principal, objection_id: int, data: ObjectionAnswer) -> ObjectionRead:
    """The entry's steward (or the bureau) answers; the answer goes back to the peer."""
    check(actor, perm.OBJECTION_HANDLE)
    row = _get(db, actor, objection_id)
    if row.direction != "incoming":
        raise Conflict("只能答复对方提出的异议", code="not_incoming")
    if row.status != "open":
        raise Conflict("该异议已答复", code="already_answered")
    if not (
        (row.department_id is not None and actor.can_reach_department(row.department_id))
        or catalog_service.is_bureau(db, actor)
    ):
        raise PermissionDenied("只有资源提供部门或大数据局可以答复", code="department_scope")
    peer = peers.active_row(db, row.peer_id)
    row.status, row.answer, row.answered_by, row.answered_at = "answered", data.answer, actor.username, utcnow()
    outbox.enqueue(
        db,
        peer=peer,
        kind="objection.answer",
        payload=ObjectionAnswerPayload(reference=row.reference, answer=data.answer, answered_by=actor.username),
    )
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="federation.objection.answer",
        target_type="federation_objection",
        target_id=row.reference,
        details={"entry": row.entry_code},
    )
    return _read(row, peer.name)


@route("objection.answer", ObjectionAnswerPayload)
def receive_objection_answer(db: Session, peer: Peer, payload: ObjectionAnswerPayload) -> str:
    row = db.execute(
        select(Objection).where(
            Objection.peer_id == peer.id, Objection.reference == payload.reference, Objection.direction == "outgoing"
        )
    ).scalar_one_or_none()
    if row is None:
        return f"未知异议 {payload.reference}，忽略答复"
    if row.status == "open":
        row.status, row.answer, row.answered_at = "answered", payload.answer, utcnow()
        row.answered_by = f"{payload.answered_by}（{peer.name}）"[:100]
    db.flush()
    return f"{row.entry_code} 数据异议已答复"


def _get(db: Session, actor: Principal, objection_id: int) -> Objection:
    row = db.get(Objection, objection_id)
    if row is None:
        raise NotFound("数据异议不存在")
    if catalog_service.is_bureau(db, actor):
        return row
    if row.department_id is None or not actor.can_reach_department(row.department_id):
        raise NotFound("数据异议不存在")
    return row


def get_objection(db: Session, *, actor: Principal, objection_id: int) -> ObjectionRead:
    check(actor, perm.READ)
    row = _get(db, actor, objection_id)
    return _read(row, peers.get_row(db, row.peer_id).name)


def list_objections(db: Session, *, actor: Principal, status: str | None = None) -> list[ObjectionRead]:
    """Objections about the caller's departments' entries (every one for the bureau), newest first."""
    check(actor, perm.READ)
    query = select(Objection, Peer.name).join(Peer, Peer.id == Objection.peer_id)
    if status:
        query = query.where(Objection.status == status)
    if not catalog_service.is_bureau(db, actor):
        query = query.where(
            Objection.direction == "incoming", Objection.department_id.in_(list(actor.scope_department_ids))
        )
    rows = db.execute(query.order_by(Objection.id.desc()).limit(500)).all()
    return [_read(row, name) for row, name in rows]


def open_for(db: Session, *, actor: Principal) -> list[ObjectionRead]:
    """Received objections waiting for the caller's answer: the workbench's items."""
    if not actor.has(perm.OBJECTION_HANDLE):
        return []
    return [o for o in list_objections(db, actor=actor, status="open") if o.direction == "incoming"]


# ---- reports to the upper level's platforms (security, cloud operations, projects) ----------------


def send_report(db: Session, *, actor: Principal, peer_id: int, data: ReportCreate) -> str:
    """Queue a report (报送) to a peer, e.g. the security management platform's periodic figures."""
    check(actor, perm.PEER_MANAGE)
    peer = peers.active_row(db, peer_id)
    message_id = outbox.enqueue(
        db, peer=peer, kind=f"report:{data.topic}", payload=ReportPayload(topic=data.topic, content=data.content)
    )
    audit.record(
        db,
        actor=actor,
        action="federation.report.send",
        target_type="federation_peer",
        target_id=peer.id,
        details={"topic": data.topic, "message": message_id},
    )
    return message_id


@route("report", ReportPayload)
def receive_report(db: Session, peer: Peer, payload: ReportPayload) -> str:
    return f"报送 {payload.topic}（{len(payload.content)} 项）"
