"""The services and service grants as mediated calls are admitted against (服务目录缓存), held per process.

A call must not cost database work it can do without: the services and their grants change rarely,
so each process keeps a copy keyed on `exch_directory_version`, which triggers on the service and
grant tables raise in the same transaction as any change (migration exchange_0004). Each call reads
the version — one primary-key row, in the transaction that authenticates the caller — and the copy is
rebuilt when it moved, so a new, revoked or changed grant counts from the next call in every process.
Expiry needs no version: it is a time, compared on every call.
"""

import re
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.exchange.live_services import template_pattern
from yiwang.exchange.models import DirectoryVersion, LiveService, ShareGrant


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class ServiceView:
    code: str
    base_url: str
    provider_department_id: int
    keep_bodies: bool
    connect_timeout_s: float
    read_timeout_s: float
    breaker_failures: int
    breaker_reset_s: float
    operations: tuple[Operation, ...]

    def match(self, method: str, path: str) -> str | None:
        for operation in self.operations:
            if operation.method == method and operation.pattern.match(path):
                return operation.id
        return None


@dataclass(frozen=True)
class GrantView:
    id: int
    consumer_department_id: int
    operations: frozenset[str]
    expires_at: datetime
    revoked_at: datetime | None
    revoke_reason: str
    rate_per_second: int | None
    daily_quota: int | None


@dataclass(frozen=True)
class Directory:
    version: int
    services: dict[str, ServiceView]  # active services by code
    grants: dict[tuple[str, int], tuple[GrantView, ...]]  # (service, consumer department) → newest expiry first

    def grants_of(self, service_code: str, department_id: int | None) -> tuple[GrantView, ...]:
        if department_id is None:
            return ()
        return self.grants.get((service_code, department_id), ())


_VERSION = select(DirectoryVersion.value).where(DirectoryVersion.id == 1)


def _load(db: Session, version: int) -> Directory:
    services = {
        s.code: ServiceView(
            code=s.code,
            base_url=s.base_url,
            provider_department_id=s.provider_department_id,
            keep_bodies=s.keep_bodies,
            connect_timeout_s=s.connect_timeout_s,
            read_timeout_s=s.read_timeout_s,
            breaker_failures=s.breaker_failures,
            breaker_reset_s=s.breaker_reset_s,
            operations=tuple(
                Operation(str(o["id"]), str(o["method"]), template_pattern(str(o["path"]))) for o in s.operations
            ),
        )
        for s in db.execute(select(LiveService).where(LiveService.active.is_(True))).scalars()
    }
    grouped: dict[tuple[str, int], list[GrantView]] = {}
    found = db.execute(select(ShareGrant).where(ShareGrant.kind == "service").order_by(ShareGrant.expires_at.desc()))
    for g in found.scalars():
        grouped.setdefault((g.entry_code, g.consumer_department_id), []).append(
            GrantView(
                id=g.id,
                consumer_department_id=g.consumer_department_id,
                operations=frozenset(g.operations or ()),
                expires_at=g.expires_at,
                revoked_at=g.revoked_at,
                revoke_reason=g.revoke_reason,
                rate_per_second=g.rate_per_second,
                daily_quota=g.daily_quota,
            )
        )
    return Directory(version, services, {key: tuple(views) for key, views in grouped.items()})


class DirectoryCache:
    """The process's copy, rebuilt when the database's version has moved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: Directory | None = None

    def current(self, db: Session) -> Directory:
        """The copy as of the version read now, in the caller's transaction."""
        version = int(db.execute(_VERSION).scalar_one_or_none() or 0)
        found = self._current
        if found is not None and found.version == version:
            return found
        with self._lock:  # one rebuild at a time; a thread that waited finds it done
            found = self._current
            if found is None or found.version != version:
                found = self._current = _load(db, version)
        return found
