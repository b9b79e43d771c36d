"""Admission of a mediated call (调用准入): the service and operation, the caller's permission, a grant
of the caller's department for that operation, its validity, and its rate and daily quota.

Decided in memory, from the process's copy of the services and grants (`directory`, checked against
the database's version in the transaction that authenticated the caller) and its rate and quota
figures (`counters`), so admitting a call writes nothing. A refusal carries the record the message
log keeps of it; the mediation commits that record before it answers.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from yiwang.core.errors import AppError, PermissionDenied
from yiwang.core.security import Principal
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.exchange import message_log
from yiwang.exchange import permissions as perm
from yiwang.exchange.counters import Counters, Window, day_window, second_window
from yiwang.exchange.directory import Directory, GrantView, ServiceView


class NoSuchService(AppError):
    status_code = 404
    code = "no_such_service"
    message = "在线服务不存在"


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


class Refused(Exception):
    """A refused call: the error to answer with, and the record to log (None: no service concerned)."""

    def __init__(self, error: AppError, record: message_log.CallRecord | None) -> None:
        super().__init__(error.code)
        self.error = error
        self.record = record


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


def _seconds_to_midnight(now: datetime) -> int:
    local = now.astimezone(SHANGHAI)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    return max(1, int((midnight - local).total_seconds()) + 1)


def refusal_record(
    start: CallStart, service: ServiceView, error: AppError, operation_id: str = "", grant_id: int | None = None
) -> message_log.CallRecord:
    return message_log.CallRecord(
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
    )


def _inactive(latest: GrantView) -> GrantInactive:
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


def _grant_for(grants: tuple[GrantView, ...], operation_id: str, now: datetime) -> GrantView | AppError:
    if not grants:
        return NoGrant()
    active = [g for g in grants if g.revoked_at is None and g.expires_at > now]
    if not active:
        return _inactive(grants[0])
    for grant in active:
        if operation_id in grant.operations:
            return grant
    return OperationNotGranted(details={"operation": operation_id, "grant_id": active[0].id})


def quota_windows(directory: Directory, *, service_code: str, department_id: int | None, now: datetime) -> list[Window]:
    """The day windows the caller's grants for a service count in (read before admission)."""
    grants = directory.grants_of(service_code, department_id)
    return [day_window(g.id, now) for g in grants if g.daily_quota is not None]


def _count(counters: Counters, grant: GrantView, now: datetime) -> AppError | None:
    """Count the call against the grant's rate and day's quota; the refusal when it is over either."""
    limits = []
    if grant.rate_per_second is not None:
        limits.append((second_window(grant.id, now), grant.rate_per_second))
    if grant.daily_quota is not None:
        limits.append((day_window(grant.id, now), grant.daily_quota))
    over = counters.take(limits)
    if over is None:
        return None
    if over[1].startswith("s"):
        return RateLimited(details={"limit_per_second": grant.rate_per_second, "retry_after_seconds": 1})
    return QuotaExhausted(details={"daily_quota": grant.daily_quota, "retry_after_seconds": _seconds_to_midnight(now)})


def admit(directory: Directory, counters: Counters, *, start: CallStart) -> Admitted:
    """Admit a call or raise Refused with its error and the record to log."""
    caller = start.caller
    service = directory.services.get(start.service_code)
    if service is None:  # a call to no service at all concerns no provider: nothing to log
        raise Refused(NoSuchService(f"在线服务 {start.service_code} 不存在"), None)

    def refuse(error: AppError, operation_id: str = "", grant_id: int | None = None) -> Refused:
        return Refused(error, refusal_record(start, service, error, operation_id, grant_id))

    if not caller.has(perm.SERVICE_CALL):
        raise refuse(PermissionDenied("没有调用在线服务的权限", details={"missing": [perm.SERVICE_CALL]}))
    operation_id = service.match(start.method, start.path)
    if operation_id is None:
        raise refuse(NoSuchOperation(details={"method": start.method, "path": start.path}))
    now = utcnow()
    found = _grant_for(directory.grants_of(service.code, caller.department_id), operation_id, now)
    if isinstance(found, AppError):
        raise refuse(found, operation_id)
    over = _count(counters, found, now)
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
