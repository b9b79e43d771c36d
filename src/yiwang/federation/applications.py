"""Cross-level data applications (跨级申请): a department applies for a peer's resource; the peer's
provider and bureau decide in their own exchange approval flow; the answer and the granted rows come
back as messages, and the department reads them through this installation's data API.

On the deciding side a received application becomes an ordinary exchange application of the peer's
stand-in department; `follow_incoming` (a job) watches it and sends the answer and, once granted,
the rows — read through the exchange's data API as that department, so the read is logged there.
"""

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.catalog import service as catalog_service
from yiwang.core import audit, workdays
from yiwang.core.errors import AppError, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.security import Principal, check
from yiwang.core.timeutil import local_today, utcnow
from yiwang.exchange import service as exchange_service
from yiwang.exchange.schemas import ApplicationCreate
from yiwang.federation import outbox, peers
from yiwang.federation import permissions as perm
from yiwang.federation.catalog_sync import remote_entry
from yiwang.federation.inbox import route
from yiwang.federation.models import CrossApplication, Peer, ReturnedPage
from yiwang.federation.schemas import (
    ApplicationAnswerPayload,
    ApplicationDataPayload,
    ApplicationSubmitPayload,
    CrossApplicationCreate,
    CrossApplicationRead,
    ReturnedData,
)

ANSWER_WORKING_DAYS = 10  # as for an application inside the city (exchange: the provider's 10 working days)
PAGE_ROWS = 500  # a page of rows stays well inside the 1 MiB a JSON body may have


def _read(row: CrossApplication, peer_name: str = "") -> CrossApplicationRead:
    read = CrossApplicationRead.model_validate(row)
    read.peer_name = peer_name
    if row.answered_at is not None:
        read.answered_on_time = row.answered_at.date() <= row.due_on
    elif row.due_on < local_today():
        read.answered_on_time = False
    return read


def apply(db: Session, *, actor: Principal, data: CrossApplicationCreate) -> CrossApplicationRead:
    """A department applies for fields of a peer's synchronised entry."""
    check(actor, perm.APPLY)
    if actor.department_id is None:
        raise ValidationFailed("申请人须属于一个部门")
    peer = peers.active_row(db, data.peer_id)
    entry = remote_entry(db, peer_id=peer.id, code=data.entry_code)
    if entry is None or entry.status != "published":
        raise NotFound(f"对接目录中没有资源 {data.entry_code}")
    if entry.sharing_type == "不予共享":
        raise ValidationFailed("该资源为不予共享，不能申请", code="not_shareable")
    unknown = sorted(set(data.fields) - {i.name for i in entry.items})
    if unknown:
        raise ValidationFailed("申请的字段不是该资源的信息项", details={"fields": unknown})
    if data.period_end <= local_today() or data.period_end > local_today() + timedelta(days=3 * 366):
        raise ValidationFailed("使用期限须晚于今天，最长三年")
    row = CrossApplication(
        reference=uuid.uuid4().hex,
        direction="outgoing",
        peer_id=peer.id,
        entry_code=entry.code,
        entry_name=entry.name,
        fields=list(dict.fromkeys(data.fields)),
        purpose=data.purpose,
        period_end=data.period_end,
        department_id=actor.department_id,
        applicant_name=actor.username,
        status="submitted",
        due_on=workdays.working_day_after(db, start=local_today(), days=ANSWER_WORKING_DAYS),
        created_at=utcnow(),
    )
    db.add(row)
    db.flush()
    outbox.enqueue(
        db,
        peer=peer,
        kind="application.submit",
        payload=ApplicationSubmitPayload(
            reference=row.reference,
            entry_code=row.entry_code,
            fields=row.fields,
            purpose=row.purpose,
            period_end=row.period_end,
            applicant=actor.username,
            department_name=actor.display_name if actor.department_code is None else actor.department_code,
        ),
    )
    audit.record(
        db,
        actor=actor,
        action="federation.application.submit",
        target_type="federation_application",
        target_id=row.reference,
        details={"peer": peer.name, "entry": row.entry_code, "fields": row.fields},
    )
    return _read(row, peer.name)


@route("application.submit", ApplicationSubmitPayload)
def receive_application(db: Session, peer: Peer, payload: ApplicationSubmitPayload) -> str:
    """Enter the peer's application into the exchange flow as its stand-in department."""
    row = CrossApplication(
        reference=payload.reference,
        direction="incoming",
        peer_id=peer.id,
        entry_code=payload.entry_code,
        fields=list(payload.fields),
        purpose=payload.purpose,
        period_end=payload.period_end,
        department_id=peer.department_id,
        applicant_name=f"{payload.applicant}（{peer.name}）"[:100],
        status="submitted",
        due_on=workdays.working_day_after(db, start=local_today(), days=ANSWER_WORKING_DAYS),
        created_at=utcnow(),
    )
    db.add(row)
    db.flush()
    try:
        with db.begin_nested():
            entry = catalog_service.get_entry(db, code=payload.entry_code)
            row.entry_name = entry.name
            created = exchange_service.apply(
                db,
                actor=peers.peer_principal(peer),
                data=ApplicationCreate(
                    entry_code=payload.entry_code,
                    fields=list(payload.fields),
                    purpose=payload.purpose,
                    period_end=payload.period_end,
                ),
            )
        row.exchange_application_id = created.id
    except AppError as exc:  # the exchange refuses it: answer so, rather than refusing the message
        _answer(db, peer, row, granted=False, reason=exc.message)
    db.flush()
    return f"{payload.entry_code} 跨级申请（{payload.applicant}）"


def _answer(
    db: Session, peer: Peer, row: CrossApplication, *, granted: bool, reason: str, expires: datetime | None = None
) -> None:
    row.status, row.reason, row.answered_at, row.grant_expires_at = (
        "granted" if granted else "refused",
        reason[:500],
        utcnow(),
        expires,
    )
    outbox.enqueue(
        db,
        peer=peer,
        kind="application.answer",
        payload=ApplicationAnswerPayload(
            reference=row.reference,
            status="granted" if granted else "refused",
            reason=reason[:500],
            grant_expires_at=expires,
        ),
    )


def follow_incoming(db: Session, *, data_dir: Path, pseudonym: Callable[[str, str], str]) -> int:
    """Send the answer (and the granted rows) of every received application its exchange flow decided."""
    sent = 0
    rows = db.execute(
        select(CrossApplication, Peer)
        .join(Peer, Peer.id == CrossApplication.peer_id)
        .where(
            CrossApplication.direction == "incoming",
            CrossApplication.status == "submitted",
            CrossApplication.exchange_application_id.is_not(None),
            Peer.status == "active",
        )
        .with_for_update(skip_locked=True, of=CrossApplication)  # another node follows the rest
    ).all()
    for row, peer in rows:
        actor = peers.peer_principal(peer)
        assert row.exchange_application_id is not None
        decided = exchange_service.get_application(db, actor=actor, application_id=row.exchange_application_id)
        if decided.status == "refused":
            _answer(db, peer, row, granted=False, reason=decided.refusal_reason)
        elif decided.status == "granted" and decided.grant_id is not None:
            grant = exchange_service.get_grant(db, actor=actor, grant_id=decided.grant_id)
            _answer(db, peer, row, granted=True, reason=decided.bureau_opinion, expires=grant.expires_at)
            _return_rows(db, peer, row, grant.id, actor, data_dir, pseudonym)
        else:
            continue
        sent += 1
    db.flush()
    return sent


def _return_rows(
    db: Session,
    peer: Peer,
    row: CrossApplication,
    grant_id: int,
    actor: Principal,
    data_dir: Path,
    pseudonym: Callable[[str, str], str],
) -> None:
    page, pages = 1, 1
    while page <= pages:
        result = exchange_service.serve_data(
            db,
            caller=actor,
            grant_id=grant_id,
            page=page,
            size=PAGE_ROWS,
            request_id=f"federation:{row.reference}:{page}",
            data_dir=data_dir,
            pseudonym=pseudonym,
        )
        document = json.loads(result.body)
        total = int(document["total"])
        pages = max(1, -(-total // PAGE_ROWS))
        outbox.enqueue(
            db,
            peer=peer,
            kind="application.data",
            payload=ApplicationDataPayload(
                reference=row.reference,
                page=page,
                pages=pages,
                total=total,
                fields=list(document["fields"]),
                rows=list(document["rows"]),
            ),
        )
        page += 1
    row.status, row.returned_at, row.rows_total = "returned", utcnow(), total


def _outgoing(db: Session, peer: Peer, reference: str) -> CrossApplication | None:
    return db.execute(
        select(CrossApplication).where(
            CrossApplication.peer_id == peer.id,
            CrossApplication.reference == reference,
            CrossApplication.direction == "outgoing",
        )
    ).scalar_one_or_none()


@route("application.answer", ApplicationAnswerPayload)
def receive_answer(db: Session, peer: Peer, payload: ApplicationAnswerPayload) -> str:
    row = _outgoing(db, peer, payload.reference)
    if row is None:
        return f"未知申请 {payload.reference}，忽略答复"
    if row.status == "submitted":
        row.status, row.reason = payload.status, payload.reason
        row.answered_at, row.grant_expires_at = utcnow(), payload.grant_expires_at
    db.flush()
    return f"{row.entry_code} 跨级申请{'获准' if payload.status == 'granted' else '被拒'}"


@route("application.data", ApplicationDataPayload)
def receive_rows(db: Session, peer: Peer, payload: ApplicationDataPayload) -> str:
    row = _outgoing(db, peer, payload.reference)
    if row is None:
        return f"未知申请 {payload.reference}，忽略数据"
    db.add(
        ReturnedPage(
            application_id=row.id,
            page=payload.page,
            fields=list(payload.fields),
            rows=json.dumps(payload.rows, ensure_ascii=False),
            row_count=len(payload.rows),
            received_at=utcnow(),
        )
    )
    db.flush()
    received = db.execute(select(ReturnedPage.page).where(ReturnedPage.application_id == row.id)).scalars().all()
    if len(set(received)) >= payload.pages:
        row.status, row.returned_at, row.rows_total = "returned", utcnow(), payload.total
    db.flush()
    return f"{row.entry_code} 回传数据第 {payload.page}/{payload.pages} 页（{len(payload.rows)} 行）"


# ---- reading ----------------------------------------------------------------------------------------------


def _visible(db: Session, actor: Principal, row: CrossApplication) -> None:
    if actor.can_reach_department(row.department_id) or catalog_service.is_bureau(db, actor):
        return
    raise NotFound("跨级申请不存在")


def list_applications(db: Session, *, actor: Principal, direction: str | None = None) -> list[CrossApplicationRead]:
    """Applications of the caller's departments (every one for the bureau), newest first."""
    check(actor, perm.READ)
    query = select(CrossApplication, Peer.name).join(Peer, Peer.id == CrossApplication.peer_id)
    if direction:
        query = query.where(CrossApplication.direction == direction)
    if not catalog_service.is_bureau(db, actor):
        query = query.where(CrossApplication.department_id.in_(list(actor.scope_department_ids)))
    rows = db.execute(query.order_by(CrossApplication.id.desc()).limit(500)).all()
    return [_read(row, name) for row, name in rows]


def get_application(db: Session, *, actor: Principal, application_id: int) -> CrossApplicationRead:
    check(actor, perm.READ)
    row = db.get(CrossApplication, application_id)
    if row is None:
        raise NotFound("跨级申请不存在")
    _visible(db, actor, row)
    return _read(row, peers.get_row(db, row.peer_id).name)


def returned_data(db: Session, *, actor: Principal, application_id: int) -> ReturnedData:
    """The rows the peer granted, for the applying department (the read is audited)."""
    check(actor, perm.APPLY)
    row = db.get(CrossApplication, application_id)
    if row is None or row.direction != "outgoing":
        raise NotFound("跨级申请不存在")
    if not actor.can_reach_department(row.department_id):
        raise PermissionDenied("只有申请部门可以读取回传数据", code="department_scope")
    if row.status != "returned":
        raise ValidationFailed("数据尚未回传", code="not_returned")
    if row.grant_expires_at is not None and row.grant_expires_at <= utcnow():
        raise PermissionDenied("授权已过期", code="grant_inactive")
    pages = db.execute(
        select(ReturnedPage).where(ReturnedPage.application_id == row.id).order_by(ReturnedPage.page)
    ).scalars()
    rows: list[dict[str, object]] = []
    fields: list[str] = []
    for page in pages:
        fields = list(page.fields)
        rows.extend(json.loads(page.rows))
    audit.record(
        db,
        actor=actor,
        action="federation.application.read_data",
        target_type="federation_application",
        target_id=row.reference,
        details={"rows": len(rows)},
    )
    return ReturnedData(
        reference=row.reference, entry_code=row.entry_code, fields=fields, total=row.rows_total, rows=rows
    )
