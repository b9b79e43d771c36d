"""One run of a source: take its lease, read the department's system, build the next version (the
rows read, or the current rows + changes − deletions), and mount it through the governance pipeline.

The version, the source's new watermark and the run's success commit in one transaction, so a run
that fails or is killed changes nothing: the current version stays, and the next run reads again
from the same watermark.
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from yiwang.catalog import service as catalog_service
from yiwang.catalog.schemas import InfoItem
from yiwang.collect import connectors, databases, runs
from yiwang.collect.connectors import CollectFailed, ReadResult, ReadSpec
from yiwang.collect.models import CollectRun
from yiwang.collect.schemas import ApiOptions, RunRead
from yiwang.collect.service import secret_context
from yiwang.core import audit
from yiwang.core.errors import AppError
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.governance import permissions as governance_perm
from yiwang.governance import service as governance

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]


def folder_root(runtime: Runtime) -> Path:
    """Where watched folders lie: sources name folders relative to it."""
    return runtime.settings.collect_folder_root or runtime.settings.data_dir / "collect_inbox"


@dataclass(frozen=True)
class Plan:
    """What one run will do, read from the source row before any slow work."""

    code: str
    entry_code: str
    department_id: int
    kind: str
    spec: ReadSpec
    items: list[InfoItem]
    keys: list[str]
    incremental: bool  # read changes only (a watermark exists, or a folder of change files)
    key_check: bool  # compare every key with the source to find deletions
    watermark: dict[str, Any] | None
    runs_since_key_check: int


def collector(code: str, department_id: int) -> Principal:
    """The identity a run mounts data as: its source's department, with governance's write right only."""
    return Principal(
        user_id=None,
        username=f"collect:{code}"[:100],
        display_name=f"数据归集 {code}",
        kind="system",
        department_id=department_id,
        scope_department_ids=frozenset({department_id}),
        permissions=frozenset({governance_perm.DATA_WRITE, governance_perm.DATA_READ}),
        via="job",
    )


def _plan(runtime: Runtime, claimed: runs.Claimed) -> Plan:
    settings = runtime.settings
    with runtime.db.unit_of_work() as db:
        source = runs.source_row(db, claimed.source_id)
        entry = catalog_service.get_entry(db, code=source.entry_code)
        secret = (
            runtime.cipher.decrypt(source.secret_enc, context=secret_context(source.code)) if source.secret_enc else ""
        )
        folder = connectors.folder_path(folder_root(runtime), source.location) if source.kind == "folder" else None
        spec = ReadSpec(
            kind=source.kind,
            location=source.location,
            table_name=source.table_name,
            query=source.query,
            api=ApiOptions.model_validate(source.options or {}),
            secret=secret,
            mapping=dict(source.mapping or {}),
            watermark_column=source.watermark_column,
            folder=folder,
            batch_rows=settings.collect_batch_rows,
        )
        incremental = source.mode == "incremental" and (source.kind == "folder" or source.watermark is not None)
        key_check = (
            incremental and source.key_check_every > 0 and source.runs_since_key_check + 1 >= source.key_check_every
        )
        return Plan(
            code=source.code,
            entry_code=entry.code,
            department_id=source.department_id,
            kind=source.kind,
            spec=spec,
            items=list(entry.items),
            keys=entry.key_fields,
            incremental=incremental,
            key_check=key_check,
            watermark=source.watermark if incremental else None,
            runs_since_key_check=source.runs_since_key_check,
        )


def to_items(frame: pl.DataFrame, items: Sequence[InfoItem], drop: Sequence[str] = ()) -> pl.DataFrame:
    """Columns named by field name or Chinese label renamed to the field name; `drop` removed unless an item."""
    lookup = {i.name.lower(): i.name for i in items} | {i.label: i.name for i in items}
    names = {i.name for i in items}
    frame = frame.drop([c for c in drop if c in frame.columns and c not in names])
    renames = {c: lookup.get(c.strip(), lookup.get(c.strip().lower(), c)) for c in frame.columns}
    if len(set(renames.values())) == len(renames):
        frame = frame.rename(renames)
    return frame


def _read(plan: Plan, *, read_table: Callable[[bytes, str], pl.DataFrame], on_rows: connectors.RowsRead) -> ReadResult:
    if plan.kind == "database":
        return databases.read_database(plan.spec, since=plan.watermark, on_rows=on_rows)
    if plan.kind == "api":
        return connectors.read_api(plan.spec, since=plan.watermark, on_rows=on_rows)
    return connectors.read_folder(plan.spec, read_table=read_table, newest_only=not plan.incremental)


def _source_keys(plan: Plan) -> pl.DataFrame:
    """Every key the source holds now (for the deletion check), as text columns named after the items."""
    reverse = {item: source for source, item in plan.spec.mapping.items()}
    columns = [reverse.get(k, k) for k in plan.keys]
    if plan.kind == "database":
        result = databases.read_database(plan.spec, columns=columns, on_rows=lambda _n: None)
        frame = result.frame.rename(dict(zip(columns, plan.keys, strict=True)))
    else:
        full = connectors.read_api(plan.spec, on_rows=lambda _n: None)
        frame = to_items(full.frame, plan.items)
    return frame.select([pl.col(k).cast(pl.String).str.strip_chars() for k in plan.keys])


@dataclass
class Built:
    frame: pl.DataFrame | None  # None: nothing changed, no new version
    rows_deleted: int = 0


def build(plan: Plan, changes: pl.DataFrame, current: pl.DataFrame | None, source_keys: pl.DataFrame | None) -> Built:
    """The next version's rows. A full load is what was read. An incremental one is the changes first
    (so a change wins over the row it replaces if the pipeline sees both), then the current rows whose
    key did not change, less the keys the source no longer holds."""
    if not plan.incremental or current is None:
        return Built(changes)
    keys = plan.keys
    missing = [k for k in keys if k not in changes.columns]
    if changes.height and missing:
        raise CollectFailed("增量数据缺少主键列：" + "、".join(missing))
    current = connectors.as_text(current)
    changed_keys = (
        changes.select([pl.col(k).cast(pl.String).str.strip_chars() for k in keys]) if changes.height else None
    )
    rest = current.join(changed_keys, on=keys, how="anti") if changed_keys is not None else current
    deleted = 0
    if source_keys is not None:
        kept = rest.join(source_keys, on=keys, how="semi")
        deleted = rest.height - kept.height
        rest = kept
    if changes.height == 0 and deleted == 0:
        return Built(None)
    return Built(pl.concat([changes, rest], how="diagonal_relaxed"), deleted)


class _Heartbeat:
    """Renews the run's lease every third of its length, in a thread, while the run works."""

    def __init__(self, runtime: Runtime, claimed: runs.Claimed) -> None:
        self.runtime, self.claimed = runtime, claimed
        self.seconds = runtime.settings.collect_lease_seconds
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"collect-lease-{claimed.code}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                with self.runtime.db.unit_of_work() as db:
                    if not runs.renew(db, claimed=self.claimed, lease_seconds=self.seconds):
                        self.lost = True
                        return
            except Exception:  # a database hiccup: try again on the next beat
                log.warning("could not renew the lease of %s", self.claimed.code, exc_info=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def run_source(
    runtime: Runtime, *, source_id: int, trigger: str = "auto", progress: Progress | None = None
) -> RunRead | None:
    """Run the source once if no other run holds it; returns the finished run (None: it was taken)."""
    with runtime.db.unit_of_work() as db:
        claimed = runs.claim(
            db, source_id=source_id, trigger=trigger, lease_seconds=runtime.settings.collect_lease_seconds
        )
    if claimed is None:
        return None
    notify = progress or (lambda _f, _s: None)
    figures: dict[str, Any] = {"rows_read": 0}
    try:
        with _Heartbeat(runtime, claimed) as heartbeat:
            _run(runtime, claimed, heartbeat, figures, notify)
    except Exception as exc:
        message = exc.message if isinstance(exc, AppError) else f"系统错误：{type(exc).__name__}"
        if not isinstance(exc, AppError):
            log.exception("collection run of %s failed", claimed.code)
        _fail(runtime, claimed, message, figures)
    with runtime.db.read_only() as db:
        return RunRead.model_validate(db.get(CollectRun, claimed.run_id))


def _run(
    runtime: Runtime, claimed: runs.Claimed, heartbeat: _Heartbeat, figures: dict[str, Any], notify: Progress
) -> None:
    plan = _plan(runtime, claimed)
    data_dir = runtime.settings.data_dir

    def on_rows(count: int) -> None:
        figures["rows_read"] = count
        notify(0.05, f"已读取 {count:,} 行")

    notify(0.01, "连接数据源")
    result = _read(plan, read_table=governance.read_table, on_rows=on_rows)
    figures["rows_read"] = result.rows_read
    changes = to_items(result.frame, plan.items, drop=[plan.spec.watermark_column])
    current = None
    if plan.incremental:
        with runtime.db.read_only() as db:
            current = governance.current_rows(db, data_dir=data_dir, entry_code=plan.entry_code)
    source_keys = None
    if plan.key_check and current is not None:
        notify(0.3, "全量主键比对")
        source_keys = _source_keys(plan)
    built = build(plan, changes, current, source_keys)
    if built.frame is not None and built.frame.height == 0 and plan.kind == "folder":
        built = Built(None)
    with runtime.db.unit_of_work() as db:
        if heartbeat.lost or not runs.holds_lease(db, claimed=claimed):
            raise CollectFailed("运行租约已被接管，本次结果未入库")
        source = runs.source_row(db, claimed.source_id)
        version = None
        if built.frame is not None:
            version = governance.ingest_frame(
                db,
                actor=collector(plan.code, plan.department_id),
                data_dir=data_dir,
                entry_code=plan.entry_code,
                frame=built.frame,
                source="collect",
                label=f"collect:{plan.code}",
                note=f"数据归集 {plan.code}（{'增量' if plan.incremental else '全量'}）",
                progress=lambda fraction, stage: notify(0.4 + fraction * 0.6, stage),
            )
        if result.watermark is not None:
            source.watermark = connectors.greater(source.watermark if plan.incremental else None, result.watermark)
        source.runs_since_key_check = (
            0 if plan.key_check else plan.runs_since_key_check + (1 if plan.incremental else 0)
        )
        runs.finish(
            db,
            claimed=claimed,
            status="succeeded" if version else "unchanged",
            rows_read=result.rows_read,
            rows_loaded=version.rows_out if version else 0,
            rows_quarantined=version.rows_quarantined if version else 0,
            rows_deleted=built.rows_deleted,
            key_check=plan.key_check and current is not None,
            version=version.version if version else None,
        )
    _move_collected(result)
    notify(1.0, "完成")


def _move_collected(result: ReadResult) -> None:
    """Files of a folder source go to its `done` folder once their version has committed (a crash
    before this re-reads them, which yields the same rows again)."""
    for path in result.files:
        done = path.parent / "done"
        done.mkdir(exist_ok=True)
        path.rename(done / f"{time.strftime('%Y%m%d%H%M%S')}-{path.name}")


def _fail(runtime: Runtime, claimed: runs.Claimed, message: str, figures: dict[str, Any]) -> None:
    """Record the failure, open the stewards' alert and release the lease; the version stays as it was."""
    with runtime.db.unit_of_work() as db:
        source = runs.source_row(db, claimed.source_id)
        runs.finish(db, claimed=claimed, status="failed", error=message[:2000], rows_read=figures["rows_read"])
        audit.record(
            db,
            actor=collector(source.code, source.department_id),
            action="collect.run.fail",
            target_type="collect_source",
            target_id=source.code,
            details={"run": claimed.run_id, "error": message[:500]},
        )
