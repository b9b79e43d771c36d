"""Pages of the resource catalog: search, entry, edit form, review queue, XLSX import and export."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from yiwang.catalog import permissions as perm
from yiwang.catalog import schemas as s
from yiwang.catalog import service, workbook
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError, PayloadTooLarge
from yiwang.core.security import Principal, require
from yiwang.org import service as org_service
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import PageForm, upload_bytes
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
        "data_types": s.DATA_TYPES,
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
            **_vocab(),
        },
    )


@router.get("/export.xlsx", response_class=Response)
def export_page(db: DbSession, user: Reader) -> Response:
    return Response(
        workbook.export_xlsx(db, actor=user),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="catalog.xlsx"'},
    )


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, user: Writer) -> HTMLResponse:
    return render(request, "catalog/import.html", {})


@router.post("/import", response_class=HTMLResponse)
def import_submit(request: Request, db: DbSession, user: Writer, _csrf: CsrfChecked, form: PageForm) -> HTMLResponse:
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return render(request, "catalog/import.html", {"error_message": "请选择 XLSX 文件"}, status_code=422)
    content = upload_bytes(upload, limit=10 * 1024 * 1024)
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


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, db: DbSession, user: Writer) -> HTMLResponse:
    blank = s.EntryUpdate(name="新资源", items=[])
    return render(request, "catalog/edit.html", {"data": blank, "code": None, "rows": _rows(blank), **_vocab()})


def _rows(data: s.EntryUpdate) -> list[dict]:
    rows = [item.model_dump() for item in data.items]
    return rows + [{} for _ in range(max(3, 8 - len(rows)))]


def _form_to_entry(form) -> s.EntryUpdate:
    items = []
    for n in range(200):
        name = str(form.get(f"item-{n}-name", "")).strip()
        if f"item-{n}-name" not in form:
            break
        if not name:
            continue
        items.append(
            {
                "name": name,
                "label": str(form.get(f"item-{n}-label", "")).strip() or name,
                "data_type": form.get(f"item-{n}-data_type") or "string",
                "length": int(form[f"item-{n}-length"]) if str(form.get(f"item-{n}-length", "")).isdigit() else None,
                "required": form.get(f"item-{n}-required") == "on",
                "validator": form.get(f"item-{n}-validator") or "none",
                "validator_arg": str(form.get(f"item-{n}-validator_arg", "")),
                "sensitivity": int(form.get(f"item-{n}-sensitivity") or 1),
                "masking": form.get(f"item-{n}-masking") or "none",
                "is_key": form.get(f"item-{n}-is_key") == "on",
            }
        )
    return s.EntryUpdate.model_validate(
        {
            "name": form.get("name", ""),
            "category": form.get("category"),
            "subject": form.get("subject", ""),
            "summary": form.get("summary", ""),
            "format": form.get("format"),
            "items": items,
            "sharing_type": form.get("sharing_type"),
            "sharing_condition": form.get("sharing_condition", ""),
            "sharing_method": form.get("sharing_method"),
            "open_type": form.get("open_type"),
            "update_cycle": form.get("update_cycle"),
            "data_grade": form.get("data_grade"),
            "related_codes": [c for c in str(form.get("related_codes", "")).replace("，", ",").split(",") if c.strip()],
            "tags": [t for t in str(form.get("tags", "")).replace("，", ",").split(",") if t.strip()],
            "licence": form.get("licence", ""),
            "note": form.get("note", ""),
        }
    )


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ()))
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}：{message}" if where else message


@router.post("/new", response_class=HTMLResponse)
def new_submit(request: Request, db: DbSession, user: Writer, _csrf: CsrfChecked, form: PageForm) -> Response:
    return _save(request, db, user, form, None)


@router.get("/{code}/edit", response_class=HTMLResponse)
def edit_form(request: Request, db: DbSession, user: Writer, code: str) -> HTMLResponse:
    data = service.get_draft(db, code=code, actor=user)
    return render(request, "catalog/edit.html", {"data": data, "code": code, "rows": _rows(data), **_vocab()})


@router.post("/{code}/edit", response_class=HTMLResponse)
def edit_submit(
    request: Request, db: DbSession, user: Writer, _csrf: CsrfChecked, form: PageForm, code: str
) -> Response:
    return _save(request, db, user, form, code)


def _save(request: Request, db: Session, user: Principal, form: FormData, code: str | None) -> Response:
    try:
        data = _form_to_entry(form)
    except ValidationError as exc:
        return render(
            request,
            "catalog/edit.html",
            {"error_message": _first_error(exc), "data": None, "form": form, "code": code, "rows": [], **_vocab()},
            status_code=422,
        )
    if code is None:
        entry = service.create_entry(db, actor=user, data=s.EntryCreate(**data.model_dump(exclude={"note"})))
    else:
        entry = service.update_entry(db, actor=user, code=code, data=data)
    return RedirectResponse(f"/catalog/{entry.code}?notice=saved", status_code=303)


@router.get("/{code}", response_class=HTMLResponse)
def entry_page(request: Request, db: DbSession, user: Reader, code: str) -> HTMLResponse:
    entry = service.get_entry(db, code=code, actor=user)
    versions = service.list_versions(db, code=code, actor=user)
    can_edit = user.has(perm.ENTRY_WRITE) and (user.can_reach_department(entry.department_id))
    return render(
        request,
        "catalog/entry.html",
        {
            "entry": entry,
            "versions": versions,
            "can_edit": can_edit,
            "bureau": service.is_bureau(db, user),
            **_vocab(),
        },
    )


@router.post("/{code}/submit", response_class=HTMLResponse)
def submit_action(db: DbSession, user: Writer, _csrf: CsrfChecked, code: str) -> Response:
    service.submit_entry(db, actor=user, code=code)
    return RedirectResponse(f"/catalog/{code}?notice=saved", status_code=303)


@router.post("/{code}/review", response_class=HTMLResponse)
def review_action(
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.ENTRY_REVIEW))],
    _csrf: CsrfChecked,
    form: PageForm,
    code: str,
) -> Response:
    decision = s.ReviewDecision(
        approve=form.get("approve") == "1", note=str(form.get("note", "")).replace("\x00", "")[:500]
    )
    service.review_entry(db, actor=user, code=code, decision=decision)
    return RedirectResponse(f"/catalog/{code}?notice=saved", status_code=303)
