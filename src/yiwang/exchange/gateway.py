"""Admission of a mediated call (调用准入): the service and operation, the caller's permission, a grant
of the caller's department for that operation, its validity, and its rate and daily quota.

Counters are rows (`exch_service_counter`) raised by one upsert each in the admitting transaction, so
every process of the platform counts against the same figures. A refused call is logged in the
message log in the same transaction and the refusal is raised with commit=True, so the record stays.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yiwang.core.db import changed_rows, next_counter_value
from yiwang.core.errors import AppError, PermissionDenied
from yiwang.core.security import Principal
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.exchange import message_log
from yiwang.exchange import permissions as perm
from yiwang.exchange.live_services import find_service, template_pattern
from yiwang.exchange.message_keys import MessageKeys
from yiwang.exchange.models import LiveService, ServiceCounter, ShareGrant


class NoSuchOperation(AppError):
    status_code = 404
    code = "no_such_operation"
    message = "该服务没有与请求方法和路径相符的操作"


class NoGrant(AppError):
    status_code = 403
    code = "no_grant"
    message = "调用方所在部门没有该服务的授权"


class GrantInactive(AppError):
    status_code = 403
    code = "grant_inactive"
    message = "该服务的授权已过期或已被撤销"


class OperationNotGranted(AppError):
    status_code = 403
    code = "operation_not_granted"
    message = "授权不包括该操作"


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    message = "调用过于频繁，超过授权的每秒次数"


class QuotaExhausted(AppError):
    status_code = 429
    code = "quota_exhausted"
    message = "今日调用配额已用完"


@dataclass(frozen=True)
class Admitted:
    """What the forwarding needs of an admitted call."""

    service_code: str
    base_url: str
    operation_id: str
    provider_department_id: int
    consumer_department_id: int
    consumer_code: str
    grant_id: int
    keep_bodies: bool
    connect_timeout_s: float
    read_timeout_s: float
    breaker_failures: int
    breaker_reset_s: float


@dataclass(frozen=True)
class CallStart:
    """The call as it arrived."""

    call_id: str
    received_at: datetime
    service_code: str
    method: str
    path: str
    query: str
    caller: Principal


def match_operation(service: LiveService, method: str, path: str) -> str | None:
    for operation in service.operations:
        if operation["method"] == method and template_pattern(operation["path"]).match(path):
            return str(operation["id"])
    return None


def _seconds_to_midnight(now: datetime) -> int:
    local = now.astimezone(SHANGHAI)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    return max(1, int((midnight - local).total_seconds()) + 1)


def _refuse(
    db: Session,
    *,
    start: CallStart,
    error: AppError,
    keys: MessageKeys,
    hash_name: str,
    service: LiveService | None,
    operation_id: str = "",
    grant_id: int | None = None,
) -> AppError:
    if service is not None:  # a call to no service at all concerns no provider: nothing to log
        message_log.append(
            db,
            record=message_log.CallRecord(
                call_id=start.call_id,
                received_at=start.received_at,
                duration_ms=(utcnow() - start.received_at).total_seconds() * 1000,
                service_code=service.code,
                operation_id=operation_id,
                method=start.method,
                path=start.path[:1000],
                query=start.query[:1000],
                provider_department_id=service.provider_department_id,
                consumer_department_id=start.caller.department_id,
                caller_id=start.caller.user_id,
                caller_name=start.caller.username,
                grant_id=grant_id,
                outcome="refused",
                status_code=error.status_code,
                error_code=error.code,
            ),
            hash_name=hash_name,
            keys=keys,
        )
        error.commit = True
    return error


def _grant_for(db: Session, service: LiveService, caller: Principal, operation_id: str) -> ShareGrant | AppError:
    grants = (
        db.execute(
            select(ShareGrant)
            .where(
                ShareGrant.kind == "service",
                ShareGrant.entry_code == service.code,
                ShareGrant.consumer_department_id == caller.department_id,
            )
            .order_by(ShareGrant.expires_at.desc())
        )
        .scalars()
        .all()
    )
    if not grants:
        return NoGrant()
    now = utcnow()
    active = [g for g in grants if g.revoked_at is None and g.expires_at > now]
    if not active:
        latest = grants[0]
        if latest.revoked_at is not None:
            reason = f"授权已于 {latest.revoked_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 撤销：{latest.revoke_reason}"
        else:
            reason = f"授权已于 {latest.expires_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 到期"
        return GrantInactive(
            reason,
            details={
                "grant_id": latest.id,
                "expires_at": latest.expires_at.isoformat(),
                "revoked_at": latest.revoked_at.isoformat() if latest.revoked_at else None,
                "revoke_reason": latest.revoke_reason or None,
            },
        )
    for grant in active:
        if operation_id in (grant.operations or []):
            return grant
    return OperationNotGranted(details={"operation": operation_id, "grant_id": active[0].id})


def _count(db: Session, grant: ShareGrant, now: datetime) -> AppError | None:
    """Raise the grant's counters; a refusal when this call is over its rate or its day's quota."""
    if grant.rate_per_second is not None:
        calls = next_counter_value(
            db, ServiceCounter, key={"grant_id": grant.id, "window": f"s{int(now.timestamp())}"}, column="calls"
        )
        if calls > grant.rate_per_second:
            return RateLimited(details={"limit_per_second": grant.rate_per_second, "retry_after_seconds": 1})
    if grant.daily_quota is not None:
        day = now.astimezone(SHANGHAI)
        calls = next_counter_value(
            db, ServiceCounter, key={"grant_id": grant.id, "window": f"d{day:%Y%m%d}"}, column="calls"
        )
        if calls > grant.daily_quota:
            return QuotaExhausted(
                details={"daily_quota": grant.daily_quota, "retry_after_seconds": _seconds_to_midnight(now)}
            )
    return None


def admit(db: Session, *, start: CallStart, keys: MessageKeys, hash_name: str) -> Admitted:
    """Admit a call or raise its refusal (logged, and kept by the unit of work)."""
    caller = start.caller
    service = find_service(db, code=start.service_code)

    def refuse(error: AppError, operation_id: str = "", grant_id: int | None = None) -> AppError:
        return _refuse(
            db, start=start, error=error, keys=keys, hash_name=hash_name, service=service,
            operation_id=operation_id, grant_id=grant_id,
        )  # fmt: skip

    if not caller.has(perm.SERVICE_CALL):
        raise refuse(PermissionDenied("没有调用在线服务的权限", details={"missing": [perm.SERVICE_CALL]}))
    operation_id = match_operation(service, start.method, start.path)
    if operation_id is None:
        raise refuse(NoSuchOperation(details={"method": start.method, "path": start.path}))
    found = _grant_for(db, service, caller, operation_id)
    if isinstance(found, AppError):
        raise refuse(found, operation_id)
    over = _count(db, found, utcnow())
    if over is not None:
        raise refuse(over, operation_id, found.id)
    return Admitted(
        service_code=service.code,
        base_url=service.base_url,
        operation_id=operation_id,
        provider_department_id=service.provider_department_id,
        consumer_department_id=found.consumer_department_id,
        consumer_code=caller.department_code or "",
        grant_id=found.id,
        keep_bodies=service.keep_bodies,
        connect_timeout_s=service.connect_timeout_s,
        read_timeout_s=service.read_timeout_s,
        breaker_failures=service.breaker_failures,
        breaker_reset_s=service.breaker_reset_s,
    )


def purge_counters(db: Session, *, now: datetime | None = None) -> int:
    """Drop rate windows older than a minute and quota days older than a week (job)."""
    now = now or utcnow()
    old_second = f"s{int(now.timestamp()) - 60}"
    old_day = f"d{(now.astimezone(SHANGHAI) - timedelta(days=7)):%Y%m%d}"
    removed = changed_rows(
        db, delete(ServiceCounter).where(ServiceCounter.window.like("s%"), ServiceCounter.window < old_second)
    )
    return removed + changed_rows(
        db, delete(ServiceCounter).where(ServiceCounter.window.like("d%"), ServiceCounter.window < old_day)
    )
