"""Governance rules: mount data on catalog entries, keep immutable versions, report quality, and
derive de-identified views for sharing and opening.

Snapshots (storage.py) are Parquet files under `data_dir/governance/<entry code>/<uuid>/` written by Polars and
read with DuckDB. A version row points at its folder; a resource row points at its current version.
An ingest writes its folder first and switches the pointer last, in the caller's transaction, so a
failed or cancelled ingest leaves the current version as it was.
"""

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.catalog import service as catalog_service
from yiwang.catalog.schemas import EntryRead
from yiwang.core import audit
from yiwang.core.crypto import content_suite
from yiwang.core.db import changed_rows
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.security import Principal, check
from yiwang.core.spreadsheets import csv_bytes
from yiwang.core.timeutil import utcnow
from yiwang.governance import permissions as perm
from yiwang.governance import pipeline
from yiwang.governance.models import DataResource, DataVersion, IngestJob

# the read model other domains use, re-exported
from yiwang.governance.reads import (
    catalog_mounting as catalog_mounting,
)
from yiwang.governance.reads import (
    governance_figures as governance_figures,
)
from yiwang.governance.reads import (
    resource_status as resource_status,
)
from yiwang.governance.schemas import JobRead, VersionCompare, VersionRead
from yiwang.governance.storage import Progress, Snapshot, run_pipeline, storage_root

MAX_UPLOAD_BYTES = 512 * 1024 * 1024


# ---- versions ---------------------------------------------------------------------------------


def _entry_for_write(db: Session, actor: Principal, entry_code: str) -> EntryRead:
    check(actor, perm.DATA_WRITE)
    entry = catalog_service.get_entry(db, code=entry_code)
    if entry.status != "published":
        raise Conflict("资源目录发布后才能挂载数据")
    if not actor.can_reach_department(entry.department_id) and not catalog_service.is_bureau(db, actor):
        raise PermissionDenied("只能为本部门的资源挂载数据", code="department_scope")
    return entry


def _resource(db: Session, entry_code: str) -> DataResource | None:
    return db.execute(select(DataResource).where(DataResource.entry_code == entry_code)).scalar_one_or_none()


def register_snapshot(
    db: Session, *, actor: Principal, entry: EntryRead, snapshot: Snapshot, source: str, filename: str, note: str = ""
) -> VersionRead:
    """Record the snapshot as the entry's newest version and make it current."""
    resource = _resource(db, entry.code)
    if resource is None:
        resource = DataResource(entry_code=entry.code, department_id=entry.department_id)
        db.add(resource)
        db.flush()
    last = db.execute(
        select(func.max(DataVersion.version)).where(DataVersion.entry_code == entry.code)
    ).scalar_one_or_none()
    report = snapshot.report
    version = DataVersion(
        entry_code=entry.code,
        version=(last or 0) + 1,
        storage_key=snapshot.key,
        checksum=snapshot.checksum,
        checksum_algorithm=snapshot.checksum_algorithm,
        rows_in=report["rows_in"],
        rows_out=report["rows_out"],
        rows_quarantined=report["rows_quarantined"],
        duplicates=report["duplicates"],
        source=source,
        filename=filename[:200],
        encoding=snapshot.encoding,
        report=report,
        note=note,
        created_by=actor.username,
        created_at=utcnow(),
    )
    db.add(version)
    db.flush()
    resource.current_version_id = version.id
    resource.data_updated_at = version.created_at
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="governance.version.create",
        target_type="catalog_entry",
        target_id=entry.code,
        details={
            "version": version.version,
            "source": source,
            "rows_in": version.rows_in,
            "rows_out": version.rows_out,
            "quarantined": version.rows_quarantined,
            "checksum": version.checksum,
            "checksum_algorithm": version.checksum_algorithm,
        },
    )
    return _version_read(version, current=True)


def ingest(
    db: Session,
    *,
    actor: Principal,
    data_dir: Path,
    entry_code: str,
    content: bytes | None = None,
    filename: str = "data.csv",
    rows: list[dict[str, Any]] | None = None,
    source: str = "upload",
    note: str = "",
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> VersionRead:
    """Mount a file (CSV, XLSX, JSON) or pushed rows on an entry as a new current version."""
    entry = _entry_for_write(db, actor, entry_code)
    filename, note = filename.replace("\x00", ""), note.replace("\x00", "")
    if content is not None and len(content) > MAX_UPLOAD_BYTES:
        raise ValidationFailed("文件超过 512MB 上限")
    frame = pipeline.rows_to_frame(rows) if rows is not None else None
    snapshot = run_pipeline(
        data_dir=data_dir,
        entry_code=entry.code,
        items=entry.items,
        content=content,
        filename=filename,
        frame=frame,
        progress=progress,
        cancelled=cancelled,
        digest=content_suite(db),
    )
    return register_snapshot(
        db, actor=actor, entry=entry, snapshot=snapshot, source=source, filename=filename, note=note
    )


def ingest_frame(
    db: Session,
    *,
    actor: Principal,
    data_dir: Path,
    entry_code: str,
    frame: pl.DataFrame,
    source: str,
    label: str,
    note: str = "",
    progress: Progress | None = None,
) -> VersionRead:
    """Mount a frame of text columns (already read from another system, e.g. by collection) on an
    entry as a new current version, through the same pipeline as a file; `label` names where it came
    from in the version's file and encoding columns."""
    entry = _entry_for_write(db, actor, entry_code)
    snapshot = run_pipeline(
        data_dir=data_dir,
        entry_code=entry.code,
        items=entry.items,
        frame=frame,
        progress=progress,
        frame_label=label[:20],
        digest=content_suite(db),
    )
    return register_snapshot(db, actor=actor, entry=entry, snapshot=snapshot, source=source, filename=label, note=note)


def current_rows(db: Session, *, data_dir: Path, entry_code: str) -> pl.DataFrame | None:
    """The clean rows of the entry's current version, typed as stored (None when nothing is mounted);
    for a caller that builds the next version from the current one (incremental collection)."""
    resource = _resource(db, entry_code)
    if resource is None or resource.current_version_id is None:
        return None
    return pl.read_parquet(_parquet(data_dir, _version(db, entry_code, None)))


def read_table(content: bytes, filename: str) -> pl.DataFrame:
    """A CSV (UTF-8, GBK, GB18030), XLSX or JSON file as text columns, decoded as an upload would be."""
    return pipeline.read_any(content, filename)[0]


def _version_read(version: DataVersion, *, current: bool) -> VersionRead:
    read = VersionRead.model_validate(version)
    read.current = current
    return read


def _can_read(db: Session, actor: Principal, entry: EntryRead) -> None:
    check(actor, perm.DATA_READ)
    if not actor.can_reach_department(entry.department_id) and not catalog_service.is_bureau(db, actor):
        raise PermissionDenied("只能查看本部门的资源数据", code="department_scope")


def list_versions(db: Session, *, actor: Principal, entry_code: str) -> list[VersionRead]:
    entry = catalog_service.get_entry(db, code=entry_code)
    _can_read(db, actor, entry)
    resource = _resource(db, entry_code)
    current = resource.current_version_id if resource else None
    rows = db.execute(
        select(DataVersion).where(DataVersion.entry_code == entry_code).order_by(DataVersion.version.desc())
    ).scalars()
    return [_version_read(v, current=v.id == current) for v in rows]


def _version(db: Session, entry_code: str, number: int | None) -> DataVersion:
    if number is None:
        resource = _resource(db, entry_code)
        version = db.get(DataVersion, resource.current_version_id) if resource and resource.current_version_id else None
    else:
        version = db.execute(
            select(DataVersion).where(DataVersion.entry_code == entry_code, DataVersion.version == number)
        ).scalar_one_or_none()
    if version is None:
        raise NotFound(f"资源 {entry_code} 没有{'该版本' if number else '已挂载的数据'}")
    return version


def get_version(db: Session, *, actor: Principal, entry_code: str, version: int | None = None) -> VersionRead:
    entry = catalog_service.get_entry(db, code=entry_code)
    _can_read(db, actor, entry)
    found = _version(db, entry_code, version)
    resource = _resource(db, entry_code)
    return _version_read(found, current=resource is not None and resource.current_version_id == found.id)


def rollback(db: Session, *, actor: Principal, entry_code: str, version: int, reason: str = "") -> VersionRead:
    """Make an earlier version current again; no snapshot is changed or deleted."""
    _entry_for_write(db, actor, entry_code)
    target = _version(db, entry_code, version)
    resource = _resource(db, entry_code)
    if resource is None:
        raise NotFound("资源没有已挂载的数据")
    previous = db.get(DataVersion, resource.current_version_id) if resource.current_version_id else None
    if previous is not None and previous.id == target.id:
        raise Conflict(f"第 {version} 版已是当前版本")
    resource.current_version_id = target.id
    resource.data_updated_at = utcnow()
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="governance.version.rollback",
        target_type="catalog_entry",
        target_id=entry_code,
        details={"from": previous.version if previous else None, "to": version, "reason": reason},
    )
    return _version_read(target, current=True)


def _parquet(data_dir: Path, version: DataVersion, name: str = "data.parquet") -> Path:
    return storage_root(data_dir) / version.storage_key / name


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compare_versions(
    db: Session, *, actor: Principal, data_dir: Path, entry_code: str, base: int, other: int
) -> VersionCompare:
    """Rows added, removed and changed between two versions, matched on the entry's key fields."""
    entry = catalog_service.get_entry(db, code=entry_code)
    _can_read(db, actor, entry)
    old, new = _version(db, entry_code, base), _version(db, entry_code, other)
    a, b = str(_parquet(data_dir, old)), str(_parquet(data_dir, new))
    with duckdb.connect() as con:
        cols_a = list(pl.read_parquet_schema(a))
        cols_b = list(pl.read_parquet_schema(b))
        common = [c for c in cols_a if c in cols_b]
        keys = [k for k in entry.key_fields if k in common] or common
        others = [c for c in common if c not in keys]
        on = " AND ".join(f"a.{_quote(k)} IS NOT DISTINCT FROM b.{_quote(k)}" for k in keys)
        key_text = " || '|' || ".join(f"coalesce(CAST(x.{_quote(k)} AS VARCHAR), '')" for k in keys)
        differs = " OR ".join(f"a.{_quote(c)} IS DISTINCT FROM b.{_quote(c)}" for c in others) or "FALSE"
        con.sql(f"CREATE VIEW a AS SELECT * FROM read_parquet('{a}')")  # noqa: S608  (paths we made)
        con.sql(f"CREATE VIEW b AS SELECT * FROM read_parquet('{b}')")  # noqa: S608
        only_new = f"FROM b WHERE NOT EXISTS (SELECT 1 FROM a WHERE {on})"  # noqa: S608  (quoted names)
        only_old = f"FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE {on})"  # noqa: S608
        both = f"FROM a JOIN b ON {on}"

        def count(tail: str) -> int:
            return int(con.sql(f"SELECT count(*) {tail}").fetchall()[0][0])

        def sample(side: str, tail: str) -> list[str]:
            sql = f"SELECT {key_text.replace('x.', side + '.')} {tail} LIMIT 10"
            return [r[0] for r in con.sql(sql).fetchall()]

        added, removed = count(only_new), count(only_old)
        changed, matched = count(f"{both} WHERE {differs}"), count(both)
        samples = {
            "added": sample("b", only_new),
            "removed": sample("a", only_old),
            "changed": sample("b", f"{both} WHERE {differs}"),
        }
    return VersionCompare(
        entry_code=entry_code,
        base=base,
        other=other,
        key=keys,
        added=added,
        removed=removed,
        changed=changed,
        unchanged=matched - changed,
        samples=samples,
    )


def quarantine_csv(db: Session, *, actor: Principal, data_dir: Path, entry_code: str, version: int) -> bytes:
    """The rejected rows of a version with their row numbers and reasons, as UTF-8 CSV (with BOM for Excel)."""
    entry = catalog_service.get_entry(db, code=entry_code)
    _can_read(db, actor, entry)
    found = _version(db, entry_code, version)
    frame = pl.read_parquet(_parquet(data_dir, found, "quarantine.parquet"))
    labels = {i.name: i.label for i in entry.items} | {pipeline.ROW: "原文件行号", pipeline.REASONS: "问题"}
    frame = frame.rename({c: labels.get(c, c) for c in frame.columns})
    audit.record(
        db,
        actor=actor,
        action="governance.quarantine.download",
        target_type="catalog_entry",
        target_id=entry_code,
        details={"version": version, "rows": frame.height},
    )
    return csv_bytes(frame)


# ---- reading and de-identified views ----------------------------------------------------------


def _filter_sql(row_filter: dict[str, Any], allowed: set[str]) -> tuple[str, list[Any]]:
    """WHERE clause for an equality / IN filter on known columns, with bound parameters."""
    parts, params = [], []
    for column, wanted in row_filter.items():
        if column not in allowed:
            raise ValidationFailed(f"筛选字段 {column} 不是该资源的信息项")
        values = wanted if isinstance(wanted, list) else [wanted]
        if not values:
            raise ValidationFailed(f"筛选字段 {column} 没有取值")
        parts.append(f"CAST({_quote(column)} AS VARCHAR) IN ({', '.join('?' for _ in values)})")
        params += [str(v) for v in values]
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


def read_rows(
    db: Session,
    *,
    data_dir: Path,
    entry_code: str,
    fields: Sequence[str],
    masking: dict[str, str],
    pseudonym: Callable[[str, str], str],
    row_filter: dict[str, Any] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[pl.DataFrame, int]:
    """A page of the current version: only `fields`, filtered, in snapshot order, de-identified.

    Snapshots are immutable and DuckDB preserves a file's row order for a plain scan, so LIMIT/OFFSET
    pages are stable without sorting the whole snapshot for every page.

    For other domains (exchange grants, opendata views); they authorise the caller first. Returns
    the page and the total number of matching rows.
    """
    entry = catalog_service.get_entry(db, code=entry_code)
    version = _version(db, entry_code, None)
    names = {i.name for i in entry.items}
    unknown = [f for f in fields if f not in names]
    if unknown:
        raise ValidationFailed("字段不是该资源的信息项", details={"fields": unknown})
    path = str(_parquet(data_dir, version))
    stored = set(pl.read_parquet_schema(path))
    absent = [f for f in [*fields, *(row_filter or {})] if f not in stored]
    if absent:
        raise Conflict(
            "当前数据版本没有这些字段（目录的信息项在挂载后有变化），请重新挂载数据", details={"fields": absent}
        )
    where, params = _filter_sql(row_filter or {}, names)
    columns = ", ".join(_quote(f) for f in fields)
    with duckdb.connect() as con:
        con.sql("SET preserve_insertion_order = true")  # the default, stated because paging relies on it
        con.sql(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}')")  # noqa: S608  (a path we made)
        total = con.sql(f"SELECT count(*) FROM t{where}", params=params or None).fetchall()[0][0]  # noqa: S608
        page = pl.from_arrow(
            con.sql(
                f"SELECT {columns} FROM t{where} LIMIT ? OFFSET ?",  # noqa: S608
                params=[*params, limit, offset],
            ).to_arrow_table()
        )
    assert isinstance(page, pl.DataFrame)  # from a table, not a single column
    return pipeline.deidentify(page, masking, pseudonym), total


def open_view_methods(entry: EntryRead) -> dict[str, str]:
    """The methods an open (public) view applies: each item's own rule, and sensitive items with no
    rule (levels 3–4) are suppressed, so a public view never shows them in the clear."""
    methods: dict[str, str] = {}
    for item in entry.items:
        method: str = item.masking
        if method == "none" and item.sensitivity >= 3:
            method = "suppress"
        if item.sensitivity == 4 and method not in ("suppress", "pseudonym", "year", "age_band"):
            method = "suppress"
        methods[item.name] = method
    return methods


def read_view(
    db: Session,
    *,
    data_dir: Path,
    entry_code: str,
    pseudonym: Callable[[str, str], str],
    limit: int | None = None,
) -> pl.DataFrame:
    """The de-identified open view of the current version (for portal previews and downloads)."""
    entry = catalog_service.get_entry(db, code=entry_code)
    version = _version(db, entry_code, None)
    frame = pl.scan_parquet(_parquet(data_dir, version))
    frame = frame.head(limit) if limit else frame
    return pipeline.deidentify(frame.collect(), open_view_methods(entry), pseudonym)


def mounted_marker(db: Session) -> tuple[int, int, datetime | None]:
    """Mounted resources, the sum of their current version ids and their latest data update: it moves
    when data is mounted, replaced or rolled back, so caches of what is mounted know when to rebuild."""
    count, version_sum, latest = db.execute(
        select(
            func.count(DataResource.id),
            func.coalesce(func.sum(DataResource.current_version_id), 0),
            func.max(DataResource.data_updated_at),
        ).where(DataResource.current_version_id.isnot(None))
    ).one()
    return count, int(version_sum or 0), latest


# ---- background jobs --------------------------------------------------------------------------


def create_job(
    db: Session, *, actor: Principal, data_dir: Path, entry_code: str, content: bytes, filename: str
) -> JobRead:
    """Stage an uploaded file and queue its ingest; the page polls the job's progress."""
    _entry_for_write(db, actor, entry_code)
    filename = filename.replace("\x00", "")
    if not content:
        raise ValidationFailed("文件为空")
    if len(content) > MAX_UPLOAD_BYTES:
        raise ValidationFailed("文件超过 512MB 上限")
    staged = storage_root(data_dir) / "_uploads" / f"{uuid.uuid4().hex}-{Path(filename).name[-80:]}"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(content)
    job = IngestJob(
        entry_code=entry_code,
        status="queued",
        progress=0,
        stage="排队中",
        filename=Path(filename).name[:200],
        staged_path=str(staged),
        actor_id=actor.user_id,
        created_by=actor.username,
        created_at=utcnow(),
    )
    db.add(job)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="governance.job.create",
        target_type="catalog_entry",
        target_id=entry_code,
        details={"job": job.id, "filename": job.filename, "bytes": len(content)},
    )
    return JobRead.model_validate(job)


def get_job(db: Session, *, actor: Principal, job_id: int) -> JobRead:
    job = db.get(IngestJob, job_id)
    if job is None:
        raise NotFound("导入任务不存在")
    entry = catalog_service.get_entry(db, code=job.entry_code)
    _can_read(db, actor, entry)
    return JobRead.model_validate(job)


def list_jobs(db: Session, *, actor: Principal, entry_code: str, limit: int = 10) -> list[JobRead]:
    entry = catalog_service.get_entry(db, code=entry_code)
    _can_read(db, actor, entry)
    rows = db.execute(
        select(IngestJob).where(IngestJob.entry_code == entry_code).order_by(IngestJob.id.desc()).limit(limit)
    ).scalars()
    return [JobRead.model_validate(j) for j in rows]


def cancel_job(db: Session, *, actor: Principal, job_id: int) -> JobRead:
    job = db.get(IngestJob, job_id)
    if job is None:
        raise NotFound("导入任务不存在")
    _entry_for_write(db, actor, job.entry_code)
    if job.status not in ("queued", "running"):
        raise Conflict("任务已结束")
    job.cancel_requested = True
    if job.status == "queued":
        job.status, job.stage, job.finished_at = "cancelled", "已取消", utcnow()
    db.flush()
    audit.record(db, actor=actor, action="governance.job.cancel", target_type="ingest_job", target_id=job.id)
    return JobRead.model_validate(job)


def claim_queued_jobs(db: Session, *, limit: int = 5) -> list[int]:
    """Job ids this node now owns: an UPDATE … WHERE status='queued' wins for exactly one node."""
    from sqlalchemy import update

    claimed = []
    ids = list(db.execute(select(IngestJob.id).where(IngestJob.status == "queued").limit(limit)).scalars())
    for job_id in ids:
        changed = changed_rows(
            db,
            update(IngestJob)
            .where(IngestJob.id == job_id, IngestJob.status == "queued")
            .values(status="running", stage="开始", progress=1),
        )
        if changed == 1:
            claimed.append(job_id)
    return claimed


def claim_queued_jobs_by_id(db: Session, *, job_id: int) -> list[int]:
    from sqlalchemy import update

    changed = changed_rows(
        db,
        update(IngestJob)
        .where(IngestJob.id == job_id, IngestJob.status == "queued")
        .values(status="running", stage="开始", progress=1),
    )
    return [job_id] if changed == 1 else []


def job_actor(db: Session, job_id: int) -> Principal:
    """The uploader as a principal, rebuilt for the background run (their permissions at upload time
    were checked when the job was created; the run acts on their behalf)."""
    from yiwang.org import service as org_service

    job = db.get(IngestJob, job_id)
    if job is None:
        raise NotFound("导入任务不存在")
    department_id = None
    if job.actor_id:
        account = org_service.get_account(db, user_id=job.actor_id)
        department_id = account.department_id
    scope = (
        frozenset(org_service.department_subtree_ids(db, department_id=department_id)) if department_id else frozenset()
    )
    return Principal(
        user_id=job.actor_id,
        username=job.created_by,
        display_name=job.created_by,
        kind="staff",
        department_id=department_id,
        scope_department_ids=scope,
        # Authorised when the job was created; the run may cross scope as the uploader's agent.
        permissions=frozenset({perm.DATA_WRITE, perm.DATA_READ, SCOPE_ALL_DEPARTMENTS}),
        via="job",
    )


def job_state(db: Session, job_id: int) -> tuple[str, bool]:
    job = db.get(IngestJob, job_id)
    return (job.status, job.cancel_requested) if job else ("missing", True)


def update_job(db: Session, job_id: int, **values: Any) -> None:
    job = db.get(IngestJob, job_id)
    if job is None:
        return
    for name, value in values.items():
        setattr(job, name, value)
    db.flush()


def job_file(db: Session, job_id: int) -> tuple[str, str, Path]:
    job = db.get(IngestJob, job_id)
    if job is None:
        raise NotFound("导入任务不存在")
    return job.entry_code, job.filename, Path(job.staged_path)
