"""Catalog rules: drafting, review and publication, versions, search with facets (XLSX exchange: workbook.py).

Other domains read entries through `get_entry`, `list_entries` and `catalog_figures`.
"""

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.catalog import permissions as perm
from yiwang.catalog.models import CatalogEntry, CatalogEntryVersion, CatalogItem
from yiwang.catalog.schemas import (
    EntryBrief,
    EntryCreate,
    EntryRead,
    EntryUpdate,
    EntryVersionRead,
    InfoItem,
    OpenableEntry,
    ReviewDecision,
    SearchQuery,
    SearchResult,
)
from yiwang.core import audit
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.security import Principal, check
from yiwang.core.timeutil import utcnow
from yiwang.org import service as org_service
from yiwang.org.schemas import DepartmentRead

FACETS = ("department", "category", "sharing_type", "open_type")
_FACET_COLUMNS = {
    "department": CatalogEntry.department_code,
    "category": CatalogEntry.category,
    "sharing_type": CatalogEntry.sharing_type,
    "open_type": CatalogEntry.open_type,
}

# ---- helpers ----------------------------------------------------------------------------------


def _department_names(db: Session) -> dict[int, str]:
    return {d.id: d.short_name for d in org_service.list_departments(db, include_inactive=True)}


def is_bureau(db: Session, principal: Principal) -> bool:
    """The big-data bureau: review permission held by an account of the platform department (or all-scope)."""
    if not principal.has(perm.ENTRY_REVIEW):
        return False
    if principal.has(SCOPE_ALL_DEPARTMENTS):
        return True
    if principal.department_id is None:
        return False
    return org_service.get_department(db, department_id=principal.department_id).kind == "platform"


def _search_text(entry: CatalogEntry, items: Iterable[InfoItem | CatalogItem], department_name: str) -> str:
    words = [entry.code, entry.name, entry.summary, entry.subject, entry.category, department_name, *entry.tags]
    for item in items:
        words += [item.name, item.label]
    return " ".join(w for w in words if w).lower()


def _to_read(entry: CatalogEntry, names: dict[int, str]) -> EntryRead:
    return EntryRead(
        id=entry.id,
        code=entry.code,
        name=entry.name,
        category=entry.category,
        subject=entry.subject,
        department_id=entry.department_id,
        department_code=entry.department_code,
        department_name=names.get(entry.department_id, entry.department_code),
        summary=entry.summary,
        format=entry.format,
        items=[InfoItem.model_validate(i) for i in entry.items],
        sharing_type=entry.sharing_type,
        sharing_condition=entry.sharing_condition,
        sharing_method=entry.sharing_method,
        open_type=entry.open_type,
        update_cycle=entry.update_cycle,
        release_date=entry.release_date,
        related_codes=list(entry.related_codes or []),
        data_grade=entry.data_grade,
        tags=list(entry.tags or []),
        licence=entry.licence,
        status=entry.status,
        version=entry.version,
        has_draft=entry.draft is not None,
        review_note=entry.review_note,
        created_at=entry.created_at,
        updated_at=entry.updated_at,
        published_at=entry.published_at,
    )


def _load(db: Session, code: str) -> CatalogEntry:
    entry = db.execute(select(CatalogEntry).where(CatalogEntry.code == code)).scalar_one_or_none()
    if entry is None:
        raise NotFound(f"资源目录 {code} 不存在")
    return entry


def _can_edit(db: Session, actor: Principal, entry: CatalogEntry) -> None:
    check(actor, perm.ENTRY_WRITE)
    if not actor.can_reach_department(entry.department_id) and not is_bureau(db, actor):
        raise PermissionDenied("只能编制本部门的资源目录", code="department_scope")


def _can_see(db: Session, actor: Principal, entry: CatalogEntry) -> bool:
    if entry.status == "published":
        return True
    return actor.can_reach_department(entry.department_id) or is_bureau(db, actor)


def _apply(entry: CatalogEntry, data: EntryCreate, department_name: str) -> None:
    """Copy the metadata and info items onto the row (the department is set by the caller)."""
    for name in (
        "name",
        "category",
        "subject",
        "summary",
        "format",
        "sharing_type",
        "sharing_condition",
        "sharing_method",
        "open_type",
        "update_cycle",
        "release_date",
        "data_grade",
        "licence",
    ):
        setattr(entry, name, getattr(data, name))
    entry.related_codes = list(data.related_codes)
    entry.tags = list(data.tags)
    # Update rows in place by field name: replacing the collection would insert the new rows before
    # deleting the old ones and trip the (entry, name) unique constraint.
    existing = {i.name: i for i in entry.items}
    kept = []
    for n, item in enumerate(data.items):
        row = existing.get(item.name) or CatalogItem(name=item.name)
        for attribute, value in item.model_dump().items():
            setattr(row, attribute, value)
        row.position = n
        kept.append(row)
    entry.items = kept
    entry.search_text = _search_text(entry, data.items, department_name)


def _next_code(db: Session, department_code: str) -> str:
    prefix = f"{department_code}-"
    last = db.execute(
        select(func.max(CatalogEntry.code)).where(CatalogEntry.code.like(f"{prefix}%"))
    ).scalar_one_or_none()
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:05d}"


def _department_for(db: Session, actor: Principal, code: str | None) -> DepartmentRead:
    if code is None:
        if actor.department_id is None:
            raise ValidationFailed("请指定提供方部门")
        return org_service.get_department(db, department_id=actor.department_id)
    department = org_service.get_department_by_code(db, code=code)
    if not actor.can_reach_department(department.id) and not is_bureau(db, actor):
        raise PermissionDenied("只能编制本部门的资源目录", code="department_scope")
    return department


# ---- writes -----------------------------------------------------------------------------------


def create_entry(db: Session, *, actor: Principal, data: EntryCreate, code: str | None = None) -> EntryRead:
    """A steward drafts a new entry for their department; the code is assigned unless given."""
    check(actor, perm.ENTRY_WRITE)
    department = _department_for(db, actor, data.department_code)
    code = code or _next_code(db, department.code)
    if db.execute(select(CatalogEntry.id).where(CatalogEntry.code == code)).first():
        raise Conflict(f"资源代码 {code} 已存在")
    now = utcnow()
    entry = CatalogEntry(
        code=code,
        department_id=department.id,
        department_code=department.code,
        status="draft",
        version=0,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    _apply(entry, data, department.short_name)
    db.add(entry)
    db.flush()
    audit.record(
        db, actor=actor, action="catalog.entry.create", target_type="catalog_entry", target_id=code, details={}
    )
    return _to_read(entry, {department.id: department.short_name})


def update_entry(db: Session, *, actor: Principal, code: str, data: EntryUpdate) -> EntryRead:
    """Edit a draft in place; edits to a published entry wait as a draft until published again."""
    entry = _load(db, code)
    _can_edit(db, actor, entry)
    if data.department_code and data.department_code != entry.department_code:
        raise ValidationFailed("不能修改资源的提供方部门")
    names = _department_names(db)
    if entry.status in ("published", "retired") or entry.version > 0:
        entry.draft = data.model_dump(mode="json")
        entry.status = "draft" if entry.status == "retired" else entry.status
    else:
        _apply(entry, data, names.get(entry.department_id, ""))
        entry.status = "draft"
    entry.updated_at = utcnow()
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="catalog.entry.update",
        target_type="catalog_entry",
        target_id=code,
        details={"note": data.note},
    )
    return _to_read(entry, names)


def submit_entry(db: Session, *, actor: Principal, code: str) -> EntryRead:
    """Send a draft (or pending changes of a published entry) to the big-data bureau."""
    entry = _load(db, code)
    _can_edit(db, actor, entry)
    if entry.status == "pending":
        raise Conflict("已提交审核")
    if entry.status == "published" and entry.draft is None:
        raise Conflict("没有待审核的修改")
    if not entry.items and not (entry.draft and entry.draft.get("items")):
        raise ValidationFailed("至少需要一个信息项才能提交审核")
    entry.status = "pending"
    entry.updated_at = utcnow()
    db.flush()
    audit.record(db, actor=actor, action="catalog.entry.submit", target_type="catalog_entry", target_id=code)
    return _to_read(entry, _department_names(db))


def review_entry(db: Session, *, actor: Principal, code: str, decision: ReviewDecision) -> EntryRead:
    """The bureau publishes (a new version is kept) or sends the entry back with its reasons."""
    if not is_bureau(db, actor):
        raise PermissionDenied("只有大数据局可以审核发布资源目录")
    entry = _load(db, code)
    if entry.status != "pending":
        raise Conflict("该目录不在待审核状态")
    if decision.approve and entry.created_by == actor.username:
        raise PermissionDenied(
            "职责分离：编制该目录的人员不能审核发布它，请由大数据局其他人员审核", code="separation_of_duties"
        )
    names = _department_names(db)
    if decision.approve:
        if entry.draft is not None:
            _apply(entry, EntryUpdate.model_validate(entry.draft), names.get(entry.department_id, ""))
            entry.draft = None
        _publish(db, entry, actor=actor.username, note=decision.note, names=names)
    else:
        if not decision.note:
            raise ValidationFailed("退回须说明理由")
        entry.status = "published" if entry.version > 0 else "draft"
    entry.review_note = decision.note
    entry.updated_at = utcnow()
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="catalog.entry.publish" if decision.approve else "catalog.entry.return",
        target_type="catalog_entry",
        target_id=code,
        details={"note": decision.note, "version": entry.version},
    )
    return _to_read(entry, names)


def _publish(db: Session, entry: CatalogEntry, *, actor: str, note: str, names: dict[int, str]) -> None:
    now = utcnow()
    entry.status = "published"
    entry.version += 1
    entry.published_at = now
    entry.release_date = entry.release_date or now.date()
    db.flush()
    snapshot = _to_read(entry, names).model_dump(mode="json")
    db.add(
        CatalogEntryVersion(
            entry_id=entry.id, version=entry.version, snapshot=snapshot, note=note, actor=actor, created_at=now
        )
    )


def retire_entry(db: Session, *, actor: Principal, code: str, reason: str) -> EntryRead:
    """Withdraw an entry from the catalog (its versions are kept)."""
    entry = _load(db, code)
    _can_edit(db, actor, entry)
    entry.status = "retired"
    entry.updated_at = utcnow()
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="catalog.entry.retire",
        target_type="catalog_entry",
        target_id=code,
        details={"reason": reason},
    )
    return _to_read(entry, _department_names(db))


def bulk_load(db: Session, *, actor: Principal, entries: list[tuple[str, EntryCreate]], publish: bool) -> int:
    """Load many entries at once (demo data, migrations from old catalogs); one audit entry for the batch."""
    names = _department_names(db)
    departments = {d.code: d for d in org_service.list_departments(db, include_inactive=True)}
    existing = set(db.execute(select(CatalogEntry.code)).scalars())
    now = utcnow()
    created = 0
    for code, data in entries:
        if code in existing:
            continue
        department = departments[data.department_code or ""]
        entry = CatalogEntry(
            code=code,
            department_id=department.id,
            department_code=department.code,
            status="draft",
            version=0,
            created_by=actor.username,
            created_at=now,
            updated_at=now,
        )
        _apply(entry, data, department.short_name)
        db.add(entry)
        if publish:
            db.flush()
            _publish(db, entry, actor=actor.username, note="批量装载", names=names)
        created += 1
    db.flush()
    audit.record(db, actor=actor, action="catalog.entry.bulk_load", target_type="catalog", details={"created": created})
    return created


# ---- reads ------------------------------------------------------------------------------------


def get_entry(db: Session, *, code: str, actor: Principal | None = None) -> EntryRead:
    """One entry; with an actor, unpublished entries are visible only to their department and the bureau."""
    entry = _load(db, code)
    if actor is not None and not _can_see(db, actor, entry):
        raise NotFound(f"资源目录 {code} 不存在")
    return _to_read(entry, _department_names(db))


def get_draft(db: Session, *, code: str, actor: Principal) -> EntryUpdate:
    """What the edit form shows: pending changes if any, else the entry as it stands."""
    entry = _load(db, code)
    _can_edit(db, actor, entry)
    if entry.draft is not None:
        return EntryUpdate.model_validate(entry.draft)
    read = _to_read(entry, {})
    data = read.model_dump(include=set(EntryCreate.model_fields) - {"department_code"})
    return EntryUpdate.model_validate(data)


def list_entries(
    db: Session,
    *,
    codes: Iterable[str] | None = None,
    status: str | None = "published",
    open_types: Iterable[str] | None = None,
    department_code: str | None = None,
) -> list[EntryRead]:
    """Entries for other domains (opendata, governance, brain), ordered by code."""
    stmt = select(CatalogEntry).order_by(CatalogEntry.code)
    if codes is not None:
        stmt = stmt.where(CatalogEntry.code.in_(list(codes)))
    if status:
        stmt = stmt.where(CatalogEntry.status == status)
    if open_types is not None:
        stmt = stmt.where(CatalogEntry.open_type.in_(list(open_types)))
    if department_code:
        stmt = stmt.where(CatalogEntry.department_code == department_code)
    names = _department_names(db)
    return [_to_read(e, names) for e in db.execute(stmt).scalars()]


# The columns a listing shows: listings read these instead of building full records with info items.
_BRIEF_COLUMNS = (
    CatalogEntry.code,
    CatalogEntry.name,
    CatalogEntry.department_id,
    CatalogEntry.department_code,
    CatalogEntry.category,
    CatalogEntry.subject,
    CatalogEntry.summary,
    CatalogEntry.sharing_type,
    CatalogEntry.open_type,
    CatalogEntry.update_cycle,
    CatalogEntry.data_grade,
    CatalogEntry.status,
)


def openable_entries(db: Session, *, exclude_codes: Iterable[str] = ()) -> list[OpenableEntry]:
    """Published entries whose open type allows opening, with their department id, ordered by code.

    Reads only the columns a listing shows, not the info items: the open data management page lists
    a thousand entries and building every full EntryRead took most of its time.
    """
    excluded = set(exclude_codes)
    columns = _BRIEF_COLUMNS
    stmt = (
        select(*columns)
        .where(CatalogEntry.status == "published", CatalogEntry.open_type != "不予开放")
        .order_by(CatalogEntry.code)
    )
    names = _department_names(db)
    return [
        OpenableEntry(
            code=r.code,
            name=r.name,
            department_id=r.department_id,
            department_code=r.department_code,
            department_name=names.get(r.department_id, r.department_code),
            category=r.category,
            subject=r.subject,
            summary=r.summary[:200],
            sharing_type=r.sharing_type,
            open_type=r.open_type,
            update_cycle=r.update_cycle,
            data_grade=r.data_grade,
            status=r.status,
        )
        for r in db.execute(stmt)
        if r.code not in excluded
    ]


def list_versions(db: Session, *, code: str, actor: Principal) -> list[EntryVersionRead]:
    entry = _load(db, code)
    if not _can_see(db, actor, entry):
        raise NotFound(f"资源目录 {code} 不存在")
    rows = db.execute(
        select(CatalogEntryVersion)
        .where(CatalogEntryVersion.entry_id == entry.id)
        .order_by(CatalogEntryVersion.version.desc())
    ).scalars()
    return [
        EntryVersionRead(version=v.version, created_at=v.created_at, actor=v.actor, note=v.note, snapshot=v.snapshot)
        for v in rows
    ]


@dataclass
class _SearchIndex:
    """Every entry's search text and facet values, kept in memory per database as a Polars frame and
    rebuilt when the catalog changes. Whether it changed is one indexed query (row count and latest
    updated_at), so several processes stay coherent without any messaging between them."""

    key: tuple[Any, ...] | None = None
    frame: pl.DataFrame | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_indexes: dict[str, _SearchIndex] = {}
_INDEX_COLUMNS = (
    "code",
    "search_text",
    "department_id",
    "department_code",
    "category",
    "sharing_type",
    "open_type",
    "status",
)


def change_marker(db: Session) -> tuple[int, datetime | None]:
    """Entries and the latest change to any of them: one indexed query that moves whenever the catalog
    changes, so caches built from it (the search index, the DCAT catalog) know when to rebuild."""
    count, latest = db.execute(select(func.count(CatalogEntry.id), func.max(CatalogEntry.updated_at))).one()
    return count, latest


def _index_frame(db: Session) -> pl.DataFrame:
    key = change_marker(db)
    index = _indexes.setdefault(str(db.get_bind().engine.url), _SearchIndex())
    if index.key == key and index.frame is not None:
        return index.frame
    with index.lock:
        if index.key != key or index.frame is None:
            columns = [getattr(CatalogEntry, c) for c in _INDEX_COLUMNS]
            rows = db.execute(select(*columns).order_by(CatalogEntry.code)).all()
            index.frame = pl.DataFrame(
                [tuple(r) for r in rows],
                schema={c: (pl.Int64 if c == "department_id" else pl.String) for c in _INDEX_COLUMNS},
                orient="row",
            )
            index.key = key
    return index.frame


def search(db: Session, *, query: SearchQuery, actor: Principal | None) -> SearchResult:
    """Substring search over name, summary, info items and tags (all terms must match), with facets.

    Runs over an in-memory Polars frame of the lower-cased `search_text` of every entry (see
    _SearchIndex): a vectorised literal substring scan of 10,000 rows takes well under a millisecond,
    where SQL LIKE '%空气%' cannot use an index on either engine (bench/catalog_search.py).
    """
    bureau = actor is not None and is_bureau(db, actor)
    scope = list(actor.scope_department_ids) if actor else []
    conditions = [pl.col("search_text").str.contains(term, literal=True) for term in query.q.lower().split()[:8]]
    for column, wanted in (
        ("status", query.status),
        ("department_code", query.department),
        ("category", query.category),
        ("sharing_type", query.sharing_type),
        ("open_type", query.open_type),
    ):
        if wanted:
            conditions.append(pl.col(column) == wanted)
    if not bureau:
        conditions.append((pl.col("status") == "published") | pl.col("department_id").is_in(scope))
    frame = _index_frame(db)
    found = frame.filter(pl.all_horizontal(conditions)) if conditions else frame
    facets: dict[str, dict[str, int]] = {}
    for facet in FACETS:
        column = "department_code" if facet == "department" else facet
        counts = found.group_by(column).len().sort(["len", column], descending=[True, False])
        facets[facet] = dict(zip(counts[column].to_list(), counts["len"].to_list(), strict=True))
    start = (query.page - 1) * query.size
    codes = found["code"].slice(start, query.size).to_list()
    total = found.height
    names = _department_names(db)
    columns = _BRIEF_COLUMNS
    rows = {r.code: r for r in db.execute(select(*columns).where(CatalogEntry.code.in_(codes)))} if codes else {}
    items = [
        EntryBrief(
            code=r.code,
            name=r.name,
            department_code=r.department_code,
            department_name=names.get(r.department_id, r.department_code),
            category=r.category,
            subject=r.subject,
            summary=r.summary[:200],
            sharing_type=r.sharing_type,
            open_type=r.open_type,
            update_cycle=r.update_cycle,
            data_grade=r.data_grade,
            status=r.status,
        )
        for r in (rows[c] for c in codes if c in rows)
    ]
    return SearchResult(items=items, total=total, page=query.page, size=query.size, facets=facets)


def catalog_figures(db: Session) -> dict[str, Any]:
    """Figures for the city brain: published entries, by department, sharing and open type."""
    published = CatalogEntry.status == "published"
    total = db.execute(select(func.count()).where(published)).scalar_one()
    by = {}
    for facet, column in _FACET_COLUMNS.items():
        by[facet] = dict(db.execute(select(column, func.count()).where(published).group_by(column)).all())
    departments = len(by["department"])
    return {"published_entries": total, "departments_with_entries": departments, "by": by}


def published_codes(db: Session) -> set[str]:
    return set(db.execute(select(CatalogEntry.code).where(CatalogEntry.status == "published")).scalars())
