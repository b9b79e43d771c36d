"""Pages of 城市智脑: leaders' overview, large-screen cockpit, indicator detail with drill-down,
warnings and forecasts, evaluation, monthly report (HTML and PDF), and registry maintenance."""

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.brain import diagnosis, registries, report
from yiwang.brain import indicators as ind
from yiwang.brain import permissions as p
from yiwang.brain import service as svc
from yiwang.brain.page_forms import DeleteRowForm
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError, ValidationFailed
from yiwang.core.security import Principal, require
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import PageForm, Submission, UploadForm, read_submission, upload_bytes
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(require(p.BRAIN_READ))]
Maintainer = Annotated[Principal, Depends(require(p.REGISTRY_WRITE))]
RegistryKey = Annotated[str, Path(pattern="^(systems|cards|enterprises|upstream)$")]
Period = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")]


def _common() -> dict[str, Any]:
    return {"status_colours": ind.STATUS_COLOURS, "status_names": ind.STATUS_NAMES}


@router.get("/brain", response_class=HTMLResponse)
def overview(request: Request, db: DbSession, user: Reader) -> HTMLResponse:
    """The same figures as the cockpit, on a normal page for a laptop or a phone."""
    data = svc.cockpit(db, principal=user)
    return render(request, "brain/overview.html", _common() | data)


@router.get("/brain/cockpit", response_class=HTMLResponse)
def cockpit(request: Request, user: Reader) -> HTMLResponse:
    """The large-screen cockpit; it loads and refreshes its data from /api/brain/* by itself."""
    return render(request, "brain/cockpit.html", {})


@router.get("/brain/indicators", response_class=HTMLResponse)
def indicator_list(request: Request, db: DbSession, user: Reader, period: Period = None) -> HTMLResponse:
    chosen = svc.parse_period(period)
    rows = svc.list_indicators(db, period=chosen)
    return render(request, "brain/indicators.html", _common() | {"indicators": rows, "period": chosen})


@router.get("/brain/indicators/{no}", response_class=HTMLResponse)
def indicator_detail(
    request: Request, db: DbSession, user: Reader, no: Annotated[int, Path(ge=1, le=20)]
) -> HTMLResponse:
    current = next(i for i in svc.list_indicators(db) if i.no == no)
    drill = svc.drill_down(db, principal=user, no=no)
    history = svc.indicator_history(db, no=no)
    return render(
        request, "brain/indicator.html", _common() | {"indicator": current, "drill": drill, "history": history}
    )


@router.get("/brain/warnings", response_class=HTMLResponse)
def warnings_page(request: Request, db: DbSession, user: Reader) -> HTMLResponse:
    rows = svc.warnings(db, principal=user, limit=200)
    return render(request, "brain/warnings.html", _common() | {"warnings": rows, "kinds": diagnosis.KINDS})


@router.get("/brain/forecasts", response_class=HTMLResponse)
def forecasts_page(
    request: Request, user: Reader, kind: Annotated[str, Query(pattern="^(aqi|level|events)$")] = "aqi"
) -> HTMLResponse:
    return render(request, "brain/forecasts.html", {"kind": kind, "kinds": diagnosis.KINDS})


@router.get("/brain/evaluation", response_class=HTMLResponse)
def evaluation_page(request: Request, db: DbSession, user: Reader, period: Period = None) -> HTMLResponse:
    chosen = svc.parse_period(period)
    return render(
        request,
        "brain/evaluation.html",
        {
            "period": chosen,
            "departments": svc.ranking(db, principal=user, kind="department", period=chosen),
            "divisions": svc.ranking(db, principal=user, kind="division", period=chosen),
        },
    )


@router.get("/brain/report", response_class=HTMLResponse)
def report_page(request: Request, db: DbSession, user: Reader, period: Period = None) -> HTMLResponse:
    ctx = report.context(db, principal=user, period=svc.parse_period(period))
    return render(request, "brain/report.html", _common() | ctx)


@router.get("/brain/report.pdf")
def report_pdf(db: DbSession, user: Reader, period: Period = None) -> Response:
    chosen = svc.parse_period(period)
    content = report.pdf(report.context(db, principal=user, period=chosen))
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="brain-report-{chosen:%Y-%m}.pdf"'},
    )


# --- registries ------------------------------------------------------------------------------------


@router.get("/brain/registries", response_class=HTMLResponse)
def registries_index(request: Request, db: DbSession, user: Reader) -> HTMLResponse:
    counts = {key: len(registries.list_rows(db, key=key)) for key in registries.SPECS}
    return render(request, "brain/registries.html", {"specs": registries.SPECS, "counts": counts})


def _registry_context(db: DbSession, key: str, **extra: Any) -> dict[str, Any]:
    spec = registries.spec_for(key)
    return {
        "spec": spec,
        "rows": registries.list_rows(db, key=key),
        "imports": registries.recent_imports(db, key=key),
        "can_write": False,
    } | extra


@router.get("/brain/registries/{key}", response_class=HTMLResponse)
def registry_page(
    request: Request,
    db: DbSession,
    user: Reader,
    key: RegistryKey,
    edit: str | None = None,
    report_id: int | None = None,
) -> HTMLResponse:
    ctx = _registry_context(db, key, can_write=user.has(p.REGISTRY_WRITE))
    if edit:
        ctx["editing"] = next((r for r in ctx["rows"] if r["code"] == edit), None)
    if report_id:
        with contextlib.suppress(AppError):
            ctx["import_report"] = registries.get_import(db, import_id=report_id)
    return render(request, "brain/registry.html", ctx)


@router.post("/brain/registries/{key}", response_class=HTMLResponse)
def registry_save(
    request: Request, db: DbSession, user: Maintainer, key: RegistryKey, _csrf: CsrfChecked, form: PageForm
) -> Response:
    """Save one row from the form; the registry's input model is the form's model."""
    spec = registries.spec_for(key)
    row = read_submission(spec.schema, form, labels={c.field: c.header for c in spec.columns})
    if row.data is None:
        return render(
            request, "brain/registry.html", _registry_context(db, key, can_write=True, form=row), status_code=422
        )
    try:
        svc.save_registry_row(db, actor=user, key=key, data=row.data)
    except AppError as exc:
        db.rollback()
        return render(
            request,
            "brain/registry.html",
            _registry_context(db, key, can_write=True, form=row, error_message=exc.message),
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/brain/registries/{key}?notice=saved", status_code=303)


@router.post("/brain/registries/{key}/delete", response_class=HTMLResponse)
def registry_delete(
    db: DbSession,
    user: Maintainer,
    key: RegistryKey,
    _csrf: CsrfChecked,
    form: Annotated[Submission[DeleteRowForm], Depends(DeleteRowForm.submitted)],
) -> Response:
    data = form.data or form.refuse()
    svc.delete_registry_row(db, actor=user, key=key, code=data.code)
    return RedirectResponse(f"/brain/registries/{key}?notice=saved", status_code=303)


@router.post("/brain/registries/{key}/import", response_class=HTMLResponse)
def registry_import(
    request: Request,
    db: DbSession,
    user: Maintainer,
    key: RegistryKey,
    _csrf: CsrfChecked,
    form: Annotated[Submission[UploadForm], Depends(UploadForm.submitted)],
) -> Response:
    if form.data is None:
        context = _registry_context(db, key, can_write=True, import_form=form)
        return render(request, "brain/registry.html", context, status_code=422)
    file = form.data.file
    content = upload_bytes(file, limit=registries.MAX_IMPORT_BYTES)
    try:
        result = svc.import_registry(db, actor=user, key=key, content=content, filename=file.filename or "")
    except ValidationFailed as exc:
        return render(
            request,
            "brain/registry.html",
            _registry_context(db, key, can_write=True, error_message=exc.message),
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/brain/registries/{key}?report_id={result.id}", status_code=303)


@router.get("/brain/registries/{key}/export")
def registry_export(db: DbSession, user: Reader, key: RegistryKey) -> Response:
    return Response(
        svc.export_registry(db, key=key),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="brain-{key}.xlsx"'},
    )
