"""JSON API of 电子证照 and of the public transparency log (/api/transparency/*)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from yiwang.certs import logs, service, translog
from yiwang.certs import permissions as p
from yiwang.certs.schemas import (
    CertificateIssue,
    CertificateRead,
    CertificateRevoke,
    CertificateTypeCreate,
    CertificateTypeRead,
    CertificateUseRead,
    CheckpointRead,
    ConsistencyProofRead,
    EntriesRead,
    InclusionProofRead,
    IssuerKeyRead,
    LogEntry,
    VerificationResult,
)
from yiwang.core.db import DbSession
from yiwang.core.errors import NotFound
from yiwang.core.runtime import CertificateSigningDep
from yiwang.core.security import CurrentUser, Principal, public, require
from yiwang.org import service as org_service

router = APIRouter(prefix="/api/certs", tags=["电子证照 certs"])
log_router = APIRouter(prefix="/api/transparency", tags=["透明日志 transparency"])

MAX_INDEX = 2**40


@router.get("/types", response_model=list[CertificateTypeRead])
def list_types(db: DbSession, user: CurrentUser) -> list[CertificateTypeRead]:
    """Certificate types and their GB/T 36904 type codes."""
    return service.list_types(db)


@router.post("/types", response_model=CertificateTypeRead, status_code=201)
def create_type(
    data: CertificateTypeCreate, db: DbSession, user: Annotated[Principal, Depends(require(p.TYPE_WRITE))]
) -> CertificateTypeRead:
    return service.create_type(db, actor=user, data=data)


@router.get("/wallet", response_model=list[CertificateRead])
def my_wallet(db: DbSession, user: CurrentUser) -> list[CertificateRead]:
    """The caller's own certificates (证照夹)."""
    assert user.user_id is not None
    return service.wallet(db, holder_user_id=user.user_id)


@router.get("/uses", response_model=list[CertificateUseRead])
def my_uses(db: DbSession, user: CurrentUser) -> list[CertificateUseRead]:
    """Every use of the caller's certificates by a service (用证记录)."""
    assert user.user_id is not None
    return service.list_uses(db, holder_user_id=user.user_id)


@router.get("/keys", response_model=list[IssuerKeyRead])
@public
def issuer_keys(db: DbSession) -> list[IssuerKeyRead]:
    """Published seal keys of the issuing departments: algorithm (Ed25519 or SM2), version, key id,
    validity; retired keys stay until the last certificate they sealed expires."""
    return service.issuer_public_keys(db)


@router.post("/issue", response_model=CertificateRead, status_code=201)
def issue(
    data: CertificateIssue,
    db: DbSession,
    signing: CertificateSigningDep,
    user: Annotated[Principal, Depends(require(p.CERT_ISSUE))],
) -> CertificateRead:
    """Issue a certificate directly (outside an application) into the holder's wallet.

    Only staff of the department the type names as issuer (or with cross-department scope) may issue
    it, and it is always signed with that department's key."""
    holder = org_service.find_account(db, username=data.holder_username)
    if holder is None:
        raise NotFound("持证人账号不存在")
    return service.issue_certificate(
        db,
        actor=user,
        signing=signing,
        type_code=data.type_code,
        department_code=data.department_code,
        holder_user_id=holder.id,
        holder_name=holder.display_name,
        holder_code_masked=holder.credit_code,
        data=data.data,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        source="direct",
    )


@router.get("/{identifier}/verify", response_model=VerificationResult)
@public
def verify(identifier: str, db: DbSession, signing: CertificateSigningDep) -> VerificationResult:
    """Anyone: check signature, inclusion under the latest checkpoint, revocation and validity."""
    return service.verify(db, signing=signing, identifier=identifier)


@router.get("/{identifier}", response_model=CertificateRead)
def get_certificate(identifier: str, db: DbSession, user: CurrentUser) -> CertificateRead:
    return service.get_certificate(db, actor=user, identifier=identifier)


@router.post("/{identifier}/revoke", response_model=CertificateRead)
def revoke(
    identifier: str,
    data: CertificateRevoke,
    db: DbSession,
    signing: CertificateSigningDep,
    user: Annotated[Principal, Depends(require(p.CERT_REVOKE))],
) -> CertificateRead:
    return service.revoke_certificate(db, actor=user, signing=signing, identifier=identifier, reason=data.reason)


LogParam = Annotated[int | None, Query(ge=1, le=10_000, description="日志编号；省略为当前日志")]


@log_router.get("/checkpoint", response_model=CheckpointRead)
@public
def checkpoint(db: DbSession, signing: CertificateSigningDep, log: LogParam = None) -> CheckpointRead:
    """A log's latest signed tree head as a C2SP tlog-checkpoint signed note, with its algorithms
    (hash, signature, key id) and public key; the active log unless `log` names another."""
    return service.checkpoint(db, signing=signing, log_id=log)


@log_router.get("/logs", response_model=list[CheckpointRead])
@public
def all_logs(db: DbSession, signing: CertificateSigningDep) -> list[CheckpointRead]:
    """Every log of the installation, oldest first: a log frozen at a profile switch keeps its final
    checkpoint, which names its successor, and stays verifiable."""
    return service.transparency_logs(db, signing=signing)


@log_router.get("/entries", response_model=EntriesRead)
@public
def entries(
    db: DbSession,
    signing: CertificateSigningDep,
    start: Annotated[int, Query(ge=0, le=MAX_INDEX)] = 0,
    end: Annotated[int, Query(ge=0, le=MAX_INDEX, description="不含；每次最多1000条")] = 100,
    log: LogParam = None,
) -> EntriesRead:
    """Leaf inputs (base64) in index order, [start, end)."""
    rows = translog.entries(db, logs.get_log(db, signing, log).id, start=start, end=end)
    return EntriesRead(entries=[LogEntry(index=i, leaf_input=translog.b64(data)) for i, data in rows])


@log_router.get("/proof/inclusion", response_model=InclusionProofRead)
@public
def inclusion(
    db: DbSession,
    signing: CertificateSigningDep,
    index: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    tree_size: Annotated[int, Query(ge=1, le=MAX_INDEX)],
    log: LogParam = None,
) -> InclusionProofRead:
    """RFC 9162 §2.1.3 audit path, hex, leaf to root, with the log's hash."""
    path = translog.inclusion_proof(db, logs.get_log(db, signing, log), index=index, size=tree_size)
    return InclusionProofRead(index=index, tree_size=tree_size, audit_path=[h.hex() for h in path])


@log_router.get("/proof/consistency", response_model=ConsistencyProofRead)
@public
def consistency(
    db: DbSession,
    signing: CertificateSigningDep,
    first: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    second: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    log: LogParam = None,
) -> ConsistencyProofRead:
    """RFC 9162 §2.1.4 consistency proof, hex, with the log's hash."""
    proof = translog.consistency_proof(db, logs.get_log(db, signing, log), first=first, second=second)
    return ConsistencyProofRead(first=first, second=second, consistency=[h.hex() for h in proof])
