"""Pages of governance: mounted resources, a resource's versions and quality, upload with progress."""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.catalog import service as catalog_service
from yiwang.catalog.schemas import MASKING_NAMES
from yiwang.core.db import DbSession
from yiwang.core.runtime import SettingsDep
from yiwang.core.security import Principal, require
from yiwang.governance import jobs, service
from yiwang.governance import permissions as perm
from yiwang.governance.page_forms import RollbackForm
from yiwang.governance.schemas import RollbackRequest
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission, UploadForm, upload_bytes
from yiwang.web.templating import render

RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
router = APIRouter(prefix="/governance", include_in_schema=False)
Reader = Annotated[Principal, Depends(require(perm.DATA_READ))]
Writer = Annotated[Principal, Depends(require(perm.DATA_WRITE))]


@router.get("", response_class=HTMLResponse)
def overview(request: Request, db: DbSession, user: Reader) -> HTMLResponse:
    bureau = catalog_service.is_bureau(db, user)
    entries = [e for e in catalog_service.list_entries(db) if bureau or user.can_reach_department(e.department_id)]
    status = service.resource_status(db, entry_codes=[e.code for e in entries])
    figures = service.governance_figures(db)
    return render(request, "governance/overview.html", {"entries": entries[:500], "status": status, "figures": figures})


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, db: DbSession, user: Reader, job_id: RowId) -> HTMLResponse:
    return render(request, "governance/job.html", {"job": service.get_job(db, actor=user, job_id=job_id)})


@router.get("/jobs/{job_id}/progress", response_class=HTMLResponse)
def job_progress(request: Request, db: DbSession, user: Reader, job_id: RowId) -> HTMLResponse:
    """The progress fragment htmx polls while the job runs."""
    return render(request, "governance/job_progress.html", {"job": service.get_job(db, actor=user, job_id=job_id)})


@router.post("/jobs/{job_id}/cancel", response_class=HTMLResponse)
def job_cancel(db: DbSession, user: Writer, _csrf: CsrfChecked, job_id: RowId) -> Response:
    service.cancel_job(db, actor=user, job_id=job_id)
    return RedirectResponse(f"/governance/jobs/{job_id}", status_code=303)


def _resource_page(
    request: Request, db: DbSession, user: Principal, code: str, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    entry = catalog_service.get_entry(db, code=code, actor=user)
    versions = service.list_versions(db, actor=user, entry_code=code)
    current = next((v for v in versions if v.current), None)
    context = {
        "entry": entry,
        "versions": versions,
        "current": current,
        "jobs": service.list_jobs(db, actor=user, entry_code=code),
        "can_write": user.has(perm.DATA_WRITE) and entry.status == "published",
        "methods": service.open_view_methods(entry),
        "method_names": MASKING_NAMES,
    }
    return render(request, "governance/resource.html", context | extra, status_code=status_code)


@router.get("/{code}", response_class=HTMLResponse)
def resource_page(request: Request, db: DbSession, user: Reader, code: str) -> HTMLResponse:
    return _resource_page(request, db, user, code)


@router.get("/{code}/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    user: Reader,
    code: str,
    base: Annotated[int, Query(ge=1, le=2_147_483_647)],
    other: Annotated[int, Query(ge=1, le=2_147_483_647)],
) -> HTMLResponse:
    result = service.compare_versions(
        db, actor=user, data_dir=settings.data_dir, entry_code=code, base=base, other=other
    )
    return render(request, "governance/compare.html", {"result": result, "code": code})


@router.get("/{code}/versions/{version}/quarantine.csv", response_class=Response)
def quarantine(db: DbSession, settings: SettingsDep, user: Reader, code: str, version: RowId) -> Response:
    content = service.quarantine_csv(db, actor=user, data_dir=settings.data_dir, entry_code=code, version=version)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{code}-v{version}-quarantine.csv"'},
    )


@router.post("/{code}/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    background: BackgroundTasks,
    db: DbSession,
    settings: SettingsDep,
    user: Writer,
    _csrf: CsrfChecked,
    form: Annotated[Submission[UploadForm], Depends(UploadForm.submitted)],
    code: str,
) -> Response:
    """Stage the file, queue the ingest in the background, and show its progress page."""
    if form.data is None:
        return _resource_page(request, db, user, code, upload_form=form, status_code=422)
    job = service.create_job(
        db,
        actor=user,
        data_dir=settings.data_dir,
        entry_code=code,
        content=upload_bytes(form.data.file),
        filename=form.data.file.filename or "upload.csv",
    )
    db.commit()
    background.add_task(jobs.claim_and_run, request.app.state.runtime, job.id)
    return RedirectResponse(f"/governance/jobs/{job.id}", status_code=303)


@router.post("/{code}/rollback", response_class=HTMLResponse)
def rollback(
    db: DbSession,
    user: Writer,
    _csrf: CsrfChecked,
    form: Annotated[Submission[RollbackForm], Depends(RollbackForm.submitted)],
    code: str,
) -> Response:
    data = form.to(RollbackRequest) or form.refuse()
    service.rollback(db, actor=user, entry_code=code, version=data.version, reason=data.reason)
    return RedirectResponse(f"/governance/{code}?notice=saved", status_code=303)
