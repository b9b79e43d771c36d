"""Pages of collection: sources of the steward's department, a source with its runs, the source form."""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.catalog import service as catalog_service
from yiwang.collect import connectors, jobs, loads, service
from yiwang.collect import permissions as perm
from yiwang.collect.page_forms import SourceForm, api_field, mapping_text
from yiwang.collect.schemas import KIND_NAMES, MODE_NAMES, STATUS_NAMES, SourceRead
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.pagination import PageParams, page_params
from yiwang.core.runtime import CipherDep
from yiwang.core.security import Principal, require
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(prefix="/collect", include_in_schema=False)
Reader = Annotated[Principal, Depends(require(perm.SOURCE_READ))]
Manager = Annotated[Principal, Depends(require(perm.SOURCE_MANAGE))]
Paging = Annotated[PageParams, Depends(page_params)]
NAMES = {"kind_names": KIND_NAMES, "mode_names": MODE_NAMES, "status_names": STATUS_NAMES}


def _pages(total: int, size: int) -> int:
    return max(1, (total + size - 1) // size)


@router.get("", response_class=HTMLResponse)
def overview(request: Request, db: DbSession, user: Reader, paging: Paging) -> HTMLResponse:
    sources, total = service.list_sources(db, actor=user, offset=paging.offset, limit=paging.size)
    context = {
        "sources": sources,
        "figures": service.source_figures(db),
        "can_manage": user.has(perm.SOURCE_MANAGE),
        "page": paging.page,
        "pages": _pages(total, paging.size),
        "total": total,
    }
    return render(request, "collect/sources.html", context | NAMES)


@router.get("/sources/{code}", response_class=HTMLResponse)
def source_page(request: Request, db: DbSession, user: Reader, paging: Paging, code: str) -> HTMLResponse:
    source = service.get_source(db, actor=user, code=code)
    runs, total = service.list_runs(db, actor=user, code=code, offset=paging.offset, limit=paging.size)
    context = {
        "s": source,
        "entry": catalog_service.get_entry(db, code=source.entry_code),
        "runs": runs,
        "page": paging.page,
        "pages": _pages(total, paging.size),
        "can_manage": user.has(perm.SOURCE_MANAGE),
    }
    return render(request, "collect/source.html", context | NAMES)


def _entries(db: Any, user: Principal) -> list[Any]:
    bureau = catalog_service.is_bureau(db, user)
    return [
        e
        for e in catalog_service.list_entries(db)
        if e.status == "published" and (bureau or user.can_reach_department(e.department_id))
    ]


def _form_page(
    request: Request,
    db: Any,
    user: Principal,
    *,
    source: SourceRead | None,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    context = {
        "source": source,
        "mapping_text": mapping_text(source.mapping) if source else "",
        "entries": _entries(db, user),
        "drivers": connectors.DRIVERS,
    }
    return render(request, "collect/form.html", context | NAMES | extra, status_code=status_code)


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, db: DbSession, user: Manager) -> HTMLResponse:
    return _form_page(request, db, user, source=None)


@router.post("/new", response_class=HTMLResponse)
def create(
    request: Request,
    db: DbSession,
    user: Manager,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[SourceForm], Depends(SourceForm.submitted)],
) -> Response:
    data = form.build(lambda f: f.to_create(), field_of=api_field)
    if data is None:
        return _form_page(request, db, user, source=None, form=form, status_code=422)
    root = loads.folder_root(request.app.state.runtime)
    try:
        created = service.create_source(db, actor=user, data=data, cipher=cipher, folder_root=root)
    except AppError as exc:
        db.rollback()
        return _form_page(
            request, db, user, source=None, form=form, error_message=exc.message, status_code=exc.status_code
        )
    return RedirectResponse(f"/collect/sources/{created.code}?notice=created", status_code=303)


@router.get("/sources/{code}/edit", response_class=HTMLResponse)
def edit_form(request: Request, db: DbSession, user: Manager, code: str) -> HTMLResponse:
    return _form_page(request, db, user, source=service.get_source(db, actor=user, code=code))


@router.post("/sources/{code}/edit", response_class=HTMLResponse)
def edit(
    request: Request,
    db: DbSession,
    user: Manager,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    code: str,
    form: Annotated[Submission[SourceForm], Depends(SourceForm.submitted)],
) -> Response:
    source = service.get_source(db, actor=user, code=code)
    data = form.build(lambda f: f.to_update(), field_of=api_field)
    if data is None:
        return _form_page(request, db, user, source=source, form=form, status_code=422)
    root = loads.folder_root(request.app.state.runtime)
    try:
        service.update_source(db, actor=user, code=code, data=data, cipher=cipher, folder_root=root)
    except AppError as exc:
        db.rollback()
        return _form_page(
            request, db, user, source=source, form=form, error_message=exc.message, status_code=exc.status_code
        )
    return RedirectResponse(f"/collect/sources/{code}?notice=saved", status_code=303)


@router.post("/sources/{code}/run", response_class=HTMLResponse)
def run_now(
    request: Request, background: BackgroundTasks, db: DbSession, user: Manager, _csrf: CsrfChecked, code: str
) -> Response:
    source = service.request_run(db, actor=user, code=code)
    background.add_task(jobs.run_one, request.app.state.runtime, source.id)
    return RedirectResponse(f"/collect/sources/{code}?notice=saved", status_code=303)


@router.post("/sources/{code}/delete", response_class=HTMLResponse)
def delete(db: DbSession, user: Manager, _csrf: CsrfChecked, code: str) -> Response:
    service.delete_source(db, actor=user, code=code)
    return RedirectResponse("/collect?notice=saved", status_code=303)
