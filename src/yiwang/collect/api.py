"""JSON API of collection for stewards: sources, their runs, and running one now."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response

from yiwang.collect import jobs, loads, service
from yiwang.collect import permissions as perm
from yiwang.collect.schemas import RunRead, SourceCreate, SourceRead, SourceUpdate
from yiwang.core.db import DbSession
from yiwang.core.pagination import Page, PageParams, page_params
from yiwang.core.runtime import CipherDep
from yiwang.core.security import Principal, require

router = APIRouter(prefix="/api/collect", tags=["数据归集 collect"])
Reader = Annotated[Principal, Depends(require(perm.SOURCE_READ))]
Manager = Annotated[Principal, Depends(require(perm.SOURCE_MANAGE))]
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("/sources", response_model=Page[SourceRead])
def list_sources(
    db: DbSession, user: Reader, paging: Paging, entry: Annotated[str | None, Query(max_length=30)] = None
) -> Page[SourceRead]:
    """The sources of the caller's department (the bureau: all), by code."""
    items, total = service.list_sources(db, actor=user, entry_code=entry, offset=paging.offset, limit=paging.size)
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.post("/sources", response_model=SourceRead, status_code=201)
def create_source(request: Request, db: DbSession, user: Manager, cipher: CipherDep, data: SourceCreate) -> SourceRead:
    """Register a source; its credential is encrypted and never returned."""
    root = loads.folder_root(request.app.state.runtime)
    return service.create_source(db, actor=user, data=data, cipher=cipher, folder_root=root)


@router.get("/sources/{code}", response_model=SourceRead)
def get_source(db: DbSession, user: Reader, code: str) -> SourceRead:
    return service.get_source(db, actor=user, code=code)


@router.put("/sources/{code}", response_model=SourceRead)
def update_source(
    request: Request, db: DbSession, user: Manager, cipher: CipherDep, code: str, data: SourceUpdate
) -> SourceRead:
    """Change a source; leave `secret` out to keep the stored credential."""
    root = loads.folder_root(request.app.state.runtime)
    return service.update_source(db, actor=user, code=code, data=data, cipher=cipher, folder_root=root)


@router.delete("/sources/{code}", status_code=204)
def delete_source(db: DbSession, user: Manager, code: str) -> Response:
    service.delete_source(db, actor=user, code=code)
    return Response(status_code=204)


@router.post("/sources/{code}/run", response_model=SourceRead, status_code=202)
def run_now(request: Request, background: BackgroundTasks, db: DbSession, user: Manager, code: str) -> SourceRead:
    """Run the source now (after this response); the run appears in its history."""
    source = service.request_run(db, actor=user, code=code)
    background.add_task(jobs.run_one, request.app.state.runtime, source.id)
    return source


@router.get("/sources/{code}/runs", response_model=Page[RunRead])
def list_runs(db: DbSession, user: Reader, paging: Paging, code: str) -> Page[RunRead]:
    """The source's runs, newest first: times, status, rows read, loaded, quarantined, deleted, errors."""
    items, total = service.list_runs(db, actor=user, code=code, offset=paging.offset, limit=paging.size)
    return Page(items=items, total=total, page=paging.page, size=paging.size)
