"""JSON API of the exchange: applications, answers, grants, the data API, usage."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from yiwang.core.db import DbSession
from yiwang.core.params import IdPath
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import CurrentUser, Principal, require
from yiwang.exchange import permissions as perm
from yiwang.exchange import service
from yiwang.exchange.schemas import (
    ApplicationCreate,
    ApplicationRead,
    CallRead,
    DataPage,
    Decision,
    GrantRead,
    GrantUsage,
    RevokeRequest,
    SharingFigures,
)

router = APIRouter(prefix="/api/exchange", tags=["共享交换 exchange"])
Applicant = Annotated[Principal, Depends(require(perm.APPLY))]
Reviewer = Annotated[Principal, Depends(require(perm.REVIEW))]
UsageReader = Annotated[Principal, Depends(require(perm.USAGE_READ))]


@router.post("/applications", response_model=ApplicationRead, status_code=201)
def apply(db: DbSession, user: Applicant, data: ApplicationCreate) -> ApplicationRead:
    """Apply for fields of an entry; 无条件共享 is granted at once, 有条件共享 goes to the provider."""
    return service.apply(db, actor=user, data=data)


@router.get("/applications", response_model=list[ApplicationRead])
def list_applications(db: DbSession, user: UsageReader, status: str | None = None) -> list[ApplicationRead]:
    return service.list_applications(db, actor=user, status=status)


@router.get("/applications/{application_id}", response_model=ApplicationRead)
def get_application(db: DbSession, user: UsageReader, application_id: IdPath) -> ApplicationRead:
    return service.get_application(db, actor=user, application_id=application_id)


@router.post("/applications/{application_id}/provider-decision", response_model=ApplicationRead)
def provider_decision(db: DbSession, user: Reviewer, application_id: IdPath, data: Decision) -> ApplicationRead:
    """The provider's answer, due within 10 working days; a refusal carries its reasons."""
    return service.provider_decide(db, actor=user, application_id=application_id, decision=data)


@router.post("/applications/{application_id}/bureau-decision", response_model=ApplicationRead)
def bureau_decision(db: DbSession, user: CurrentUser, application_id: IdPath, data: Decision) -> ApplicationRead:
    """The big-data bureau grants (with masking per field) or refuses."""
    return service.bureau_decide(db, actor=user, application_id=application_id, decision=data)


@router.get("/grants", response_model=list[GrantRead])
def list_grants(db: DbSession, user: UsageReader) -> list[GrantRead]:
    return service.list_grants(db, actor=user)


@router.post("/grants/{grant_id}/revoke", response_model=GrantRead)
def revoke(db: DbSession, user: Reviewer, grant_id: IdPath, data: RevokeRequest) -> GrantRead:
    return service.revoke_grant(db, actor=user, grant_id=grant_id, reason=data.reason)


@router.get("/grants/{grant_id}/calls", response_model=list[CallRead])
def list_calls(db: DbSession, user: UsageReader, grant_id: IdPath) -> list[CallRead]:
    return service.list_calls(db, actor=user, grant_id=grant_id)


@router.get("/usage", response_model=list[GrantUsage])
def usage(db: DbSession, user: UsageReader) -> list[GrantUsage]:
    """Calls, rows and refusals per grant the caller may see."""
    return service.usage(db, actor=user)


@router.get("/figures")
def figures(db: DbSession, user: UsageReader) -> SharingFigures:
    return service.sharing_figures(db)


@router.get(
    "/data/{grant_id}",
    response_class=Response,
    responses={
        200: {"model": DataPage, "description": "头 X-Request-ID 与 X-Content-Digest（响应体摘要：SHA-256=… 或 SM3=…）"}
    },
)
def read_data(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    user: CurrentUser,
    grant_id: IdPath,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    size: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = 100,
) -> Response:
    """The data API: the consumer's system client reads the granted fields, masked as granted, paginated.

    Needs `exchange.data.read` (held by the account and kept by the token's scope) and an account of
    the grant's consumer department.

    Each response carries X-Request-ID and X-Content-SHA256 so the consumer can prove what it got;
    every call is logged (caller, grant, query, rows, duration).
    """
    result = service.serve_data(
        db,
        caller=user,
        grant_id=grant_id,
        page=page,
        size=size,
        request_id=getattr(request.state, "request_id", ""),
        data_dir=settings.data_dir,
        pseudonym=lambda value, namespace: cipher.pseudonym(value, namespace=namespace),
    )
    return Response(
        result.body,
        media_type="application/json",
        headers={"X-Content-Digest": f"{result.digest_algorithm}={result.digest}", "X-Row-Count": str(result.rows)},
    )
