"""Pages of the federation for the bureau and departments: peers, synchronisation history, peers'
catalogs (上级目录), cross-level applications and their returned data, data objections."""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.catalog import permissions as catalog_perm
from yiwang.catalog import service as catalog_service
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError, NotFound
from yiwang.core.params import IdPath
from yiwang.core.security import Principal, require
from yiwang.core.timeutil import local_today
from yiwang.federation import permissions as perm
from yiwang.federation import service
from yiwang.federation.page_forms import CrossApplyForm, ObjectionAnswerForm
from yiwang.federation.schemas import (
    CATALOG_LABELS,
    KIND_NAMES,
    PLATFORM_NAMES,
    ROLE_NAMES,
    CrossApplicationCreate,
    ObjectionAnswer,
)
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(prefix="/federation", include_in_schema=False)
Reader = Annotated[Principal, Depends(require(perm.READ))]
Manager = Annotated[Principal, Depends(require(perm.PEER_MANAGE))]
Applicant = Annotated[Principal, Depends(require(perm.APPLY))]
Handler = Annotated[Principal, Depends(require(perm.OBJECTION_HANDLE))]
CatalogReader = Annotated[Principal, Depends(require(catalog_perm.ENTRY_READ))]
APPLICATION_STATUS = {"submitted": "待对方答复", "granted": "已获准", "refused": "不予共享", "returned": "数据已回传"}
OBJECTION_STATUS = {"open": "待答复", "answered": "已答复"}
NAMES = {
    "role_names": ROLE_NAMES,
    "platform_names": PLATFORM_NAMES,
    "kind_names": KIND_NAMES,
    "catalog_labels": CATALOG_LABELS,
    "application_status": APPLICATION_STATUS,
    "objection_status": OBJECTION_STATUS,
}


def _kind_name(kind: str) -> str:
    base, _, topic = kind.partition(":")
    return KIND_NAMES.get(base, kind) + (f"：{topic}" if topic else "")


@router.get("", response_class=HTMLResponse)
def overview(request: Request, db: DbSession, user: Reader) -> HTMLResponse:
    """Peers with fingerprints, status, last contact and backlog; the indicators' exchanges."""
    figures = [service.cascade_figures(db, indicator_no=no) for no in (17, 18, 19, 20)]
    context = {"peers": service.list_peers(db), "figures": figures, "can_manage": user.has(perm.PEER_MANAGE)}
    return render(request, "federation/overview.html", context | NAMES)


@router.post("/peers/{peer_id}/remove")
def remove_peer(db: DbSession, user: Manager, _csrf: CsrfChecked, peer_id: IdPath) -> Response:
    service.remove_peer(db, actor=user, peer_id=peer_id)
    return RedirectResponse("/federation?notice=saved", status_code=303)


@router.get("/sync", response_class=HTMLResponse)
def sync_page(
    request: Request, db: DbSession, user: Reader, peer: Annotated[int | None, Query(ge=1)] = None
) -> HTMLResponse:
    """Synchronisation history: catalog changes queued and acknowledged, and every message either way."""
    context = {
        "syncs": service.sync_history(db, limit=200),
        "messages": service.message_history(db, peer_id=peer, limit=200),
        "kind_name": _kind_name,
    }
    return render(request, "federation/sync.html", context | NAMES)


@router.get("/catalog", response_class=HTMLResponse)
def remote_catalog(
    request: Request, db: DbSession, user: CatalogReader, q: Annotated[str, Query(max_length=100)] = ""
) -> HTMLResponse:
    """The peers' catalogs (上级目录 …), searchable beside the city's own."""
    context = {"entries": service.search_remote(db, q=q), "q": q, "can_apply": user.has(perm.APPLY)}
    return render(request, "federation/catalog.html", context | NAMES)


def _apply_page(
    request: Request, db: DbSession, peer_id: int, code: str, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    found = [e for e in service.search_remote(db, q=code) if e.peer_id == peer_id and e.code == code]
    if not found:
        raise NotFound(f"对接目录中没有资源 {code}")
    context = {"entry": found[0], "default_end": (local_today() + timedelta(days=365)).isoformat()}
    return render(request, "federation/apply.html", context | extra, status_code=status_code)


@router.get("/apply/{peer_id}/{code}", response_class=HTMLResponse)
def apply_form(request: Request, db: DbSession, user: Applicant, peer_id: IdPath, code: str) -> HTMLResponse:
    return _apply_page(request, db, peer_id, code)


@router.post("/apply/{peer_id}/{code}", response_class=HTMLResponse)
def apply_submit(
    request: Request,
    db: DbSession,
    user: Applicant,
    _csrf: CsrfChecked,
    peer_id: IdPath,
    code: str,
    form: Annotated[Submission[CrossApplyForm], Depends(CrossApplyForm.submitted)],
) -> Response:
    data = form.to(CrossApplicationCreate, peer_id=peer_id, entry_code=code)
    if data is None:
        return _apply_page(request, db, peer_id, code, form=form, status_code=422)
    try:
        created = service.apply(db, actor=user, data=data)
    except AppError as exc:
        db.rollback()
        return _apply_page(
            request, db, peer_id, code, form=form, error_message=exc.message, status_code=exc.status_code
        )
    return RedirectResponse(f"/federation/applications/{created.id}?notice=created", status_code=303)


@router.get("/applications", response_class=HTMLResponse)
def applications(request: Request, db: DbSession, user: Reader) -> HTMLResponse:
    context = {"applications": service.list_applications(db, actor=user)}
    return render(request, "federation/applications.html", context | NAMES)


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, db: DbSession, user: Reader, application_id: IdPath) -> HTMLResponse:
    application = service.get_application(db, actor=user, application_id=application_id)
    data = None
    if (
        application.direction == "outgoing"
        and application.status == "returned"
        and user.has(perm.APPLY)
        and user.can_reach_department(application.department_id)
    ):
        data = service.returned_data(db, actor=user, application_id=application_id)
    context = {"a": application, "data": data}
    return render(request, "federation/application.html", context | NAMES)


@router.get("/objections", response_class=HTMLResponse)
def objections(request: Request, db: DbSession, user: Reader) -> HTMLResponse:
    context = {"objections": service.list_objections(db, actor=user)}
    return render(request, "federation/objections.html", context | NAMES)


def _objection_page(
    request: Request, db: DbSession, user: Principal, objection_id: int, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    objection = service.get_objection(db, actor=user, objection_id=objection_id)
    entry = None
    if objection.direction == "incoming":
        try:
            entry = catalog_service.get_entry(db, code=objection.entry_code)
        except NotFound:
            entry = None
    context = {"o": objection, "entry": entry, "can_answer": user.has(perm.OBJECTION_HANDLE)}
    return render(request, "federation/objection.html", context | NAMES | extra, status_code=status_code)


@router.get("/objections/{objection_id}", response_class=HTMLResponse)
def objection_page(request: Request, db: DbSession, user: Reader, objection_id: IdPath) -> HTMLResponse:
    return _objection_page(request, db, user, objection_id)


@router.post("/objections/{objection_id}/answer", response_class=HTMLResponse)
def answer_objection(
    request: Request,
    db: DbSession,
    user: Handler,
    _csrf: CsrfChecked,
    objection_id: IdPath,
    form: Annotated[Submission[ObjectionAnswerForm], Depends(ObjectionAnswerForm.submitted)],
) -> Response:
    data = form.to(ObjectionAnswer)
    if data is None:
        return _objection_page(request, db, user, objection_id, form=form, status_code=422)
    try:
        service.answer_objection(db, actor=user, objection_id=objection_id, data=data)
    except AppError as exc:
        db.rollback()
        return _objection_page(
            request, db, user, objection_id, form=form, error_message=exc.message, status_code=exc.status_code
        )
    return RedirectResponse(f"/federation/objections/{objection_id}?notice=saved", status_code=303)
