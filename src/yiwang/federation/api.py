"""JSON API of the federation: this installation's identity, the message endpoint peers post to,
peers, the peers' catalogs, cross-level applications and their returned data, data objections."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from yiwang.catalog import permissions as catalog_perm
from yiwang.core.db import DbSession
from yiwang.core.params import IdPath
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal, public, require
from yiwang.federation import permissions as perm
from yiwang.federation import service
from yiwang.federation.schemas import (
    CatalogSyncRead,
    CrossApplicationCreate,
    CrossApplicationRead,
    Identity,
    MessageRead,
    ObjectionAnswer,
    ObjectionCreate,
    ObjectionRead,
    PeerCreate,
    PeerRead,
    Receipt,
    RemoteEntryRead,
    ReportCreate,
    ReturnedData,
)
from yiwang.federation.transport import fetch_identity, own_identity, own_keys

router = APIRouter(prefix="/api/federation", tags=["向上对接 federation"])
Manager = Annotated[Principal, Depends(require(perm.PEER_MANAGE))]
Reader = Annotated[Principal, Depends(require(perm.READ))]
Applicant = Annotated[Principal, Depends(require(perm.APPLY))]
Handler = Annotated[Principal, Depends(require(perm.OBJECTION_HANDLE))]
CatalogReader = Annotated[Principal, Depends(require(catalog_perm.ENTRY_READ))]


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


@router.get("/identity", response_model=Identity)
@public
def identity(runtime: RuntimeDep) -> Identity:
    """This installation's name, address and public key, with the fingerprint to check out of band."""
    return own_identity(runtime)


@router.post("/messages", response_model=Receipt)
@public
def receive_message(
    request: Request, db: DbSession, runtime: RuntimeDep, body: Annotated[bytes, Depends(_raw_body)]
) -> Receipt:
    """A peer's signed message (RFC 9421 signature over method, path, content type and Content-Digest).

    Public because the signature, not a login, authenticates it: refused unless signed by the key pinned
    for an active peer within the replay window, addressed here, and never received before (409)."""
    return service.receive(
        db,
        headers=dict(request.headers),
        body=body,
        own_key_ids=own_keys(runtime).key_ids,
        window=timedelta(seconds=runtime.settings.federation_replay_window_seconds),
    )


@router.get("/peers", response_model=list[PeerRead])
def list_peers(db: DbSession, user: Reader) -> list[PeerRead]:
    return service.list_peers(db)


@router.post("/peers", response_model=PeerRead, status_code=201)
def add_peer(db: DbSession, runtime: RuntimeDep, user: Manager, data: PeerCreate) -> PeerRead:
    """Fetch the peer's identity and pin its key if the fingerprint given matches it."""
    found = fetch_identity(str(data.url), timeout=runtime.settings.federation_timeout_seconds)
    return service.add_peer(db, actor=user, identity=found, data=data, own=own_keys(runtime))


@router.get("/peers/{peer_id}", response_model=PeerRead)
def get_peer(db: DbSession, user: Reader, peer_id: IdPath) -> PeerRead:
    return service.get_peer(db, peer_id=peer_id)


@router.delete("/peers/{peer_id}", response_model=PeerRead)
def remove_peer(db: DbSession, user: Manager, peer_id: IdPath) -> PeerRead:
    """Stop trusting the peer: its messages are refused, and messages waiting for it are cancelled."""
    return service.remove_peer(db, actor=user, peer_id=peer_id)


@router.post("/peers/{peer_id}/reports", status_code=202)
def send_report(db: DbSession, user: Manager, peer_id: IdPath, data: ReportCreate) -> dict[str, str]:
    return {"message_id": service.send_report(db, actor=user, peer_id=peer_id, data=data)}


@router.get("/messages", response_model=list[MessageRead])
def messages(db: DbSession, user: Reader, peer_id: Annotated[int | None, Query(ge=1)] = None) -> list[MessageRead]:
    return service.message_history(db, peer_id=peer_id)


@router.get("/catalog", response_model=list[RemoteEntryRead])
def remote_catalog(
    db: DbSession,
    user: CatalogReader,
    q: Annotated[str, Query(max_length=100)] = "",
    role: Annotated[str | None, Query(pattern="^(upper|lower|sibling)$")] = None,
) -> list[RemoteEntryRead]:
    """Peers' catalogs (上级目录 …), searched by every word of q."""
    return service.search_remote(db, q=q, role=role)


@router.get("/sync", response_model=list[CatalogSyncRead])
def sync_history(db: DbSession, user: Reader) -> list[CatalogSyncRead]:
    return service.sync_history(db)


@router.post("/applications", response_model=CrossApplicationRead, status_code=201)
def apply(db: DbSession, user: Applicant, data: CrossApplicationCreate) -> CrossApplicationRead:
    return service.apply(db, actor=user, data=data)


@router.get("/applications", response_model=list[CrossApplicationRead])
def list_applications(db: DbSession, user: Reader) -> list[CrossApplicationRead]:
    return service.list_applications(db, actor=user)


@router.get("/applications/{application_id}", response_model=CrossApplicationRead)
def get_application(db: DbSession, user: Reader, application_id: IdPath) -> CrossApplicationRead:
    return service.get_application(db, actor=user, application_id=application_id)


@router.get("/applications/{application_id}/data", response_model=ReturnedData)
def returned_data(db: DbSession, user: Applicant, application_id: IdPath) -> ReturnedData:
    """The rows the peer granted, masked as it granted them, for the applying department."""
    return service.returned_data(db, actor=user, application_id=application_id)


@router.post("/objections", response_model=ObjectionRead, status_code=201)
def raise_objection(db: DbSession, user: Manager, data: ObjectionCreate) -> ObjectionRead:
    return service.raise_objection(db, actor=user, data=data)


@router.get("/objections", response_model=list[ObjectionRead])
def list_objections(db: DbSession, user: Reader) -> list[ObjectionRead]:
    return service.list_objections(db, actor=user)


@router.post("/objections/{objection_id}/answer", response_model=ObjectionRead)
def answer_objection(db: DbSession, user: Handler, objection_id: IdPath, data: ObjectionAnswer) -> ObjectionRead:
    return service.answer_objection(db, actor=user, objection_id=objection_id, data=data)
