"""目录同步: the published catalog goes to every peer as DCAT (new, changed, retired entries), and a
peer's catalog is kept beside the city's own, searchable, marked as 上级目录 (or 下级/同级).

The job compares each published entry's version with what was last queued to each peer and queues
only the difference, in one transaction per peer; the delivery job marks each change acknowledged
when the peer has accepted it.
"""

import json
from datetime import datetime

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yiwang.catalog import service as catalog_service
from yiwang.catalog.schemas import EntryRead
from yiwang.core.timeutil import utcnow
from yiwang.federation import outbox
from yiwang.federation.inbox import route
from yiwang.federation.models import CatalogSync, Peer, RemoteEntry
from yiwang.federation.schemas import (
    CATALOG_LABELS,
    CatalogEntryPayload,
    CatalogRetirePayload,
    CatalogSyncRead,
    ItemBrief,
    RemoteEntryRead,
)

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
CONTEXT = {"dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "vcard": str(VCARD)}
FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
CYCLES = {"实时": "CONT", "每日": "DAILY", "每周": "WEEKLY", "每月": "MONTHLY", "每季度": "QUARTERLY", "每年": "ANNUAL"}


def dcat_of(entry: EntryRead, base: str) -> dict[str, object]:
    """The entry as a DCAT dataset in JSON-LD (dct:accessRights carries its sharing type)."""
    graph = Graph()
    node = URIRef(f"{base}/catalog/entries/{entry.code}")
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(entry.code)))
    graph.add((node, DCTERMS.title, Literal(entry.name, lang="zh")))
    graph.add((node, DCTERMS.description, Literal(entry.summary or entry.name, lang="zh")))
    publisher = URIRef(f"{base}/org/departments/{entry.department_code}")
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal(entry.department_name, lang="zh")))
    graph.add((node, DCTERMS.publisher, publisher))
    graph.add((node, DCTERMS.accessRights, Literal(entry.sharing_type, lang="zh")))
    graph.add((node, DCTERMS.accrualPeriodicity, FREQUENCY[CYCLES.get(entry.update_cycle, "UNKNOWN")]))
    graph.add((node, DCAT.theme, Literal(entry.subject or entry.category, lang="zh")))
    if entry.published_at:
        graph.add((node, DCTERMS.modified, Literal(entry.published_at.isoformat())))
    for tag in entry.tags:
        graph.add((node, DCAT.keyword, Literal(tag, lang="zh")))
    contact = BNode()
    graph.add((node, DCAT.contactPoint, contact))
    graph.add((contact, RDF.type, VCARD.Organization))
    graph.add((contact, VCARD.fn, Literal(entry.department_name, lang="zh")))
    document: dict[str, object] = json.loads(graph.serialize(format="json-ld", context=CONTEXT, auto_compact=True))
    return document


def _payload(entry: EntryRead, change: str, base: str) -> CatalogEntryPayload:
    return CatalogEntryPayload(
        code=entry.code,
        name=entry.name,
        version=entry.version,
        change="new" if change == "new" else "changed",
        department_name=entry.department_name,
        summary=entry.summary,
        sharing_type=entry.sharing_type,
        items=[ItemBrief(name=i.name, label=i.label) for i in entry.items],
        dcat=dcat_of(entry, base),
    )


def queue_changes(db: Session, *, base: str) -> int:
    """Queue to every active peer the entries published, changed or retired since it was last told."""
    # The peers' rows are locked: two nodes running the job at once queue each change once.
    peers = list(db.execute(select(Peer).where(Peer.status == "active").order_by(Peer.id).with_for_update()).scalars())
    if not peers:
        return 0
    versions = {e.code: e for e in catalog_service.list_entries(db, status="published")}
    queued = 0
    for peer in peers:
        sent = {s.code: s for s in db.execute(select(CatalogSync).where(CatalogSync.peer_id == peer.id)).scalars()}
        for code, entry in versions.items():
            previous = sent.get(code)
            digest = f"v{entry.version}"
            if previous is not None and previous.digest == digest:
                continue
            change = "new" if previous is None or previous.digest == "" else "changed"
            message_id = outbox.enqueue(db, peer=peer, kind="catalog.entry", payload=_payload(entry, change, base))
            _remember(db, previous, peer.id, code, digest, change, message_id)
            queued += 1
        for code, previous in sent.items():
            if previous.digest and code not in versions:
                message_id = outbox.enqueue(
                    db, peer=peer, kind="catalog.retire", payload=CatalogRetirePayload(code=code)
                )
                _remember(db, previous, peer.id, code, "", "retired", message_id)
                queued += 1
    db.flush()
    return queued


def _remember(
    db: Session, row: CatalogSync | None, peer_id: int, code: str, digest: str, change: str, message_id: str
) -> None:
    if row is None:
        row = CatalogSync(peer_id=peer_id, code=code)
        db.add(row)
    row.digest, row.change, row.message_id, row.queued_at, row.acknowledged_at = (
        digest,
        change,
        message_id,
        utcnow(),
        None,
    )


# ---- receiving a peer's catalog --------------------------------------------------------------------------


def _search_text(payload: CatalogEntryPayload) -> str:
    words = [payload.code, payload.name, payload.department_name, payload.summary, payload.sharing_type]
    words += [f"{i.name} {i.label}" for i in payload.items]
    return " ".join(words).lower()


@route("catalog.entry", CatalogEntryPayload)
def receive_entry(db: Session, peer: Peer, payload: CatalogEntryPayload) -> str:
    row = db.execute(
        select(RemoteEntry).where(RemoteEntry.peer_id == peer.id, RemoteEntry.code == payload.code)
    ).scalar_one_or_none()
    if row is not None and row.version > payload.version and row.status == "published":
        return f"{payload.code} v{payload.version} 旧于已有 v{row.version}，忽略"
    if row is None:
        row = RemoteEntry(peer_id=peer.id, code=payload.code)
        db.add(row)
    row.name, row.department_name, row.summary = payload.name, payload.department_name, payload.summary
    row.sharing_type, row.items, row.dcat = payload.sharing_type, [i.model_dump() for i in payload.items], payload.dcat
    row.search_text, row.version, row.status, row.updated_at = (
        _search_text(payload),
        payload.version,
        "published",
        utcnow(),
    )
    db.flush()
    return f"{payload.code} {payload.name}（{'新增' if payload.change == 'new' else '变更'}，v{payload.version}）"


@route("catalog.retire", CatalogRetirePayload)
def receive_retirement(db: Session, peer: Peer, payload: CatalogRetirePayload) -> str:
    row = db.execute(
        select(RemoteEntry).where(RemoteEntry.peer_id == peer.id, RemoteEntry.code == payload.code)
    ).scalar_one_or_none()
    if row is None:
        return f"{payload.code} 未同步过，忽略撤销"
    row.status, row.updated_at = "retired", utcnow()
    db.flush()
    return f"{payload.code} {row.name}（撤销）"


# ---- reading ----------------------------------------------------------------------------------------------


def _remote_read(row: RemoteEntry, peer: Peer) -> RemoteEntryRead:
    return RemoteEntryRead(
        peer_id=peer.id,
        peer_name=peer.name,
        label=CATALOG_LABELS.get(peer.role, "对接目录"),
        code=row.code,
        name=row.name,
        department_name=row.department_name,
        summary=row.summary,
        sharing_type=row.sharing_type,
        items=[ItemBrief.model_validate(i) for i in row.items],
        status=row.status,
        version=row.version,
        updated_at=row.updated_at,
    )


def search_remote(
    db: Session, *, q: str = "", role: str | None = None, include_retired: bool = False, limit: int = 200
) -> list[RemoteEntryRead]:
    """Peers' entries matching every word of q (code, name, department, summary, items)."""
    query = select(RemoteEntry, Peer).join(Peer, Peer.id == RemoteEntry.peer_id).where(Peer.status == "active")
    if role:
        query = query.where(Peer.role == role)
    if not include_retired:
        query = query.where(RemoteEntry.status == "published")
    for word in q.lower().split()[:8]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(RemoteEntry.search_text.like(f"%{escaped}%", escape="\\"))
    rows = db.execute(query.order_by(RemoteEntry.code).limit(limit)).all()
    return [_remote_read(entry, peer) for entry, peer in rows]


def remote_entry(db: Session, *, peer_id: int, code: str) -> RemoteEntryRead | None:
    found = db.execute(
        select(RemoteEntry, Peer)
        .join(Peer, Peer.id == RemoteEntry.peer_id)
        .where(RemoteEntry.peer_id == peer_id, RemoteEntry.code == code)
    ).first()
    return None if found is None else _remote_read(found[0], found[1])


def sync_history(db: Session, *, limit: int = 300, pending_only: bool = False) -> list[CatalogSyncRead]:
    query = select(CatalogSync, Peer.name).join(Peer, Peer.id == CatalogSync.peer_id)
    if pending_only:
        query = query.where(or_(CatalogSync.acknowledged_at.is_(None)))
    rows = db.execute(query.order_by(CatalogSync.queued_at.desc(), CatalogSync.id.desc()).limit(limit)).all()
    return [
        CatalogSyncRead(
            peer_id=s.peer_id,
            peer_name=name,
            code=s.code,
            change=s.change,
            queued_at=s.queued_at,
            acknowledged_at=s.acknowledged_at,
        )
        for s, name in rows
    ]


def synced_share(db: Session, *, peer_id: int, published: dict[str, int]) -> tuple[int, int]:
    """(entries whose current version the peer acknowledged, published entries)."""
    acknowledged = {
        s.code
        for s in db.execute(
            select(CatalogSync).where(CatalogSync.peer_id == peer_id, CatalogSync.acknowledged_at.is_not(None))
        ).scalars()
        if published.get(s.code) is not None and s.digest == f"v{published[s.code]}"
    }
    return len(acknowledged), len(published)


def last_sync_at(db: Session, *, peer_id: int) -> datetime | None:
    return db.execute(
        select(CatalogSync.acknowledged_at)
        .where(CatalogSync.peer_id == peer_id)
        .order_by(CatalogSync.acknowledged_at.desc())
        .limit(1)
    ).scalar()
