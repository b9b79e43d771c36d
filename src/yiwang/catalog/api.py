"""JSON API of the resource catalog."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from yiwang.catalog import permissions as perm
from yiwang.catalog import service, workbook
from yiwang.catalog.schemas import (
    EntryCreate,
    EntryRead,
    EntryUpdate,
    EntryVersionRead,
    ImportReport,
    ReviewDecision,
    SearchQuery,
    SearchResult,
)
from yiwang.core.db import DbSession
from yiwang.core.errors import PayloadTooLarge
from yiwang.core.security import Principal, require
from yiwang.web.forms import upload_bytes

router = APIRouter(prefix="/api/catalog", tags=["资源目录 catalog"])
Reader = Annotated[Principal, Depends(require(perm.ENTRY_READ))]
Writer = Annotated[Principal, Depends(require(perm.ENTRY_WRITE))]
MAX_XLSX_BYTES = 10 * 1024 * 1024


@router.get("/entries", response_model=SearchResult)
def search_entries(
    db: DbSession,
    user: Reader,
    q: Annotated[str, Query(max_length=100, description="中文子串，空格分隔多个词")] = "",
    department: str | None = None,
    category: str | None = None,
    sharing_type: str | None = None,
    open_type: str | None = None,
    status: Annotated[str, Query(pattern="^(draft|pending|published|retired|all)$")] = "published",
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> SearchResult:
    """Search the catalog; facets count the matches by department, classification, sharing and open type."""
    query = SearchQuery(
        q=q,
        department=department,
        category=category,
        sharing_type=sharing_type,
        open_type=open_type,
        status=None if status == "all" else status,
        page=page,
        size=size,
    )
    return service.search(db, query=query, actor=user)


@router.post("/entries", response_model=EntryRead, status_code=201)
def create_entry(db: DbSession, user: Writer, data: EntryCreate) -> EntryRead:
    """Draft a new entry for the caller's department."""
    return service.create_entry(db, actor=user, data=data)


@router.get("/entries/{code}", response_model=EntryRead)
def get_entry(db: DbSession, user: Reader, code: str) -> EntryRead:
    return service.get_entry(db, code=code, actor=user)


@router.put("/entries/{code}", response_model=EntryRead)
def update_entry(db: DbSession, user: Writer, code: str, data: EntryUpdate) -> EntryRead:
    """Edit a draft; a published entry keeps its published version until the changes are published."""
    return service.update_entry(db, actor=user, code=code, data=data)


@router.post("/entries/{code}/submit", response_model=EntryRead)
def submit_entry(db: DbSession, user: Writer, code: str) -> EntryRead:
    return service.submit_entry(db, actor=user, code=code)


@router.post("/entries/{code}/review", response_model=EntryRead)
def review_entry(
    db: DbSession, user: Annotated[Principal, Depends(require(perm.ENTRY_REVIEW))], code: str, data: ReviewDecision
) -> EntryRead:
    """The big-data bureau publishes the entry, or returns it with reasons."""
    return service.review_entry(db, actor=user, code=code, decision=data)


@router.post("/entries/{code}/retire", response_model=EntryRead)
def retire_entry(db: DbSession, user: Writer, code: str, reason: str = "") -> EntryRead:
    return service.retire_entry(db, actor=user, code=code, reason=reason)


@router.get("/entries/{code}/versions", response_model=list[EntryVersionRead])
def list_versions(db: DbSession, user: Reader, code: str) -> list[EntryVersionRead]:
    return service.list_versions(db, code=code, actor=user)


@router.get("/export.xlsx", response_class=Response)
def export_xlsx(db: DbSession, user: Reader) -> Response:
    """The whole visible catalog as an Excel workbook (sheets 目录 and 信息项)."""
    content = workbook.export_xlsx(db, actor=user)
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="catalog.xlsx"'},
    )


@router.post("/import", response_model=ImportReport)
def import_xlsx(db: DbSession, user: Writer, file: Annotated[UploadFile, File()]) -> ImportReport:
    """Create or update entries from a workbook laid out like the export; all rows or none."""
    content = upload_bytes(file, limit=MAX_XLSX_BYTES)
    if len(content) > MAX_XLSX_BYTES:
        raise PayloadTooLarge("XLSX 文件超过 10MB")
    return workbook.import_xlsx(db, actor=user, content=content)
