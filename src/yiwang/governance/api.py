"""JSON API of governance: mount data (upload, push), versions, compare, rollback, quarantine, jobs."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, File, Path, Query, Request, UploadFile
from fastapi.responses import Response

from yiwang.core.db import DbSession
from yiwang.core.runtime import SettingsDep
from yiwang.core.security import Principal, require
from yiwang.governance import jobs, service
from yiwang.governance import permissions as perm
from yiwang.governance.schemas import (
    GovernanceFigures,
    JobRead,
    PushRows,
    RollbackRequest,
    VersionCompare,
    VersionRead,
)
from yiwang.web.forms import upload_bytes

RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
router = APIRouter(prefix="/api/governance", tags=["数据治理 governance"])
Reader = Annotated[Principal, Depends(require(perm.DATA_READ))]
Writer = Annotated[Principal, Depends(require(perm.DATA_WRITE))]


@router.post("/resources/{code}/upload", response_model=VersionRead, status_code=201)
def upload(db: DbSession, settings: SettingsDep, user: Writer, code: str, file: Annotated[UploadFile, File()]):
    """Mount a CSV (UTF-8/GBK/GB18030), XLSX or JSON file now; rejected rows go to the quarantine."""
    content = upload_bytes(file)
    return service.ingest(
        db,
        actor=user,
        data_dir=settings.data_dir,
        entry_code=code,
        content=content,
        filename=file.filename or "upload.csv",
        source="upload",
    )


@router.post("/resources/{code}/rows", response_model=VersionRead, status_code=201)
def push_rows(db: DbSession, settings: SettingsDep, user: Writer, code: str, data: PushRows) -> VersionRead:
    """API push: a complete new version of the resource as JSON rows (up to 20,000 per call)."""
    return service.ingest(
        db,
        actor=user,
        data_dir=settings.data_dir,
        entry_code=code,
        rows=data.rows,
        filename="api.json",
        source="api",
        note=data.note,
    )


@router.post("/resources/{code}/jobs", response_model=JobRead, status_code=202)
def upload_in_background(
    request: Request,
    background: BackgroundTasks,
    db: DbSession,
    settings: SettingsDep,
    user: Writer,
    code: str,
    file: Annotated[UploadFile, File()],
) -> JobRead:
    """Queue a file for ingest; poll GET /jobs/{id} for progress."""
    content = upload_bytes(file)
    job = service.create_job(
        db,
        actor=user,
        data_dir=settings.data_dir,
        entry_code=code,
        content=content,
        filename=file.filename or "upload.csv",
    )
    db.commit()
    background.add_task(jobs.claim_and_run, request.app.state.runtime, job.id)
    return job


@router.get("/jobs/{job_id}", response_model=JobRead)
def get_job(db: DbSession, user: Reader, job_id: RowId) -> JobRead:
    return service.get_job(db, actor=user, job_id=job_id)


@router.post("/jobs/{job_id}/cancel", response_model=JobRead)
def cancel_job(db: DbSession, user: Writer, job_id: RowId) -> JobRead:
    return service.cancel_job(db, actor=user, job_id=job_id)


@router.get("/resources/{code}/versions", response_model=list[VersionRead])
def list_versions(db: DbSession, user: Reader, code: str) -> list[VersionRead]:
    return service.list_versions(db, actor=user, entry_code=code)


@router.get("/resources/{code}/versions/{version}", response_model=VersionRead)
def get_version(db: DbSession, user: Reader, code: str, version: RowId) -> VersionRead:
    """One version with its quality report (per-field completeness and validity, duplicates, rows in/out)."""
    return service.get_version(db, actor=user, entry_code=code, version=version)


@router.get("/resources/{code}/versions/{version}/quarantine.csv", response_class=Response)
def quarantine(db: DbSession, settings: SettingsDep, user: Reader, code: str, version: RowId) -> Response:
    """The rows this version rejected, with their line numbers in the submitted file and the reasons."""
    content = service.quarantine_csv(db, actor=user, data_dir=settings.data_dir, entry_code=code, version=version)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{code}-v{version}-quarantine.csv"'},
    )


@router.get("/resources/{code}/compare", response_model=VersionCompare)
def compare(
    db: DbSession,
    settings: SettingsDep,
    user: Reader,
    code: str,
    base: Annotated[int, Query(ge=1, le=2_147_483_647)],
    other: Annotated[int, Query(ge=1, le=2_147_483_647)],
) -> VersionCompare:
    """Rows added, removed and changed between two versions, matched on the key fields."""
    return service.compare_versions(db, actor=user, data_dir=settings.data_dir, entry_code=code, base=base, other=other)


@router.post("/resources/{code}/rollback", response_model=VersionRead)
def rollback(db: DbSession, user: Writer, code: str, data: RollbackRequest) -> VersionRead:
    return service.rollback(db, actor=user, entry_code=code, version=data.version, reason=data.reason)


@router.get("/figures")
def figures(db: DbSession, user: Reader) -> GovernanceFigures:
    """Mounted resources against the catalog (indicator 4) and cleaned/de-identified share (indicator 14)."""
    return service.governance_figures(db)
