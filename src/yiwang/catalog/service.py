"""Catalog rules: drafting, review and publication, versions, search with facets, XLSX exchange.

Other domains read entries through `get_entry`, `list_entries` and `catalog_figures`.
"""

import io
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.catalog import permissions as perm
from yiwang.catalog.models import CatalogEntry, CatalogEntryVersion, CatalogItem
from yiwang.catalog.schemas import (
    ENTRY_CODE,
    EntryBrief,
    EntryCreate,
    EntryRead,
    EntryUpdate,
    EntryVersionRead,
    ImportReport,
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
from yiwang.core.spreadsheets import append_row
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


# ---- XLSX import and export -------------------------------------------------------------------

ENTRY_COLUMNS = [
    ("code", "信息资源代码"),
    ("name", "信息资源名称"),
    ("category", "信息资源分类"),
    ("subject", "分类项目"),
    ("department_code", "提供方代码"),
    ("summary", "信息资源摘要"),
    ("format", "信息资源格式"),
    ("sharing_type", "共享类型"),
    ("sharing_condition", "共享条件"),
    ("sharing_method", "共享方式"),
    ("open_type", "开放属性"),
    ("update_cycle", "更新周期"),
    ("release_date", "发布日期"),
    ("related_codes", "关联资源代码"),
    ("data_grade", "数据分级"),
    ("tags", "标签"),
    ("licence", "开放许可"),
    ("status", "状态"),
]
ITEM_COLUMNS = [
    ("code", "信息资源代码"),
    ("name", "字段名"),
    ("label", "信息项名称"),
    ("data_type", "数据类型"),
    ("length", "长度"),
    ("required", "必填"),
    ("validator", "校验规则"),
    ("validator_arg", "校验参数"),
    ("sensitivity", "敏感级别"),
    ("masking", "脱敏规则"),
    ("is_key", "主键"),
]


def export_xlsx(db: Session, *, actor: Principal) -> bytes:
    """The catalog the caller can see, as an XLSX workbook with sheets 目录 and 信息项."""
    from openpyxl import Workbook

    check(actor, perm.ENTRY_READ)
    bureau = is_bureau(db, actor)
    workbook = Workbook(write_only=True)
    entries_sheet = workbook.create_sheet("目录")
    items_sheet = workbook.create_sheet("信息项")
    append_row(entries_sheet, [label for _, label in ENTRY_COLUMNS])
    append_row(items_sheet, [label for _, label in ITEM_COLUMNS])
    stmt = select(CatalogEntry).order_by(CatalogEntry.code)
    if not bureau:
        stmt = stmt.where(
            (CatalogEntry.status == "published") | CatalogEntry.department_id.in_(list(actor.scope_department_ids))
        )
    count = 0
    for entry in db.execute(stmt).scalars():
        row = []
        for name, _ in ENTRY_COLUMNS:
            value = getattr(entry, name)
            if isinstance(value, list):
                value = ",".join(value)
            elif isinstance(value, date):
                value = value.isoformat()
            row.append(value)
        append_row(entries_sheet, row)
        for item in entry.items:
            append_row(
                items_sheet,
                (
                    entry.code,
                    item.name,
                    item.label,
                    item.data_type,
                    item.length,
                    "是" if item.required else "否",
                    item.validator,
                    item.validator_arg,
                    item.sensitivity,
                    item.masking,
                    "是" if item.is_key else "否",
                ),
            )
        count += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    audit.record(db, actor=actor, action="catalog.export", target_type="catalog", details={"entries": count})
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _sheet_rows(workbook: Any, title: str, columns: list[tuple[str, str]]) -> list[tuple[int, dict[str, str]]]:
    if title not in workbook.sheetnames:
        raise ValidationFailed(f"工作簿缺少工作表“{title}”")
    rows = workbook[title].iter_rows(values_only=True)
    header = [_cell(c) for c in next(rows, ())]
    by_label = {label: name for name, label in columns}
    missing = [label for name, label in columns if label not in header and name not in ("status",)]
    if missing:
        raise ValidationFailed(f"工作表“{title}”缺少列", details={"missing": missing})
    found = []
    for number, values in enumerate(rows, start=2):
        if values is None or all(v is None or _cell(v) == "" for v in values):
            continue
        record = {by_label[h]: _cell(v) for h, v in zip(header, values, strict=False) if h in by_label}
        found.append((number, record))
    return found


def _yes(value: str) -> bool:
    return value in ("是", "Y", "y", "true", "True", "1", "TRUE")


def import_xlsx(db: Session, *, actor: Principal, content: bytes) -> ImportReport:
    """Create or update entries from a workbook laid out like export_xlsx; all rows or none.

    Every row is checked first; if any row fails, nothing is written and every problem is reported
    with its sheet and row number. Updates of published entries become pending drafts.
    """
    from openpyxl import load_workbook

    check(actor, perm.ENTRY_WRITE)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ValidationFailed("无法读取 XLSX 文件，请确认是 Excel 2007 及以上格式（.xlsx）") from exc
    entry_rows = _sheet_rows(workbook, "目录", ENTRY_COLUMNS)
    item_rows = _sheet_rows(workbook, "信息项", ITEM_COLUMNS)
    items_by_code: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, record in item_rows:
        items_by_code.setdefault(record.get("code", ""), []).append((number, record))
    errors: list[dict[str, Any]] = []
    parsed: list[tuple[str, EntryUpdate]] = []
    for number, record in entry_rows:
        code = record.get("code", "")
        try:
            items = [
                InfoItem(
                    name=r.get("name", ""),
                    label=r.get("label", ""),
                    data_type=r.get("data_type") or "string",
                    length=int(r["length"]) if r.get("length") else None,
                    required=_yes(r.get("required", "")),
                    validator=r.get("validator") or "none",
                    validator_arg=r.get("validator_arg", ""),
                    sensitivity=int(r.get("sensitivity") or 1),
                    masking=r.get("masking") or "none",
                    is_key=_yes(r.get("is_key", "")),
                )
                for _, r in items_by_code.get(code, [])
            ]
            data = EntryUpdate(
                name=record.get("name", ""),
                category=record.get("category") or "部门信息资源",
                subject=record.get("subject", ""),
                department_code=record.get("department_code") or None,
                summary=record.get("summary", ""),
                format=record.get("format") or "数据库",
                items=items,
                sharing_type=record.get("sharing_type") or "有条件共享",
                sharing_condition=record.get("sharing_condition", ""),
                sharing_method=record.get("sharing_method") or "接口",
                open_type=record.get("open_type") or "不予开放",
                update_cycle=record.get("update_cycle") or "每月",
                release_date=date.fromisoformat(record["release_date"]) if record.get("release_date") else None,
                related_codes=[c for c in record.get("related_codes", "").split(",") if c],
                data_grade=record.get("data_grade") or "2",
                tags=[t for t in record.get("tags", "").split(",") if t],
                licence=record.get("licence", ""),
                note="XLSX 导入",
            )
        except (ValidationError, ValueError) as exc:
            message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            errors.append(
                {"sheet": "目录", "row": number, "code": code, "message": message.removeprefix("Value error, ")}
            )
            continue
        parsed.append((code, data))
    known = set(db.execute(select(CatalogEntry.code)).scalars())
    for code in items_by_code:
        if code and code not in {c for c, _ in parsed} and code not in known:
            number = items_by_code[code][0][0]
            errors.append(
                {"sheet": "信息项", "row": number, "code": code, "message": "信息项引用的资源代码不在目录表中"}
            )
    if errors:
        raise ValidationFailed(f"导入失败：{len(errors)} 行有误，未写入任何数据", details={"errors": errors[:200]})
    created = updated = 0
    for code, data in parsed:
        if code and code in known:
            update_entry(db, actor=actor, code=code, data=data)
            updated += 1
        else:
            if code and not _code_ok(code):
                raise ValidationFailed(f"资源代码 {code} 格式无效")
            create_entry(db, actor=actor, data=data, code=code or None)
            created += 1
    audit.record(
        db,
        actor=actor,
        action="catalog.import",
        target_type="catalog",
        details={"created": created, "updated": updated},
    )
    return ImportReport(created=created, updated=updated)


def _code_ok(code: str) -> bool:
    return bool(ENTRY_CODE.match(code))
