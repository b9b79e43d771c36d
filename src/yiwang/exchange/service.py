"""Exchange rules: applications and their answers, grants, the data API and its usage log.

无条件共享 is granted at once; 有条件共享 is answered by the provider within 10 working days and
then by the big-data bureau; 不予共享 cannot be applied for (standards.md §5).
"""

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from yiwang.catalog import service as catalog_service
from yiwang.catalog.schemas import EntryRead
from yiwang.core import audit, workdays
from yiwang.core.crypto import content_suite
from yiwang.core.errors import AppError, Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.security import Principal, check
from yiwang.core.timeutil import SHANGHAI, local_today, utcnow
from yiwang.exchange import live_services, resources
from yiwang.exchange import permissions as perm
from yiwang.exchange.models import DataCall, ShareApplication, ShareGrant

# the read model other domains use, re-exported
from yiwang.exchange.reads import (
    grant_usage as grant_usage,
)
from yiwang.exchange.reads import (
    sharing_figures as sharing_figures,
)

# applications for resources other domains keep (cameras), re-exported
from yiwang.exchange.resources import apply_for_resources as apply_for_resources
from yiwang.exchange.resources import resource_grants as resource_grants
from yiwang.exchange.schemas import (
    ApplicationCreate,
    ApplicationRead,
    CallRead,
    Decision,
    GrantRead,
    GrantUsage,
)
from yiwang.governance import service as governance_service

PROVIDER_REPLY_WORKING_DAYS = 10
MAX_PAGE_SIZE = 5000


# ---- applications -----------------------------------------------------------------------------


def _read(application: ShareApplication) -> ApplicationRead:
    read = ApplicationRead.model_validate(application)
    read.provider_overdue = bool(
        application.status == "pending_provider"
        and application.provider_due
        and application.provider_due < local_today()
    )
    return read


def _number(db: Session) -> str:
    prefix = f"GX-{local_today():%Y%m%d}-"
    count = db.execute(select(func.count()).where(ShareApplication.number.like(f"{prefix}%"))).scalar_one()
    return f"{prefix}{count + 1:04d}"


def _default_masking(entry: EntryRead, fields: list[str]) -> dict[str, str]:
    """Each field's catalog masking rule; suppression becomes a mask so a granted field is still sent."""
    rules = {i.name: i.masking for i in entry.items}
    return {f: ("none" if rules.get(f) == "suppress" else rules.get(f, "none")) for f in fields}


def apply(db: Session, *, actor: Principal, data: ApplicationCreate) -> ApplicationRead:
    """A department applies for fields of an entry with a purpose and period."""
    check(actor, perm.APPLY)
    if actor.department_id is None:
        raise ValidationFailed("申请人须属于一个部门")
    entry = catalog_service.get_entry(db, code=data.entry_code)
    if entry.status != "published":
        raise NotFound(f"资源目录 {data.entry_code} 不存在或未发布")
    if entry.sharing_type == "不予共享":
        raise ValidationFailed("该资源为不予共享，不能申请", code="not_shareable")
    names = {i.name for i in entry.items}
    unknown = [f for f in data.fields if f not in names]
    if unknown:
        raise ValidationFailed("申请的字段不是该资源的信息项", details={"fields": unknown})
    bad_filter = [f for f in data.row_filter if f not in names]
    if bad_filter:
        raise ValidationFailed("行筛选字段不是该资源的信息项", details={"fields": bad_filter})
    if data.period_end <= local_today():
        raise ValidationFailed("使用期限须晚于今天")
    if data.period_end > local_today() + timedelta(days=3 * 366):
        raise ValidationFailed("使用期限最长三年")
    unconditional = entry.sharing_type == "无条件共享" and entry.data_grade not in ("重要", "核心")
    application = ShareApplication(
        number=_number(db),
        entry_code=entry.code,
        provider_department_id=entry.department_id,
        consumer_department_id=actor.department_id,
        applicant_name=actor.username,
        fields=list(dict.fromkeys(data.fields)),
        row_filter=dict(data.row_filter),
        purpose=data.purpose,
        period_end=data.period_end,
        status="pending_provider",
        provider_due=None
        if unconditional
        else workdays.working_day_after(db, start=local_today(), days=PROVIDER_REPLY_WORKING_DAYS),
        created_at=utcnow(),
    )
    db.add(application)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="exchange.application.create",
        target_type="share_application",
        target_id=application.number,
        details={"entry": entry.code, "fields": application.fields, "unconditional": unconditional},
    )
    if unconditional:
        _grant(db, actor=actor, application=application, entry=entry, masking={}, opinion="无条件共享，自动授权")
    return _read(application)


def _grant(
    db: Session,
    *,
    actor: Principal,
    application: ShareApplication,
    entry: EntryRead,
    masking: Mapping[str, str],
    opinion: str,
) -> ShareGrant:
    rules = _default_masking(entry, application.fields) | {k: v for k, v in masking.items() if k in application.fields}
    expires = datetime.combine(application.period_end + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    grant = ShareGrant(
        application_id=application.id,
        entry_code=application.entry_code,
        provider_department_id=application.provider_department_id,
        consumer_department_id=application.consumer_department_id,
        fields=list(application.fields),
        row_filter=dict(application.row_filter),
        masking=rules,
        expires_at=expires.astimezone(UTC),
        created_by=actor.username,
        created_at=utcnow(),
    )
    db.add(grant)
    db.flush()
    application.status = "granted"
    application.grant_id = grant.id
    application.bureau_opinion = application.bureau_opinion or opinion
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="exchange.grant.create",
        target_type="share_grant",
        target_id=grant.id,
        details={"application": application.number, "fields": grant.fields, "masking": rules},
    )
    return grant


def _application(db: Session, application_id: int) -> ShareApplication:
    application = db.get(ShareApplication, application_id)
    if application is None:
        raise NotFound("共享申请不存在")
    return application


def provider_decide(db: Session, *, actor: Principal, application_id: int, decision: Decision) -> ApplicationRead:
    """The provider department answers a conditional application (reasons required for a refusal)."""
    check(actor, perm.REVIEW)
    application = _application(db, application_id)
    if not actor.can_reach_department(application.provider_department_id):
        raise PermissionDenied("只有资源提供部门可以答复", code="department_scope")
    if application.status != "pending_provider":
        raise Conflict("该申请不在待提供部门答复状态")
    if not decision.approve and not decision.reason:
        raise ValidationFailed("拒绝共享须说明理由")
    application.provider_by, application.provider_at = actor.username, utcnow()
    application.provider_opinion = decision.reason
    if decision.approve:
        application.status = "pending_bureau"
    else:
        application.status, application.refusal_reason = "refused", f"提供部门：{decision.reason}"
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="exchange.application.provider_" + ("approve" if decision.approve else "refuse"),
        target_type="share_application",
        target_id=application.number,
        details={"reason": decision.reason},
    )
    return _read(application)


def bureau_decide(db: Session, *, actor: Principal, application_id: int, decision: Decision) -> ApplicationRead:
    """The big-data bureau grants (fixing masking per field) or refuses with reasons."""
    if not catalog_service.is_bureau(db, actor):
        raise PermissionDenied("只有大数据局可以审批")
    application = _application(db, application_id)
    if application.status != "pending_bureau":
        raise Conflict("该申请不在待大数据局审批状态")
    if decision.approve and application.applicant_name == actor.username:
        raise PermissionDenied("职责分离：提出共享申请的人员不能审批自己的申请", code="separation_of_duties")
    if not decision.approve and not decision.reason:
        raise ValidationFailed("拒绝共享须说明理由")
    application.bureau_by, application.bureau_at = actor.username, utcnow()
    application.bureau_opinion = decision.reason
    if decision.approve and application.kind == "service":
        live_services.grant_service(db, actor=actor, application=application, opinion=decision.reason)
    elif decision.approve and application.kind in resources.RESOURCE_KINDS:
        resources.grant_resources(db, actor=actor, application=application, opinion=decision.reason)
    elif decision.approve:
        entry = catalog_service.get_entry(db, code=application.entry_code)
        _grant(db, actor=actor, application=application, entry=entry, masking=decision.masking, opinion=decision.reason)
    else:
        application.status, application.refusal_reason = "refused", f"大数据局：{decision.reason}"
        db.flush()
        audit.record(
            db,
            actor=actor,
            action="exchange.application.bureau_refuse",
            target_type="share_application",
            target_id=application.number,
            details={"reason": decision.reason},
        )
    return _read(application)


def get_application(db: Session, *, actor: Principal, application_id: int) -> ApplicationRead:
    application = _application(db, application_id)
    _visible(db, actor, application.provider_department_id, application.consumer_department_id)
    return _read(application)


def _visible(db: Session, actor: Principal, provider: int, consumer: int) -> None:
    if actor.can_reach_department(provider) or actor.can_reach_department(consumer):
        return
    if catalog_service.is_bureau(db, actor):
        return
    raise NotFound("记录不存在")


def list_applications(db: Session, *, actor: Principal, status: str | None = None) -> list[ApplicationRead]:
    """Applications the caller's department made or must answer (all of them for the bureau)."""
    stmt = select(ShareApplication).order_by(ShareApplication.id.desc()).limit(500)
    if status:
        stmt = stmt.where(ShareApplication.status == status)
    if not catalog_service.is_bureau(db, actor):
        scope = list(actor.scope_department_ids)
        stmt = stmt.where(
            ShareApplication.provider_department_id.in_(scope) | ShareApplication.consumer_department_id.in_(scope)
        )
    return [_read(a) for a in db.execute(stmt).scalars()]


# ---- grants -----------------------------------------------------------------------------------


def _grant_read(grant: ShareGrant) -> GrantRead:
    read = GrantRead.model_validate(grant)
    read.active = grant.revoked_at is None and grant.expires_at > utcnow()
    return read


def list_grants(db: Session, *, actor: Principal) -> list[GrantRead]:
    check(actor, perm.USAGE_READ)
    stmt = select(ShareGrant).order_by(ShareGrant.id.desc()).limit(500)
    if not catalog_service.is_bureau(db, actor):
        scope = list(actor.scope_department_ids)
        stmt = stmt.where(ShareGrant.provider_department_id.in_(scope) | ShareGrant.consumer_department_id.in_(scope))
    return [_grant_read(g) for g in db.execute(stmt).scalars()]


def get_grant(db: Session, *, actor: Principal, grant_id: int) -> GrantRead:
    grant = db.get(ShareGrant, grant_id)
    if grant is None:
        raise NotFound("共享授权不存在")
    _visible(db, actor, grant.provider_department_id, grant.consumer_department_id)
    return _grant_read(grant)


def revoke_grant(db: Session, *, actor: Principal, grant_id: int, reason: str) -> GrantRead:
    """The provider or the bureau revokes a grant; the next data call is refused."""
    check(actor, perm.REVIEW)
    grant = db.get(ShareGrant, grant_id)
    if grant is None:
        raise NotFound("共享授权不存在")
    if not actor.can_reach_department(grant.provider_department_id) and not catalog_service.is_bureau(db, actor):
        raise PermissionDenied("只有资源提供部门或大数据局可以撤销授权", code="department_scope")
    if grant.revoked_at is not None:
        raise Conflict("授权已撤销")
    grant.revoked_at, grant.revoke_reason = utcnow(), reason
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="exchange.grant.revoke",
        target_type="share_grant",
        target_id=grant.id,
        details={"reason": reason},
    )
    return _grant_read(grant)


# ---- the data API -----------------------------------------------------------------------------


@dataclass
class DataResponse:
    body: bytes
    digest: str
    digest_algorithm: str  # SHA-256 or SM3
    rows: int


class GrantInactive(AppError):
    status_code = 403
    code = "grant_inactive"
    message = "共享授权已过期或已被撤销"


def serve_data(
    db: Session,
    *,
    caller: Principal,
    grant_id: int,
    page: int,
    size: int,
    request_id: str,
    data_dir: Path,
    pseudonym: Callable[[str, str], str],
) -> DataResponse:
    """Rows of a grant for the consumer's system client: exactly the granted fields, masked as granted,
    filtered by the grant's row filter, one page. Every call — refused ones too — is logged.

    The caller needs the data-read permission (after its token's scope narrowed it) and must belong to
    the grant's consumer department; the permission is checked first, so a caller without it learns
    nothing about the grant."""
    started = time.perf_counter()
    query = f"grant={grant_id}&page={page}&size={size}"
    grant = db.get(ShareGrant, grant_id)
    if not caller.has(perm.DATA_READ):
        if grant is not None:
            _log(db, grant_id, caller, request_id, query, 0, 403, started, "")
        raise PermissionDenied("没有读取共享数据的权限", details={"missing": [perm.DATA_READ]}, commit=True)
    if grant is None or grant.kind != "data":
        raise NotFound("共享授权不存在")
    if caller.department_id != grant.consumer_department_id:
        _log(db, grant_id, caller, request_id, query, 0, 403, started, "")
        raise PermissionDenied("该授权不属于调用方所在部门", code="grant_not_yours", commit=True)
    if grant.revoked_at is not None or grant.expires_at <= utcnow():
        _log(db, grant_id, caller, request_id, query, 0, 403, started, "")
        raise GrantInactive(commit=True)
    if size < 1 or size > MAX_PAGE_SIZE or page < 1:
        raise ValidationFailed(f"分页参数无效：page ≥ 1，1 ≤ size ≤ {MAX_PAGE_SIZE}")
    frame, total = governance_service.read_rows(
        db,
        data_dir=data_dir,
        entry_code=grant.entry_code,
        fields=grant.fields,
        masking=grant.masking,
        pseudonym=pseudonym,
        row_filter=grant.row_filter,
        offset=(page - 1) * size,
        limit=size,
    )
    # The rows are serialised by Polars (Rust) and spliced into the envelope: no per-row Python.
    head = {
        "grant_id": grant.id,
        "entry_code": grant.entry_code,
        "fields": list(frame.columns),
        "page": page,
        "size": size,
        "total": total,
    }
    envelope = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    body = (envelope[:-1] + ',"rows":').encode() + frame.write_json().encode() + b"}"
    algorithm = content_suite(db)
    digest = algorithm.hexdigest(body)
    _log(db, grant_id, caller, request_id, query, frame.height, 200, started, digest, algorithm.hash_name)
    return DataResponse(body=body, digest=digest, digest_algorithm=algorithm.hash_name, rows=frame.height)


def _log(
    db: Session,
    grant_id: int,
    caller: Principal,
    request_id: str,
    query: str,
    rows: int,
    status: int,
    started: float,
    digest: str,
    digest_algorithm: str = "",
) -> None:
    db.add(
        DataCall(
            grant_id=grant_id,
            caller_id=caller.user_id,
            caller_name=caller.username,
            request_id=request_id[:64],
            query=query[:500],
            rows=rows,
            status_code=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            body_digest=digest,
            body_digest_algorithm=digest_algorithm,
            occurred_at=utcnow(),
        )
    )
    db.flush()


def usage(db: Session, *, actor: Principal) -> list[GrantUsage]:
    """Calls, rows and refusals per grant, for the provider, the consumer and the bureau."""
    grants = {g.id: g for g in list_grants(db, actor=actor)}
    if not grants:
        return []
    stmt = (
        select(
            DataCall.grant_id,
            func.count(),
            func.coalesce(func.sum(DataCall.rows), 0),
            func.sum(case((DataCall.status_code != 200, 1), else_=0)),
            func.max(DataCall.occurred_at),
            func.avg(DataCall.duration_ms),
        )
        .where(DataCall.grant_id.in_(list(grants)))
        .group_by(DataCall.grant_id)
    )
    found = {row[0]: row for row in db.execute(stmt).all()}
    result = []
    for grant_id, grant in grants.items():
        row = found.get(grant_id)
        last = row[4] if row else None
        if isinstance(last, datetime) and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        result.append(
            GrantUsage(
                grant_id=grant_id,
                entry_code=grant.entry_code,
                consumer_department_id=grant.consumer_department_id,
                calls=int(row[1]) if row else 0,
                rows=int(row[2]) if row else 0,
                denied=int(row[3] or 0) if row else 0,
                last_call_at=last,
                avg_ms=round(float(row[5] or 0), 2) if row else 0.0,
            )
        )
    return result


def list_calls(db: Session, *, actor: Principal, grant_id: int, limit: int = 100) -> list[CallRead]:
    get_grant(db, actor=actor, grant_id=grant_id)
    rows = db.execute(
        select(DataCall).where(DataCall.grant_id == grant_id).order_by(DataCall.id.desc()).limit(limit)
    ).scalars()
    return [CallRead.model_validate(c) for c in rows]


def pending_for(db: Session, *, actor: Principal) -> list[ApplicationRead]:
    """Applications waiting for the caller: provider answers for their department, bureau approvals."""
    found: list[ApplicationRead] = []
    if actor.has(perm.REVIEW) and actor.scope_department_ids:
        stmt = select(ShareApplication).where(
            ShareApplication.status == "pending_provider",
            ShareApplication.provider_department_id.in_(list(actor.scope_department_ids)),
        )
        found += [_read(a) for a in db.execute(stmt).scalars()]
    if catalog_service.is_bureau(db, actor):
        stmt = select(ShareApplication).where(ShareApplication.status == "pending_bureau")
        found += [_read(a) for a in db.execute(stmt).scalars()]
    return found
