"""Collection rules: who manages which source, what a source may say, its runs and its alerts.

The run itself (read, merge, mount as a governance version) is in loads.py; the lease and the run
records it keeps are in runs.py. Credentials are encrypted with the platform's field cipher and are
never returned: a source only says whether one is set.
"""

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.catalog import service as catalog_service
from yiwang.catalog.schemas import EntryRead
from yiwang.collect import connectors
from yiwang.collect import permissions as perm
from yiwang.collect.models import CollectRun, CollectSource
from yiwang.collect.schedule import check_cron, next_fire
from yiwang.collect.schemas import (
    ApiOptions,
    RunRead,
    SourceAlert,
    SourceCreate,
    SourceFields,
    SourceRead,
    SourceUpdate,
)
from yiwang.core import audit
from yiwang.core.crypto import FieldCipher
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.security import Principal, check
from yiwang.core.timeutil import utcnow

__all__ = [
    "SECRET_CONTEXT",
    "alerts_for",
    "create_source",
    "delete_source",
    "get_source",
    "list_runs",
    "list_sources",
    "request_run",
    "secret_context",
    "source_figures",
    "update_source",
]


# The cipher context of a source's credential, formatted with the source's code: an envelope copied
# to another source won't open. `yiwang keys reencrypt` formats it the same way (plugin.py).
SECRET_CONTEXT = "collect_source.secret:{code}"  # noqa: S105  (an encryption context, not a secret)


def secret_context(code: str) -> str:
    return SECRET_CONTEXT.format(code=code)


def _read(source: CollectSource, now: datetime | None = None) -> SourceRead:
    now = now or utcnow()
    return SourceRead(
        id=source.id,
        code=source.code,
        name=source.name,
        entry_code=source.entry_code,
        department_id=source.department_id,
        kind=source.kind,
        location=source.location,
        table_name=source.table_name,
        query=source.query,
        api=ApiOptions.model_validate(source.options or {}),
        mapping=dict(source.mapping or {}),
        mode=source.mode,
        watermark_column=source.watermark_column,
        watermark=connectors.watermark_text(source.watermark),
        key_check_every=source.key_check_every,
        schedule=source.schedule,
        enabled=source.enabled,
        next_run_at=source.next_run_at,
        secret_set=bool(source.secret_enc),
        alert_open=source.alert_open,
        last_status=source.last_status,
        last_run_at=source.last_run_at,
        running=source.lease_until is not None and source.lease_until > now,
        created_by=source.created_by,
        created_at=source.created_at,
        updated_at=source.updated_at,
    )


def _may_see(db: Session, actor: Principal, department_id: int) -> bool:
    return actor.can_reach_department(department_id) or catalog_service.is_bureau(db, actor)


def _check_manage(db: Session, actor: Principal, department_id: int) -> None:
    check(actor, perm.SOURCE_MANAGE)
    if not _may_see(db, actor, department_id):
        raise PermissionDenied("只能管理本部门资源的归集源", code="department_scope")


def _load(db: Session, code: str) -> CollectSource:
    source = db.execute(select(CollectSource).where(CollectSource.code == code)).scalar_one_or_none()
    if source is None:
        raise NotFound(f"归集源 {code} 不存在")
    return source


def _validate(data: SourceFields, entry: EntryRead, folder_root: Path) -> str:
    """Check the source against its entry; returns the location as stored."""
    if entry.status != "published":
        raise Conflict("资源目录发布后才能配置归集源")
    items = {i.name for i in entry.items}
    wrong = sorted({target for target in data.mapping.values() if target not in items})
    if wrong:
        raise ValidationFailed("映射的目标不是该资源的信息项：" + "、".join(wrong), details={"items": wrong})
    if len(set(data.mapping.values())) != len(data.mapping):
        raise ValidationFailed("两个源列映射到了同一信息项")
    if data.mode == "incremental" and not entry.key_fields:
        raise ValidationFailed("增量归集要求资源目录有主键信息项（用于合并与识别删除）")
    if data.schedule:
        check_cron(data.schedule)
    location = data.location.strip()
    if data.kind == "database":
        location = connectors.normalise_database_url(location)
        if data.table_name:
            connectors.check_table_name(data.table_name)
        else:
            connectors.check_query(data.query)
    elif data.kind == "api":
        connectors.check_api_url(location)
        if data.mode == "incremental" and not data.api.watermark_param:
            raise ValidationFailed("接口增量归集须指定携带水位线的查询参数")
    else:
        connectors.folder_path(folder_root, location)
        if data.key_check_every:
            raise ValidationFailed("文件夹源不做主键比对：全量文件即为完整数据")
    return location


def _apply(source: CollectSource, data: SourceFields, location: str, now: datetime) -> None:
    source.name = data.name
    source.kind = data.kind
    source.location = location
    source.table_name = data.table_name if data.kind == "database" else ""
    source.query = data.query if data.kind == "database" else ""
    source.options = data.api.model_dump() if data.kind == "api" else {}
    source.mapping = dict(data.mapping)
    source.mode = data.mode
    source.watermark_column = data.watermark_column if data.kind != "folder" else ""
    source.key_check_every = data.key_check_every
    source.schedule = data.schedule
    source.enabled = data.enabled
    source.next_run_at = next_fire(data.schedule, now) if data.schedule and data.enabled else None
    source.updated_at = now


def _described(source: CollectSource) -> dict[str, Any]:
    """What the audit chain records of a source: never its credential."""
    return {
        "entry": source.entry_code,
        "kind": source.kind,
        "location": source.location,
        "mode": source.mode,
        "schedule": source.schedule,
    }


def create_source(
    db: Session, *, actor: Principal, data: SourceCreate, cipher: FieldCipher, folder_root: Path
) -> SourceRead:
    """Register a source for a catalog entry of the steward's own department (the bureau: any)."""
    entry = catalog_service.get_entry(db, code=data.entry_code)
    _check_manage(db, actor, entry.department_id)
    location = _validate(data, entry, folder_root)
    if db.execute(select(CollectSource.id).where(CollectSource.code == data.code)).first():
        raise Conflict(f"归集源代码 {data.code} 已被使用")
    now = utcnow()
    source = CollectSource(
        code=data.code,
        entry_code=entry.code,
        department_id=entry.department_id,
        created_by=actor.username,
        created_at=now,
        secret_enc=cipher.encrypt(data.secret, context=secret_context(data.code)) if data.secret else None,
    )
    _apply(source, data, location, now)
    db.add(source)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="collect.source.create",
        target_type="collect_source",
        target_id=source.code,
        details=_described(source) | {"secret_set": bool(data.secret)},
    )
    return _read(source, now)


def update_source(
    db: Session, *, actor: Principal, code: str, data: SourceUpdate, cipher: FieldCipher, folder_root: Path
) -> SourceRead:
    """Change a source; an empty credential keeps the stored one, `clear_secret` removes it."""
    source = _load(db, code)
    _check_manage(db, actor, source.department_id)
    if data.entry_code != source.entry_code:
        raise ValidationFailed("归集源不能改挂到另一资源，请新建一个源")
    entry = catalog_service.get_entry(db, code=source.entry_code)
    location = _validate(data, entry, folder_root)
    reset = data.mode != source.mode or data.watermark_column != source.watermark_column or location != source.location
    now = utcnow()
    _apply(source, data, location, now)
    if reset:
        source.watermark = None  # a new origin or column: the next incremental run starts from the beginning
    if data.secret:
        source.secret_enc = cipher.encrypt(data.secret, context=secret_context(code))
    elif data.clear_secret:
        source.secret_enc = None
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="collect.source.update",
        target_type="collect_source",
        target_id=code,
        details=_described(source) | {"secret_changed": bool(data.secret or data.clear_secret)},
    )
    return _read(source, now)


def delete_source(db: Session, *, actor: Principal, code: str) -> None:
    """Remove a source (its runs stay for the record; the versions it made stay in governance)."""
    source = _load(db, code)
    _check_manage(db, actor, source.department_id)
    if source.lease_until is not None and source.lease_until > utcnow():
        raise Conflict("归集源正在运行，结束后才能删除")
    db.delete(source)
    db.flush()
    audit.record(db, actor=actor, action="collect.source.delete", target_type="collect_source", target_id=code)


def get_source(db: Session, *, actor: Principal, code: str) -> SourceRead:
    source = _load(db, code)
    check(actor, perm.SOURCE_READ)
    if not _may_see(db, actor, source.department_id):
        raise PermissionDenied("只能查看本部门的归集源", code="department_scope")
    return _read(source)


def list_sources(
    db: Session, *, actor: Principal, entry_code: str | None = None, offset: int = 0, limit: int = 20
) -> tuple[list[SourceRead], int]:
    """A page of the sources the caller may see, and how many there are."""
    check(actor, perm.SOURCE_READ)
    query = select(CollectSource)
    if not catalog_service.is_bureau(db, actor):
        query = query.where(CollectSource.department_id.in_(actor.scope_department_ids or {-1}))
    if entry_code:
        query = query.where(CollectSource.entry_code == entry_code)
    total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = db.execute(query.order_by(CollectSource.code).offset(offset).limit(limit)).scalars()
    now = utcnow()
    return [_read(s, now) for s in rows], total


def list_runs(
    db: Session, *, actor: Principal, code: str, offset: int = 0, limit: int = 20
) -> tuple[list[RunRead], int]:
    """A page of a source's runs, newest first, and how many there are."""
    source = _load(db, code)
    get_source(db, actor=actor, code=code)
    base = select(CollectRun).where(CollectRun.source_id == source.id)
    total = db.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = db.execute(base.order_by(CollectRun.id.desc()).offset(offset).limit(limit)).scalars()
    return [RunRead.model_validate(r) for r in rows], total


def request_run(db: Session, *, actor: Principal, code: str) -> SourceRead:
    """Ask for a run now; the worker (or the serving process on the embedded default) takes it."""
    source = _load(db, code)
    _check_manage(db, actor, source.department_id)
    source.run_requested = True
    db.flush()
    audit.record(db, actor=actor, action="collect.run.request", target_type="collect_source", target_id=code)
    return _read(source)


def alerts_for(db: Session, *, actor: Principal) -> list[SourceAlert]:
    """Sources whose last run failed, for the stewards who manage them (their workbench)."""
    if not actor.has(perm.SOURCE_MANAGE):
        return []
    query = select(CollectSource).where(CollectSource.alert_open.is_(True))
    if not catalog_service.is_bureau(db, actor):
        query = query.where(CollectSource.department_id.in_(actor.scope_department_ids or {-1}))
    return [
        SourceAlert(
            code=s.code,
            name=s.name,
            entry_code=s.entry_code,
            department_id=s.department_id,
            failed_at=s.last_run_at,
        )
        for s in db.execute(query.order_by(CollectSource.last_run_at.desc()).limit(50)).scalars()
    ]


def source_figures(db: Session) -> dict[str, int]:
    """Sources in all, scheduled, and failing now."""
    total, scheduled, failing = db.execute(
        select(
            func.count(CollectSource.id),
            func.count(CollectSource.id).filter(CollectSource.schedule != ""),
            func.count(CollectSource.id).filter(CollectSource.alert_open.is_(True)),
        )
    ).one()
    return {"sources": int(total), "scheduled": int(scheduled), "failing": int(failing)}
