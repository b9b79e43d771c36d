"""A source's lease and its run records. A run holds the source's lease, renewed while it works;
a second node, or a second run on the same node, cannot take it. A worker killed mid-run leaves its
lease to expire and its run 'running'; whoever takes the lease next marks that run interrupted."""

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from yiwang.collect.models import CollectRun, CollectSource
from yiwang.collect.schedule import next_fire
from yiwang.core.db import changed_rows
from yiwang.core.timeutil import utcnow

NODE = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Claimed:
    source_id: int
    code: str
    run_id: int
    owner: str


def due_sources(db: Session, *, now: datetime, limit: int = 20) -> list[int]:
    """Enabled sources whose schedule has come round, or that someone asked to run, and that no node holds."""
    query = (
        select(CollectSource.id)
        .where(
            or_(
                CollectSource.run_requested.is_(True),
                (CollectSource.enabled.is_(True)) & (CollectSource.next_run_at <= now),
            ),
            or_(CollectSource.lease_until.is_(None), CollectSource.lease_until < now),
        )
        .order_by(CollectSource.next_run_at)
        .limit(limit)
    )
    return list(db.execute(query).scalars())


def claim(db: Session, *, source_id: int, trigger: str, lease_seconds: int, owner: str = NODE) -> Claimed | None:
    """Take the source's lease and open a run; None when another run holds it. The next scheduled
    time moves on from now, so a source that was down for a day runs once, not once per missed tick."""
    now = utcnow()
    owner = f"{owner}:{uuid.uuid4().hex[:6]}"
    taken = changed_rows(
        db,
        update(CollectSource)
        .where(
            CollectSource.id == source_id,
            or_(CollectSource.lease_until.is_(None), CollectSource.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds)),
    )
    if taken != 1:
        return None
    now = utcnow()  # the update may have waited for another run's commit: the run starts now
    source = db.get(CollectSource, source_id)
    assert source is not None
    db.refresh(source)
    if trigger == "auto":
        trigger = "manual" if source.run_requested else "schedule"
    source.run_requested = False
    source.next_run_at = next_fire(source.schedule, now) if source.schedule and source.enabled else None
    db.execute(
        update(CollectRun)
        .where(CollectRun.source_id == source_id, CollectRun.status == "running")
        .values(status="interrupted", finished_at=now, error="运行进程中断（租约过期），本次未产生新版本")
    )
    run = CollectRun(source_id=source_id, trigger=trigger, status="running", node=owner[:80], started_at=now)
    db.add(run)
    db.flush()
    return Claimed(source_id=source_id, code=source.code, run_id=run.id, owner=owner)


def renew(db: Session, *, claimed: Claimed, lease_seconds: int) -> bool:
    """Extend the lease while the run works; False if it was lost (then the run must not commit)."""
    return (
        changed_rows(
            db,
            update(CollectSource)
            .where(CollectSource.id == claimed.source_id, CollectSource.lease_owner == claimed.owner)
            .values(lease_until=utcnow() + timedelta(seconds=lease_seconds)),
        )
        == 1
    )


def holds_lease(db: Session, *, claimed: Claimed) -> bool:
    """Whether the run still holds its source, read with a row lock so the commit that follows is its own."""
    query = select(CollectSource.lease_owner).where(CollectSource.id == claimed.source_id).with_for_update()
    return db.execute(query).scalar_one_or_none() == claimed.owner


def finish(db: Session, *, claimed: Claimed, status: str, **values: Any) -> None:
    """Close the run with its figures and release the lease; a failure opens the steward's alert."""
    now = utcnow()
    run = db.get(CollectRun, claimed.run_id)
    source = db.get(CollectSource, claimed.source_id)
    if run is not None:
        run.status = status
        run.finished_at = now
        run.duration_ms = int((now - run.started_at).total_seconds() * 1000)
        for name, value in values.items():
            setattr(run, name, value)
    if source is not None and source.lease_owner == claimed.owner:
        source.lease_owner, source.lease_until = "", None
        source.last_status, source.last_run_at = status, now
        source.alert_open = status == "failed"
    db.flush()


def source_row(db: Session, source_id: int) -> CollectSource:
    source = db.get(CollectSource, source_id)
    assert source is not None
    return source
