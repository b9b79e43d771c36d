"""What other domains read of the federation: the cascade figures behind indicators 17–20, and the
message history the pages show."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.catalog import service as catalog_service
from yiwang.core.timeutil import local_today
from yiwang.federation.catalog_sync import synced_share
from yiwang.federation.models import CrossApplication, IncomingMessage, OutgoingMessage, Peer
from yiwang.federation.schemas import KIND_NAMES, PLATFORM_INDICATORS, CascadeFigures, CascadeItem, MessageRead


def _exchanged(db: Session, peer_id: int, kind: str) -> tuple[int, int]:
    """(messages of kind delivered to the peer and acknowledged, messages of kind accepted from it)."""
    sent = db.execute(
        select(OutgoingMessage.id).where(
            OutgoingMessage.peer_id == peer_id, OutgoingMessage.kind == kind, OutgoingMessage.status == "delivered"
        )
    ).all()
    received = db.execute(
        select(IncomingMessage.id).where(IncomingMessage.peer_id == peer_id, IncomingMessage.kind == kind)
    ).all()
    return len(sent), len(received)


def _applications_on_time(db: Session, peer_id: int) -> tuple[int, int]:
    """(applications with this peer answered by their due day, applications answered or past due)."""
    today = local_today()
    rows = db.execute(select(CrossApplication).where(CrossApplication.peer_id == peer_id)).scalars()
    on_time = due = 0
    for row in rows:
        if row.answered_at is not None:
            due += 1
            on_time += row.answered_at.date() <= row.due_on
        elif row.due_on < today:
            due += 1
    return on_time, due


def _item(db: Session, peer: Peer, kind: str, published: dict[str, int]) -> CascadeItem:
    name = KIND_NAMES.get(kind.split(":")[0], kind)
    if kind == "catalog.entry":
        synced, total = synced_share(db, peer_id=peer.id, published=published)
        done = synced / total if total else 0.0
        return CascadeItem(
            peer_name=peer.name, kind=kind, done=round(done, 4), detail=f"{name}：已确认 {synced}/{total} 条"
        )
    if kind == "application.answer":
        on_time, due = _applications_on_time(db, peer.id)
        if due:
            return CascadeItem(
                peer_name=peer.name, kind=kind, done=round(on_time / due, 4), detail=f"{name}：按时 {on_time}/{due} 件"
            )
    sent, received = _exchanged(db, peer.id, kind)
    done = 1.0 if sent or received else 0.0
    detail = f"{name}：已送达 {sent} 条，已接收 {received} 条" if done else f"{name}：尚无送达或接收"
    return CascadeItem(peer_name=peer.name, kind=kind, done=done, detail=detail)


def cascade_figures(db: Session, *, indicator_no: int) -> CascadeFigures:
    """For one of indicators 17–20, every (upper-level peer, required message kind) item and how far it
    is done: a kind counts when a message of it was delivered and acknowledged or received; catalog
    sync counts the share of published entries whose current version the peer acknowledged; answers
    count the share of cross-level applications answered within their 10 working days."""
    platforms = [p for p, no in PLATFORM_INDICATORS.items() if no == indicator_no]
    peers = list(
        db.execute(
            select(Peer)
            .where(Peer.status == "active", Peer.role == "upper", Peer.platform.in_(platforms))
            .order_by(Peer.id)
        ).scalars()
    )
    published = {e.code: e.version for e in catalog_service.list_entries(db, status="published")} if peers else {}
    items = [_item(db, peer, kind, published) for peer in peers for kind in peer.required_kinds]
    return CascadeFigures(indicator_no=indicator_no, peers=len(peers), items=items)


def message_history(db: Session, *, peer_id: int | None = None, limit: int = 200) -> list[MessageRead]:
    """Sent and received messages, newest first."""
    names = dict(db.execute(select(Peer.id, Peer.name)).all())
    sent_query = select(OutgoingMessage).order_by(OutgoingMessage.id.desc()).limit(limit)
    received_query = select(IncomingMessage).order_by(IncomingMessage.id.desc()).limit(limit)
    if peer_id is not None:
        sent_query = sent_query.where(OutgoingMessage.peer_id == peer_id)
        received_query = received_query.where(IncomingMessage.peer_id == peer_id)
    found = [
        MessageRead(
            direction="sent",
            message_id=m.message_id,
            peer_id=m.peer_id,
            peer_name=names.get(m.peer_id, ""),
            kind=m.kind,
            status=m.status,
            attempts=m.attempts,
            last_error=m.last_error,
            created_at=m.created_at,
            delivered_at=m.delivered_at,
        )
        for m in db.execute(sent_query).scalars()
    ] + [
        MessageRead(
            direction="received",
            message_id=m.message_id,
            peer_id=m.peer_id,
            peer_name=names.get(m.peer_id, ""),
            kind=m.kind,
            status="accepted",
            summary=m.summary,
            created_at=m.sent_at,
            delivered_at=m.received_at,
        )
        for m in db.execute(received_query).scalars()
    ]
    return sorted(found, key=lambda m: m.delivered_at or m.created_at, reverse=True)[:limit]
