"""Open data rules: publishing datasets, search with facets, freshness and quality, de-identified
previews and downloads, conditional-open applications, and per-key rate limits.

Datasets read their metadata live from the catalog and their rows from governance's open view
(each info item's de-identification rule, sensitive items suppressed).
"""

import io
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.catalog import service as catalog_service
from yiwang.catalog.schemas import CYCLE_DAYS, EntryRead
from yiwang.core import audit
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, TooManyRequests, ValidationFailed
from yiwang.core.security import Principal, check
from yiwang.core.spreadsheets import append_row, csv_bytes
from yiwang.core.timeutil import utcnow
from yiwang.governance import service as governance_service
from yiwang.opendata import permissions as perm
from yiwang.opendata.models import OpenApplication, OpenDataset, RateBucket

# the read model other domains use, re-exported
from yiwang.opendata.reads import (
    enterprise_approvals as enterprise_approvals,
)
from yiwang.opendata.schemas import (
    DatasetRead,
    DatasetSearch,
    DepartmentOpenData,
    OpenApplicationRead,
    OpenDecision,
    PortalFigures,
)
from yiwang.org import service as org_service

FORMATS = ("CSV", "JSON", "XLSX")
DEFAULT_PER_MINUTE = 60
OPEN_FORMATS = {"数据库", "电子表格", "接口", "文件"}
COVERED_KINDS = ("platform", "department", "command_center")


# ---- publishing -------------------------------------------------------------------------------


def publish_dataset(db: Session, *, actor: Principal, entry_code: str) -> DatasetRead:
    """Open a published catalog entry whose open type allows it (重要/核心 data never opens)."""
    check(actor, perm.DATASET_WRITE)
    entry = catalog_service.get_entry(db, code=entry_code)
    if entry.status != "published":
        raise Conflict("资源目录发布后才能开放")
    if entry.open_type == "不予开放" or entry.data_grade in ("重要", "核心"):
        raise ValidationFailed("该资源不予开放（重要数据、核心数据或开放属性为不予开放）", code="not_openable")
    if not actor.can_reach_department(entry.department_id) and not catalog_service.is_bureau(db, actor):
        raise PermissionDenied("只能开放本部门的资源", code="department_scope")
    dataset = _dataset_row(db, entry_code)
    now = utcnow()
    if dataset is None:
        dataset = OpenDataset(
            entry_code=entry.code, name=entry.code.lower(), published_at=now, published_by=actor.username
        )
        db.add(dataset)
    _copy(dataset, entry)
    dataset.status, dataset.updated_at = "published", now
    db.flush()
    audit.record(db, actor=actor, action="opendata.dataset.publish", target_type="open_dataset", target_id=entry.code)
    return _reads(db, [dataset])[0]


def _copy(dataset: OpenDataset, entry: EntryRead) -> None:
    dataset.title = entry.name
    dataset.department_id, dataset.department_code = entry.department_id, entry.department_code
    dataset.open_type, dataset.category, dataset.tags = entry.open_type, entry.category, list(entry.tags)
    words = [entry.code, entry.name, entry.summary, entry.subject, entry.department_name, *entry.tags]
    words += [i.label for i in entry.items]
    dataset.search_text = " ".join(words).lower()


def withdraw_dataset(db: Session, *, actor: Principal, entry_code: str, reason: str) -> None:
    check(actor, perm.DATASET_WRITE)
    dataset = _dataset_row(db, entry_code)
    if dataset is None or dataset.status != "published":
        raise NotFound("开放数据集不存在")
    if not actor.can_reach_department(dataset.department_id) and not catalog_service.is_bureau(db, actor):
        raise PermissionDenied("只能撤回本部门的开放数据集", code="department_scope")
    dataset.status, dataset.updated_at = "withdrawn", utcnow()
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="opendata.dataset.withdraw",
        target_type="open_dataset",
        target_id=entry_code,
        details={"reason": reason},
    )


def bulk_publish(db: Session, *, actor: Principal, entry_codes: list[str]) -> int:
    """Open many entries at once (demo data); one audit entry for the batch."""
    entries = {e.code: e for e in catalog_service.list_entries(db, codes=entry_codes)}
    existing = set(db.execute(select(OpenDataset.entry_code)).scalars())
    now, count = utcnow(), 0
    for code, entry in entries.items():
        if code in existing or entry.open_type == "不予开放" or entry.data_grade in ("重要", "核心"):
            continue
        dataset = OpenDataset(
            entry_code=code,
            name=code.lower(),
            published_at=now,
            published_by=actor.username,
            status="published",
            updated_at=now,
        )
        _copy(dataset, entry)
        db.add(dataset)
        count += 1
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="opendata.dataset.bulk_publish",
        target_type="open_dataset",
        details={"published": count},
    )
    return count


def _dataset_row(db: Session, code: str) -> OpenDataset | None:
    return db.execute(
        select(OpenDataset).where((OpenDataset.entry_code == code) | (OpenDataset.name == code))
    ).scalar_one_or_none()


def _published(db: Session, code: str) -> OpenDataset:
    dataset = _dataset_row(db, code)
    if dataset is None or dataset.status != "published":
        raise NotFound(f"开放数据集 {code} 不存在")
    return dataset


# ---- reading ----------------------------------------------------------------------------------


def is_fresh(update_cycle: str, data_updated_at: datetime | None, now: datetime | None = None) -> bool:
    """Fresh when the last data update lies within the update cycle (with a day of slack for 实时)."""
    if data_updated_at is None:
        return False
    return (now or utcnow()) - data_updated_at <= timedelta(days=CYCLE_DAYS.get(update_cycle, 32))


def quality_checks(entry: EntryRead, *, mounted: bool, fresh: bool) -> dict[str, bool]:
    """The five checks of the quality score, 20 points each."""
    return {
        "description": len(entry.summary) >= 20,
        "documented_fields": bool(entry.items) and all(i.label and i.label != i.name for i in entry.items),
        "open_format": mounted and entry.format in OPEN_FORMATS,
        "licence": bool(entry.licence),
        "update_cycle_kept": fresh,
    }


def _reads(db: Session, datasets: list[OpenDataset]) -> list[DatasetRead]:
    codes = [d.entry_code for d in datasets]
    entries = {e.code: e for e in catalog_service.list_entries(db, codes=codes)}
    status = governance_service.resource_status(db, entry_codes=codes)
    now, found = utcnow(), []
    for dataset in datasets:
        entry = entries.get(dataset.entry_code)
        if entry is None:
            continue
        state = status.get(dataset.entry_code)
        updated = state.data_updated_at if state else None
        fresh = is_fresh(entry.update_cycle, updated, now)
        checks = quality_checks(entry, mounted=state is not None, fresh=fresh)
        methods = governance_service.open_view_methods(entry)
        found.append(
            DatasetRead(
                code=entry.code,
                name=dataset.name,
                title=entry.name,
                description=entry.summary,
                department_code=entry.department_code,
                department_name=entry.department_name,
                category=entry.category,
                subject=entry.subject,
                open_type=entry.open_type,
                update_cycle=entry.update_cycle,
                tags=entry.tags,
                licence=entry.licence,
                fields=[
                    {"name": i.name, "label": i.label, "type": i.data_type, "treatment": methods[i.name]}
                    for i in entry.items
                    if methods[i.name] != "suppress"
                ],
                published_at=dataset.published_at,
                data_updated_at=updated,
                rows=state.rows if state else 0,
                fresh=fresh,
                quality_score=20 * sum(checks.values()),
                quality=checks,
                views=dataset.views,
                downloads=dataset.downloads,
                formats=list(FORMATS) if state else [],
            )
        )
    return found


def search(
    db: Session,
    *,
    q: str = "",
    department: str | None = None,
    open_type: str | None = None,
    category: str | None = None,
    tag: str | None = None,
    offset: int = 0,
    limit: int = 20,
    sort: str = "title",
) -> DatasetSearch:
    """Search published datasets by substring with facets by department, open type, category and tag."""
    conditions = [OpenDataset.status == "published"]
    for term in q.lower().split()[:8]:
        conditions.append(OpenDataset.search_text.contains(term, autoescape=True))
    if department:
        conditions.append(OpenDataset.department_code == department)
    if open_type:
        conditions.append(OpenDataset.open_type == open_type)
    if category:
        conditions.append(OpenDataset.category == category)
    rows = list(db.execute(select(OpenDataset).where(*conditions)).scalars())
    if tag:
        rows = [r for r in rows if tag in (r.tags or [])]
    names = {d.code: d.short_name for d in org_service.list_departments(db, include_inactive=True)}
    facets: dict[str, dict[str, int]] = {"department": {}, "open_type": {}, "category": {}, "tag": {}}
    for row in rows:
        label = names.get(row.department_code, row.department_code)
        facets["department"][f"{row.department_code}|{label}"] = (
            facets["department"].get(f"{row.department_code}|{label}", 0) + 1
        )
        facets["open_type"][row.open_type] = facets["open_type"].get(row.open_type, 0) + 1
        facets["category"][row.category] = facets["category"].get(row.category, 0) + 1
        for t in row.tags or []:
            facets["tag"][t] = facets["tag"].get(t, 0) + 1
    facets = {k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in facets.items()}
    keyed = {
        "title": lambda r: r.title,
        "name": lambda r: r.name,
        "newest": lambda r: -r.updated_at.timestamp(),
        "popular": lambda r: -r.downloads,
    }
    rows.sort(key=keyed.get(sort, keyed["title"]))
    return DatasetSearch(items=_reads(db, rows[offset : offset + limit]), total=len(rows), facets=facets)


def get_dataset(db: Session, *, code: str, count_view: bool = False) -> DatasetRead:
    dataset = _published(db, code)
    if count_view:
        dataset.views += 1
        db.flush()
    return _reads(db, [dataset])[0]


def all_datasets(db: Session) -> list[DatasetRead]:
    rows = list(
        db.execute(select(OpenDataset).where(OpenDataset.status == "published").order_by(OpenDataset.name)).scalars()
    )
    return _reads(db, rows)


def opened_entry_codes(db: Session) -> set[str]:
    """Catalog codes of the datasets currently open (published), without reading their metadata."""
    return set(db.execute(select(OpenDataset.entry_code).where(OpenDataset.status == "published")).scalars())


def catalog_marker(db: Session) -> tuple[Any, ...]:
    """What the public DCAT catalog is built from, in a few indexed queries: the open datasets, their
    catalog entries, their mounted data and department names. Any change to them moves it."""
    opened = tuple(db.execute(select(func.count(OpenDataset.id), func.max(OpenDataset.updated_at))).one())
    return (
        opened,
        catalog_service.change_marker(db),
        governance_service.mounted_marker(db),
        org_service.access_version(db),
    )


def _may_read_rows(db: Session, dataset: OpenDataset, actor: Principal | None) -> None:
    """有条件开放 rows need an approved application of the caller's account."""
    if dataset.open_type == "无条件开放":
        return
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied("有条件开放数据须登录并经申请批准后使用", code="application_required")
    approved = db.execute(
        select(OpenApplication.id).where(
            OpenApplication.dataset_id == dataset.id,
            OpenApplication.user_id == actor.user_id,
            OpenApplication.status == "approved",
        )
    ).first()
    if approved is None:
        raise PermissionDenied("有条件开放数据须经申请批准后使用", code="application_required")


def preview(
    db: Session, *, code: str, data_dir: Path, pseudonym: Callable[[str, str], str], limit: int = 10
) -> pl.DataFrame | None:
    """The first rows, de-identified, of an unconditionally open dataset (None when nothing is mounted)."""
    dataset = _published(db, code)
    if dataset.open_type != "无条件开放":
        return None
    try:
        return governance_service.read_view(
            db, data_dir=data_dir, entry_code=dataset.entry_code, pseudonym=pseudonym, limit=limit
        )
    except NotFound:
        return None


def rows_page(
    db: Session,
    *,
    actor: Principal | None,
    code: str,
    data_dir: Path,
    pseudonym: Callable[[str, str], str],
    offset: int,
    limit: int,
) -> dict[str, Any]:
    """A page of the open view for the open API."""
    dataset = _published(db, code)
    _may_read_rows(db, dataset, actor)
    entry = catalog_service.get_entry(db, code=dataset.entry_code)
    methods = governance_service.open_view_methods(entry)
    fields = [name for name, method in methods.items() if method != "suppress"]
    frame, total = governance_service.read_rows(
        db,
        data_dir=data_dir,
        entry_code=dataset.entry_code,
        fields=fields,
        masking=methods,
        pseudonym=pseudonym,
        offset=offset,
        limit=limit,
    )
    return {"dataset": dataset.name, "total": total, "offset": offset, "limit": limit, "rows": _json_rows(frame)}


def _json_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
        for r in frame.iter_rows(named=True)
    ]


def download(
    db: Session, *, actor: Principal | None, code: str, fmt: str, data_dir: Path, pseudonym: Callable[[str, str], str]
) -> tuple[bytes, str]:
    """The whole open view as CSV (UTF-8 with BOM), JSON or XLSX; counted and, for named users, audited."""
    dataset = _published(db, code)
    _may_read_rows(db, dataset, actor)
    frame = governance_service.read_view(db, data_dir=data_dir, entry_code=dataset.entry_code, pseudonym=pseudonym)
    fmt = fmt.lower()
    if fmt == "csv":
        content, media = csv_bytes(frame), "text/csv; charset=utf-8"
    elif fmt == "json":
        content = json.dumps(_json_rows(frame), ensure_ascii=False).encode()
        media = "application/json"
    elif fmt == "xlsx":
        content, media = _xlsx(frame), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        raise NotFound("不支持的下载格式")
    dataset.downloads += 1
    db.flush()
    if actor is not None and actor.is_authenticated:
        audit.record(
            db,
            actor=actor,
            action="opendata.download",
            target_type="open_dataset",
            target_id=dataset.entry_code,
            details={"format": fmt, "rows": frame.height},
        )
    return content, media


def _xlsx(frame: pl.DataFrame) -> bytes:
    from openpyxl import Workbook

    def cell(value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    append_row(sheet, frame.columns)
    for row in frame.iter_rows():
        append_row(sheet, [cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def chart(db: Session, *, code: str, data_dir: Path, pseudonym: Callable[[str, str], str]) -> dict[str, Any] | None:
    """An ECharts option for a dataset with a numeric column: by date when there is a time column,
    else by a short category column, else a histogram. None when nothing can be charted."""
    dataset = _published(db, code)
    if dataset.open_type != "无条件开放":
        return None
    try:
        frame = governance_service.read_view(
            db, data_dir=data_dir, entry_code=dataset.entry_code, pseudonym=pseudonym, limit=200_000
        )
    except NotFound:
        return None
    entry = catalog_service.get_entry(db, code=dataset.entry_code)
    labels = {i.name: i.label for i in entry.items}
    numeric = [c for c, t in frame.schema.items() if t.is_numeric() and c in labels and not c.endswith("_id")]
    if not numeric or frame.height == 0:
        return None
    value = numeric[0]
    times = [c for c, t in frame.schema.items() if t in (pl.Date,) or isinstance(t, pl.Datetime)]
    if times:
        series = (
            frame.group_by(pl.col(times[0]).cast(pl.Date).alias("x"))
            .agg(pl.col(value).mean().round(2).alias("y"))
            .sort("x")
            .tail(366)
        )
        return _option(
            f"{labels[value]}（按{labels.get(times[0], times[0])}平均）",
            "line",
            [str(x) for x in series["x"]],
            series["y"].to_list(),
        )
    categories = [c for c, t in frame.schema.items() if t == pl.String and 1 < frame[c].n_unique() <= 30]
    if categories:
        series = frame.group_by(categories[0]).agg(pl.col(value).mean().round(2).alias("y")).sort("y", descending=True)
        return _option(
            f"{labels[value]}（按{labels.get(categories[0], categories[0])}平均）",
            "bar",
            series[categories[0]].to_list(),
            series["y"].to_list(),
        )
    column = frame[value].drop_nulls().cast(pl.Float64)
    if column.is_empty():  # the column holds no value at all
        return None
    values = column.to_numpy()
    low, high = float(values.min()), float(values.max())
    width = (high - low) / 10 or 1
    buckets = ((column - low) / width).floor().clip(0, 9).value_counts().sort(column.name)
    names = [f"{low + width * int(b):.4g}" for b in buckets[column.name]]
    return _option(f"{labels[value]}分布", "bar", names, buckets["count"].to_list())


def _option(title: str, kind: str, x: list[Any], y: list[Any]) -> dict[str, Any]:
    return {
        "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": x},
        "yAxis": {"type": "value"},
        "series": [
            {"type": kind, "data": [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in y]}
        ],
    }


# ---- conditional open -------------------------------------------------------------------------


def apply_for(db: Session, *, actor: Principal, code: str, purpose: str) -> OpenApplicationRead:
    """Ask to use a 有条件开放 dataset; the big-data bureau decides."""
    if not actor.is_authenticated or actor.user_id is None:
        raise PermissionDenied("请先登录")
    dataset = _published(db, code)
    if dataset.open_type != "有条件开放":
        raise ValidationFailed("该数据集无需申请")
    existing = db.execute(
        select(OpenApplication).where(
            OpenApplication.dataset_id == dataset.id, OpenApplication.user_id == actor.user_id
        )
    ).scalar_one_or_none()
    if existing is not None and existing.status in ("pending", "approved"):
        raise Conflict("已提交过申请")
    if existing is None:
        existing = OpenApplication(
            dataset_id=dataset.id,
            user_id=actor.user_id,
            username=actor.username,
            purpose=purpose,
            status="pending",
            created_at=utcnow(),
        )
        db.add(existing)
    else:
        existing.purpose, existing.status, existing.reason, existing.created_at = purpose, "pending", "", utcnow()
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="opendata.application.create",
        target_type="open_dataset",
        target_id=dataset.entry_code,
        details={"application": existing.id},
    )
    return OpenApplicationRead.model_validate(existing)


def decide(db: Session, *, actor: Principal, application_id: int, decision: OpenDecision) -> OpenApplicationRead:
    check(actor, perm.APPLICATION_REVIEW)
    application = db.get(OpenApplication, application_id)
    if application is None:
        raise NotFound("申请不存在")
    if application.status != "pending":
        raise Conflict("申请已处理")
    if not decision.approve and not decision.reason:
        raise ValidationFailed("拒绝须说明理由")
    application.status = "approved" if decision.approve else "refused"
    application.reason, application.decided_by, application.decided_at = decision.reason, actor.username, utcnow()
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=f"opendata.application.{application.status}",
        target_type="open_application",
        target_id=application.id,
        details={"reason": decision.reason},
    )
    return OpenApplicationRead.model_validate(application)


def list_applications(db: Session, *, actor: Principal, status: str | None = "pending") -> list[OpenApplicationRead]:
    check(actor, perm.APPLICATION_REVIEW)
    stmt = select(OpenApplication).order_by(OpenApplication.id.desc()).limit(500)
    if status:
        stmt = stmt.where(OpenApplication.status == status)
    return [OpenApplicationRead.model_validate(a) for a in db.execute(stmt).scalars()]


# ---- rate limits ------------------------------------------------------------------------------


def rate_key(principal: Principal) -> str:
    """One bucket per API key or access token (credential), else per account."""
    if principal.session_id is not None and principal.via in ("api_key", "token"):
        return f"credential:{principal.session_id}"
    return f"user:{principal.user_id}"


def take_token(db: Session, *, principal: Principal) -> float:
    """Spend one request from the caller's bucket or raise 429 with Retry-After (seconds).

    The bucket lives in the database, so every node of a deployment shares it (rows locked with
    SELECT … FOR UPDATE on PostgreSQL; SQLite transactions are IMMEDIATE already). Returns the
    tokens left.
    """
    key = rate_key(principal)
    now = utcnow()
    bucket = db.execute(select(RateBucket).where(RateBucket.key == key).with_for_update()).scalar_one_or_none()
    if bucket is None:
        bucket = RateBucket(key=key, per_minute=DEFAULT_PER_MINUTE, tokens=float(DEFAULT_PER_MINUTE), updated_at=now)
        db.add(bucket)
        db.flush()
    rate = bucket.per_minute / 60.0
    elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
    tokens = min(float(bucket.per_minute), bucket.tokens + elapsed * rate)
    bucket.updated_at = now
    if tokens < 1.0:
        bucket.tokens = tokens
        retry = max(1, math.ceil((1.0 - tokens) / rate))
        raise TooManyRequests(
            f"请求过于频繁：每分钟最多 {bucket.per_minute} 次，请 {retry} 秒后再试",
            details={"retry_after_seconds": retry, "limit_per_minute": bucket.per_minute},
            commit=True,
        )
    bucket.tokens = tokens - 1.0
    db.flush()
    return bucket.tokens


def quota(db: Session, *, principal: Principal) -> dict[str, Any]:
    """The caller's bucket: its key, per-minute limit and tokens left now (does not spend one)."""
    key = rate_key(principal)
    bucket = db.execute(select(RateBucket).where(RateBucket.key == key)).scalar_one_or_none()
    if bucket is None:
        return {"key": key, "per_minute": DEFAULT_PER_MINUTE, "remaining": DEFAULT_PER_MINUTE}
    elapsed = max(0.0, (utcnow() - bucket.updated_at).total_seconds())
    tokens = min(float(bucket.per_minute), bucket.tokens + elapsed * bucket.per_minute / 60.0)
    return {"key": key, "per_minute": bucket.per_minute, "remaining": int(tokens)}


def set_limit(db: Session, *, actor: Principal, key: str, per_minute: int) -> None:
    """Set a bucket's limit (key: credential:<id> or user:<id>)."""
    check(actor, perm.LIMIT_WRITE)
    bucket = db.execute(select(RateBucket).where(RateBucket.key == key)).scalar_one_or_none()
    if bucket is None:
        bucket = RateBucket(key=key, per_minute=per_minute, tokens=float(per_minute), updated_at=utcnow())
        db.add(bucket)
    bucket.per_minute = per_minute
    bucket.tokens = min(bucket.tokens, float(per_minute))
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="opendata.limit.set",
        target_type="rate_bucket",
        target_id=key,
        details={"per_minute": per_minute},
    )


# ---- figures ----------------------------------------------------------------------------------


def portal_figures(db: Session) -> PortalFigures:
    """For the portal and the city brain: indicator 12 (departments with an open dataset) and
    indicator 13 (share of open datasets that are fresh), with counts and the mean quality score."""
    datasets = all_datasets(db)
    departments = [d for d in org_service.list_departments(db) if d.kind in COVERED_KINDS]
    opened = {d.department_code for d in datasets}
    covered = [d for d in departments if d.code in opened]
    fresh = [d for d in datasets if d.fresh]
    by_department = {
        d.code: DepartmentOpenData(name=d.short_name, open=sum(1 for x in datasets if x.department_code == d.code))
        for d in departments
    }
    total_downloads = db.execute(select(func.coalesce(func.sum(OpenDataset.downloads), 0))).scalar_one()
    return PortalFigures(
        datasets=len(datasets),
        unconditional=sum(1 for d in datasets if d.open_type == "无条件开放"),
        conditional=sum(1 for d in datasets if d.open_type == "有条件开放"),
        with_data=sum(1 for d in datasets if d.rows),
        fresh=len(fresh),
        fresh_ratio=round(len(fresh) / len(datasets), 4) if datasets else 0.0,
        departments=len(departments),
        departments_open=len(covered),
        department_coverage=round(len(covered) / len(departments), 4) if departments else 0.0,
        by_department=by_department,
        mean_quality_score=round(sum(d.quality_score for d in datasets) / len(datasets), 1) if datasets else 0.0,
        downloads=int(total_downloads),
        as_of=datetime.now(UTC).isoformat(),
    )


def dataset_freshness(db: Session) -> list[dict[str, Any]]:
    """Each open dataset's update cycle, last update and freshness (for indicator 13's detail)."""
    return [
        {
            "code": d.code,
            "name": d.title,
            "department_code": d.department_code,
            "update_cycle": d.update_cycle,
            "data_updated_at": d.data_updated_at.isoformat() if d.data_updated_at else None,
            "fresh": d.fresh,
        }
        for d in all_datasets(db)
    ]
