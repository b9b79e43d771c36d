"""JSON API of live services (服务共享): registration, applications, the mediated call `/x/{service}/…`,
the message log, evidence and the platform's published message keys."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from yiwang.core.db import DbSession, ReadDbSession
from yiwang.core.downloads import attachment
from yiwang.core.pagination import Page, PageParams, page_params
from yiwang.core.security import Principal, authenticates, public, require
from yiwang.exchange import evidence, live_services, mediation
from yiwang.exchange import permissions as perm
from yiwang.exchange.schemas import (
    SERVICE_CODE_PATTERN,
    ApplicationRead,
    MessageKeyRead,
    MessageRead,
    ServiceApplicationCreate,
    ServiceCreate,
    ServiceRead,
)

router = APIRouter(tags=["服务共享 live services"])
call_router = APIRouter(tags=["服务共享 live services"])  # `/x/…`, matched before all other routes
Registrar = Annotated[Principal, Depends(require(perm.SERVICE_REGISTER))]
Applicant = Annotated[Principal, Depends(require(perm.APPLY))]
UsageReader = Annotated[Principal, Depends(require(perm.USAGE_READ))]
Paging = Annotated[PageParams, Depends(page_params)]
GatewayDep = Annotated[mediation.Gateway, Depends(mediation.gateway_of)]
ServiceCode = Annotated[str, Path(pattern=SERVICE_CODE_PATTERN, description="服务编码")]
Call = Annotated[str, Path(pattern=r"^[0-9a-f]{24}$", description="调用编号（响应头 X-Yiwang-Call）")]


@router.post("/api/exchange/services", response_model=ServiceRead, status_code=201)
def register(db: DbSession, user: Registrar, data: ServiceCreate) -> ServiceRead:
    """A provider department registers a service it runs (operations from OpenAPI or a list)."""
    return live_services.register_service(db, actor=user, data=data)


@router.get("/api/exchange/services", response_model=Page[ServiceRead])
def list_services(db: ReadDbSession, user: UsageReader, paging: Paging, mine: bool = False) -> Page[ServiceRead]:
    return live_services.list_services(db, offset=paging.offset, limit=paging.size, mine=user if mine else None)


@router.get("/api/exchange/services/{code}", response_model=ServiceRead)
def get_service(db: ReadDbSession, user: UsageReader, code: ServiceCode) -> ServiceRead:
    return live_services.get_service(db, code=code)


@router.post("/api/exchange/service-applications", response_model=ApplicationRead, status_code=201)
def apply(db: DbSession, user: Applicant, data: ServiceApplicationCreate) -> ApplicationRead:
    """Apply for operations of a service: the provider answers, then the big-data bureau decides."""
    return live_services.apply_for_service(db, actor=user, data=data)


@router.get("/api/exchange/messages", response_model=Page[MessageRead])
def list_messages(
    db: ReadDbSession,
    user: UsageReader,
    paging: Paging,
    side: Annotated[
        Literal["consumer", "provider"], Query(description="consumer：本部门发起的；provider：本部门提供的")
    ] = "consumer",
    service: Annotated[str | None, Query(pattern=SERVICE_CODE_PATTERN)] = None,
) -> Page[MessageRead]:
    """The calls of the caller's departments, as consumer or as provider, newest first."""
    return evidence.list_messages(
        db, actor=user, side=side, service_code=service, offset=paging.offset, limit=paging.size
    )


@router.get("/api/exchange/messages/{call}", response_model=MessageRead)
def get_message(db: ReadDbSession, user: UsageReader, call: Call) -> MessageRead:
    return evidence.get_message(db, actor=user, call_id=call)


@router.get(
    "/api/exchange/messages/{call}/evidence",
    response_class=Response,
    responses={200: {"description": "签名的调用存证（JSON）", "content": {"application/json": {}}}},
)
def get_evidence(request: Request, db: DbSession, user: UsageReader, gw: GatewayDep, call: Call) -> Response:
    """Signed evidence of one call, with its link of the message log and a signed head (consumer or
    provider department only)."""
    body = evidence.evidence(db, actor=user, call_id=call, keys=gw.keys, issuer=gw.settings.public_url)
    return attachment(body, filename=f"evidence-{call}.json", media_type="application/json")


@router.get("/api/exchange/message-keys", response_model=list[MessageKeyRead])
@public
def message_keys(gw: GatewayDep) -> list[MessageKeyRead]:
    """The platform's message-signing keys (every version), so a provider can verify what it receives."""
    return [MessageKeyRead(**vars(key)) for key in gw.keys.published()]


@authenticates
async def mediated_caller(request: Request, gw: GatewayDep) -> mediation.MediatedCaller:
    """The authenticated caller (`get_current_user`, as every route), resolved in one worker-thread hop
    whose short transaction ends before the call goes on: a mediated call may last minutes and must
    not hold a database connection meanwhile. The permission is checked at admission, so that a
    refused call is logged like any other. The service code is read unvalidated (it only picks the
    quota figures to load), so an anonymous caller is told 401 before anything about the path."""
    return await gw.caller(request, str(request.path_params.get("service", "")))


@call_router.api_route(
    "/x/{service}/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    response_class=Response,
    responses={
        200: {"description": "服务提供方的响应，带 RFC 9421 签名（Signature-Input、Signature）与 Content-Digest"},
        403: {"description": "no_grant / grant_inactive / operation_not_granted / permission_denied"},
        429: {"description": "rate_limited / quota_exhausted（带 Retry-After）"},
        502: {"description": "provider_unreachable"},
        503: {"description": "circuit_open（带 Retry-After）"},
        504: {"description": "provider_timeout"},
    },
)
async def call_service(
    request: Request,
    service: ServiceCode,
    path: str,
    caller: Annotated[mediation.MediatedCaller, Depends(mediated_caller)],
    gw: GatewayDep,
) -> Response:
    """Call an operation of a live service through the platform with the consumer's token: the grant
    is checked, the request signed and forwarded, the answer signed and returned, the call logged."""
    return await mediation.forward(gw, request, caller=caller, service_code=service, path=path)
