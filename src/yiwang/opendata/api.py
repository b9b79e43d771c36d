"""Open data APIs: the keyed open API (rate-limited per key), the CKAN Action API subset, and DCAT."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from yiwang.core.db import DbSession, ReadDbSession
from yiwang.core.jsonbody import MalformedJson, parse_json_body
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import Principal, public, require
from yiwang.opendata import ckan, dcat, dcat_cache, service
from yiwang.opendata import permissions as perm
from yiwang.opendata.schemas import (
    DatasetRead,
    DatasetSearch,
    KeyLimit,
    OpenApplicationCreate,
    OpenApplicationRead,
    OpenDecision,
    PortalFigures,
)

RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
router = APIRouter(prefix="/api/opendata", tags=["数据开放 opendata"])
ckan_router = APIRouter(tags=["CKAN Action API v3"])
dcat_router = APIRouter(tags=["DCAT"])


def rate_limited(db: DbSession, user: Annotated[Principal, Depends(require(perm.API_USE))]) -> Principal:
    """Every open API call spends a token of the caller's key; 429 with Retry-After when none is left."""
    service.take_token(db, principal=user)
    return user


OpenApiUser = Annotated[Principal, Depends(rate_limited)]


@router.get("/datasets", response_model=DatasetSearch)
def search(
    db: DbSession,
    user: OpenApiUser,
    q: Annotated[str, Query(max_length=100)] = "",
    department: str | None = None,
    open_type: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DatasetSearch:
    """Search open datasets (API key: X-API-Key; limited per key)."""
    return service.search(db, q=q, department=department, open_type=open_type, offset=offset, limit=limit)


@router.get("/datasets/{code}", response_model=DatasetRead)
def get_dataset(db: DbSession, user: OpenApiUser, code: str) -> DatasetRead:
    return service.get_dataset(db, code=code)


@router.get("/datasets/{code}/rows")
def rows(
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    user: OpenApiUser,
    code: str,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Rows of the de-identified open view; 有条件开放 needs an approved application."""
    return service.rows_page(
        db,
        actor=user,
        code=code,
        data_dir=settings.data_dir,
        pseudonym=lambda v, ns: cipher.pseudonym(v, namespace=ns),
        offset=offset,
        limit=limit,
    )


@router.post("/datasets/{code}/applications", response_model=OpenApplicationRead, status_code=201)
def apply(
    db: DbSession, user: Annotated[Principal, Depends(require(perm.API_USE))], code: str, data: OpenApplicationCreate
) -> OpenApplicationRead:
    """Apply to use a 有条件开放 dataset."""
    return service.apply_for(db, actor=user, code=code, purpose=data.purpose)


@router.get("/applications", response_model=list[OpenApplicationRead])
def list_applications(
    db: DbSession, user: Annotated[Principal, Depends(require(perm.APPLICATION_REVIEW))], status: str | None = "pending"
) -> list[OpenApplicationRead]:
    return service.list_applications(db, actor=user, status=status)


@router.post("/applications/{application_id}/decision", response_model=OpenApplicationRead)
def decide(
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.APPLICATION_REVIEW))],
    application_id: RowId,
    data: OpenDecision,
) -> OpenApplicationRead:
    return service.decide(db, actor=user, application_id=application_id, decision=data)


@router.post("/datasets/{code}/publish", response_model=DatasetRead, status_code=201)
def publish(db: DbSession, user: Annotated[Principal, Depends(require(perm.DATASET_WRITE))], code: str) -> DatasetRead:
    """Open a published catalog entry (its open type must allow it)."""
    return service.publish_dataset(db, actor=user, entry_code=code)


@router.get("/quota")
def quota(db: DbSession, user: Annotated[Principal, Depends(require(perm.API_USE))]) -> dict[str, Any]:
    """The caller's rate-limit bucket (key, limit per minute, requests left); free of charge."""
    return service.quota(db, principal=user)


@router.put("/limits/{key}", status_code=204)
def set_limit(
    db: DbSession, user: Annotated[Principal, Depends(require(perm.LIMIT_WRITE))], key: str, data: KeyLimit
) -> Response:
    """Set the per-minute limit of a key's bucket (key: credential:<id> or user:<id>)."""
    service.set_limit(db, actor=user, key=key, per_minute=data.per_minute)
    return Response(status_code=204)


@router.get("/figures")
def figures(db: DbSession, user: Annotated[Principal, Depends(require(perm.API_USE))]) -> PortalFigures:
    """Open datasets, fresh share (indicator 13) and department coverage (indicator 12)."""
    return service.portal_figures(db)


# ---- CKAN Action API ---------------------------------------------------------------------------


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@dataclass(frozen=True)
class CkanCall:
    """An action's parameters (query string and POST body), or why the body could not be read."""

    params: dict[str, Any]
    error: ckan.CkanError | None = None


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_ckan_call(request: Request) -> CkanCall:
    """The parameters, read on the event loop; the action itself runs in the thread pool."""
    params: dict[str, Any] = dict(request.query_params)
    if "facet.field" in request.query_params:
        params["facet.field"] = request.query_params.get("facet.field")
    if request.method != "POST":
        return CkanCall(params)
    raw = await request.body()
    if not raw.strip():
        return CkanCall(params)
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        form = await request.form()
        return CkanCall(params | {k: v for k, v in form.items() if isinstance(v, str)})
    try:
        body = await parse_json_body(raw, expect=dict)
    except MalformedJson as exc:
        return CkanCall(params, ckan.CkanError("Validation Error", exc.message, 400))
    return CkanCall(params | body)


CkanCallDep = Annotated[CkanCall, Depends(read_ckan_call)]


def _ckan(request: Request, db: Session, action: str, call: CkanCall) -> JSONResponse:
    if call.error is not None:
        return _ckan_error(request, action, call.error)
    help_url = f"{_base(request)}/api/3/action/help_show?name={action}"
    settings = request.app.state.settings
    try:
        result = ckan.run_action(db, action, call.params, _base(request), settings.site_name, settings.public_url)
    except ckan.CkanError as exc:
        return _ckan_error(request, action, exc)
    return JSONResponse({"help": help_url, "success": True, "result": result})


def _ckan_error(request: Request, action: str, exc: "ckan.CkanError") -> JSONResponse:
    return JSONResponse(
        {
            "help": f"{_base(request)}/api/3/action/help_show?name={action}",
            "success": False,
            "error": {"__type": exc.kind, "message": exc.message},
        },
        status_code=exc.status,
    )


@ckan_router.get("/api/3/action/{action}", operation_id="ckan_action_get")
@ckan_router.post("/api/3/action/{action}", operation_id="ckan_action_post")
@public
def ckan_action(request: Request, db: ReadDbSession, action: str, call: CkanCallDep) -> JSONResponse:
    """CKAN Action API v3 (read-only subset): status_show, package_list, package_search, package_show,
    organization_list, organization_show, group_list, tag_list, resource_show."""
    return _ckan(request, db, action, call)


@ckan_router.api_route("/api/action/{action}", methods=["GET", "POST"], include_in_schema=False)
@public
def ckan_action_unversioned(request: Request, db: ReadDbSession, action: str, call: CkanCallDep) -> JSONResponse:
    """The same actions at CKAN's unversioned path, which some clients use by default."""
    return _ckan(request, db, action, call)


# ---- DCAT -------------------------------------------------------------------------------------


@dcat_router.get("/catalog.jsonld")
@public
def catalog_jsonld(request: Request, db: ReadDbSession) -> Response:
    """The open catalog as DCAT-AP in JSON-LD (ETag and Last-Modified: conditional requests get a 304)."""
    return _catalog_response(request, db, "json-ld", "application/ld+json")


@dcat_router.get("/catalog.ttl")
@public
def catalog_turtle(request: Request, db: ReadDbSession) -> Response:
    """The open catalog as DCAT-AP in Turtle (ETag and Last-Modified: conditional requests get a 304)."""
    return _catalog_response(request, db, "turtle", "text/turtle; charset=utf-8")


def _catalog_response(request: Request, db: Session, fmt: str, media_type: str) -> Response:
    site_name = request.app.state.settings.site_name
    document = dcat_cache.catalog_document(db, base=_base(request), site_name=site_name, fmt=fmt)
    headers = dcat_cache.headers(document)
    if dcat_cache.not_modified(
        document,
        if_none_match=request.headers.get("if-none-match"),
        if_modified_since=request.headers.get("if-modified-since"),
    ):
        return Response(status_code=304, headers=headers)
    return Response(document.body, media_type=media_type, headers=headers)


@dcat_router.get("/dataset/{code}.jsonld")
@public
def dataset_jsonld(request: Request, db: ReadDbSession, code: str) -> Response:
    """One dataset as DCAT-AP in JSON-LD."""
    graph = dcat.dataset_graph(_base(request), service.get_dataset(db, code=code))
    return Response(dcat.serialise(graph, "json-ld"), media_type="application/ld+json")
