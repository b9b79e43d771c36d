"""Pages of the resource catalog: search, entry, edit form, review queue, XLSX import and export."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from yiwang.catalog import permissions as perm
from yiwang.catalog import schemas as s
from yiwang.catalog import service, workbook
from yiwang.catalog.page_forms import ROW_FIELD, EntryForm, ReviewForm, row_field
from yiwang.core.db import DbSession
from yiwang.core.downloads import attachment
from yiwang.core.errors import AppError, PayloadTooLarge
from yiwang.core.security import Principal, require
from yiwang.core.spreadsheets import XLSX_MEDIA_TYPE
from yiwang.federation import service as federation_service
from yiwang.org import service as org_service
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission, UploadForm, upload_bytes
from yiwang.web.labels import label
from yiwang.web.templating import render

router = APIRouter(prefix="/catalog", include_in_schema=False)
Reader = Annotated[Principal, Depends(require(perm.ENTRY_READ))]
Writer = Annotated[Principal, Depends(require(perm.ENTRY_WRITE))]
ITEM_FIELDS = ("name", "label", "data_type", "length", "validator", "validator_arg", "sensitivity", "masking")


def _vocab() -> dict[str, object]:
    return {
        "categories": s.CATEGORIES,
        "formats": s.FORMATS,
        "sharing_types": s.SHARING_TYPES,
        "sharing_methods": s.SHARING_METHODS,
        "open_types": s.OPEN_TYPES,
        "update_cycles": s.UPDATE_CYCLES,
        "grades": s.DATA_GRADES,
        "data_types": [(t, label(t, "data_type")) for t in s.DATA_TYPES],
        "validators": s.VALIDATOR_NAMES,
        "maskings": s.MASKING_NAMES,
        "sensitivities": s.SENSITIVITY_NAMES,
        "status_names": s.STATUS_NAMES,
    }


@router.get("", response_class=HTMLResponse)
def search_page(
    request: Request,
    db: DbSession,
    user: Reader,
    q: str = "",
    department: str = "",
    category: str = "",
    sharing_type: str = "",
    open_type: str = "",
    status: str = "published",
    page: int = 1,
) -> HTMLResponse:
    query = s.SearchQuery(
        q=q[:100],
        department=department or None,
        category=category or None,
        sharing_type=sharing_type or None,
        open_type=open_type or None,
        status=status if status in s.STATUSES else None,
        page=max(1, page),
        size=20,
    )
    result = service.search(db, query=query, actor=user)
    names = {d.code: d.short_name for d in org_service.list_departments(db, include_inactive=True)}
    # Peers' entries (上级目录 …) matching the words, listed beside the city's own (docs/federation.md).
    remote = federation_service.search_remote(db, q=query.q, limit=10) if query.q.strip() else []
    return render(
        request,
        "catalog/search.html",
        {
            "result": result,
            "query": query,
            "department_names": names,
            "pages": max(1, -(-result.total // query.size)),
            "page": query.page,
            "can_write": user.has(perm.ENTRY_WRITE),
            "bureau": service.is_bureau(db, user),
            "remote": remote,
            **_vocab(),
        },
    )


@router.get("/export.xlsx", response_class=Response)
def export_page(db: DbSession, user: Reader) -> Response:
    return attachment(workbook.export_xlsx(db, actor=user), filename="catalog.xlsx", media_type=XLSX_MEDIA_TYPE)


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, user: Writer) -> HTMLResponse:
    return render(request, "catalog/import.html", {})


@router.post("/import", response_class=HTMLResponse)
def import_submit(
    request: Request,
    db: DbSession,
    user: Writer,
    _csrf: CsrfChecked,
    form: Annotated[Submission[UploadForm], Depends(UploadForm.submitted)],
) -> HTMLResponse:
    if form.data is None:
        return render(request, "catalog/import.html", {"form": form}, status_code=422)
    content = upload_bytes(form.data.file, limit=10 * 1024 * 1024)
    try:
        if len(content) > 10 * 1024 * 1024:
            raise PayloadTooLarge("XLSX 文件超过 10MB")
        with db.begin_nested():
            report = workbook.import_xlsx(db, actor=user, content=content)
    except AppError as exc:
        errors = (exc.details or {}).get("errors", []) if isinstance(exc.details, dict) else []
        return render(request, "catalog/import.html", {"error_message": exc.message, "errors": errors}, status_code=422)
    return render(request, "catalog/import.html", {"report": report})


@router.get("/review", response_class=HTMLResponse)
def review_queue(request: Request, db: DbSession, user: Annotated[Principal, Depends(require(perm.ENTRY_REVIEW))]):
    result = service.search(db, query=s.SearchQuery(status="pending", size=200), actor=user)
    return render(request, "catalog/review.html", {"result": result, "bureau": service.is_bureau(db, user), **_vocab()})


def _edit_page(
    request: Request,
    data: s.EntryUpdate,
    code: str | None,
    *,
    form: Submission[EntryForm] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"data": data, "code": code, "rows": _rows(data, form), "form": form, **_vocab()}
    return render(request, "catalog/edit.html", context, status_code=status_code)


def _blank_entry() -> s.EntryUpdate:
    """A new entry's defaults (a refused draft shows what was sent instead)."""
    return s.EntryUpdate(name="新资源", items=[])


def _rows(data: s.EntryUpdate, form: Submission[EntryForm] | None) -> list[dict[str, Any]]:
    """The editor's rows: the items, then blank rows; after a refused save, the rows as they were sent."""
    if form is not None:
        numbers = {int(m.group(1)) for key in form.values if (m := ROW_FIELD.match(key))}
        return [{"n": n} for n in range(max(numbers, default=-1) + 1)]
    rows = [{"n": n} | item.model_dump() for n, item in enumerate(data.items)]
    return rows + [{"n": len(rows) + n} for n in range(max(3, 8 - len(rows)))]


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, db: DbSession, user: Writer) -> HTMLResponse:
    return _edit_page(request, _blank_entry(), None)


@router.post("/new", response_class=HTMLResponse)
def new_submit(
    request: Request,
    db: DbSession,
    user: Writer,
    _csrf: CsrfChecked,
    form: Annotated[Submission[EntryForm], Depends(EntryForm.submitted)],
) -> Response:
    return _save(request, db, user, form, None)


@router.get("/{code}/edit", response_class=HTMLResponse)
def edit_form(request: Request, db: DbSession, user: Writer, code: str) -> HTMLResponse:
    return _edit_page(request, service.get_draft(db, code=code, actor=user), code)


@router.post("/{code}/edit", response_class=HTMLResponse)
def edit_submit(
    request: Request,
    db: DbSession,
    user: Writer,
    _csrf: CsrfChecked,
    form: Annotated[Submission[EntryForm], Depends(EntryForm.submitted)],
    code: str,
) -> Response:
    return _save(request, db, user, form, code)


def _save(request: Request, db: Session, user: Principal, form: Submission[EntryForm], code: str | None) -> Response:
    rows = form.data.rows() if form.data is not None else []
    data = form.build(lambda f: f.entry(), field_of=lambda loc: row_field(loc, rows))
    if data is None:
        return _edit_page(request, _blank_entry(), code, form=form, status_code=422)
    if code is None:
        entry = service.create_entry(db, actor=user, data=s.EntryCreate(**data.model_dump(exclude={"note"})))
    else:
        entry = service.update_entry(db, actor=user, code=code, data=data)
    return RedirectResponse(f"/catalog/{entry.code}?notice=saved", status_code=303)


def _entry_page(
    request: Request, db: DbSession, user: Principal, code: str, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    entry = service.get_entry(db, code=code, actor=user)
    versions = service.list_versions(db, code=code, actor=user)
    can_edit = user.has(perm.ENTRY_WRITE) and (user.can_reach_department(entry.department_id))
    context = {
        "entry": entry,
        "versions": versions,
        "can_edit": can_edit,
        "bureau": service.is_bureau(db, user),
        **_vocab(),
    }
    return render(request, "catalog/entry.html", context | extra, status_code=status_code)


@router.get("/{code}", response_class=HTMLResponse)
def entry_page(request: Request, db: DbSession, user: Reader, code: str) -> HTMLResponse:
    return _entry_page(request, db, user, code)


@router.post("/{code}/submit", response_class=HTMLResponse)
def submit_action(db: DbSession, user: Writer, _csrf: CsrfChecked, code: str) -> Response:
    service.submit_entry(db, actor=user, code=code)
    return RedirectResponse(f"/catalog/{code}?notice=saved", status_code=303)


@router.post("/{code}/review", response_class=HTMLResponse)
def review_action(
    request: Request,
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.ENTRY_REVIEW))],
    _csrf: CsrfChecked,
    form: Annotated[Submission[ReviewForm], Depends(ReviewForm.submitted)],
    code: str,
) -> Response:
    decision = form.to(s.ReviewDecision)
    if decision is None:
        return _entry_page(request, db, user, code, review_form=form, status_code=422)
    service.review_entry(db, actor=user, code=code, decision=decision)
    return RedirectResponse(f"/catalog/{code}?notice=saved", status_code=303)
