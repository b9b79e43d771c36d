"""Applications for resources another domain keeps (cameras for now, kind "video"): the owning domain
checks what is asked for and names the provider department; the exchange runs the same flow as for data
and services (provider answer within 10 working days, then the big-data bureau) and keeps the grant,
whose `operations` list the resource codes granted. The owning domain checks the grant on every use."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core import audit, workdays
from yiwang.core.errors import ValidationFailed
from yiwang.core.security import Principal, check
from yiwang.core.timeutil import SHANGHAI, local_today, utcnow
from yiwang.exchange import permissions as perm
from yiwang.exchange.models import ShareApplication, ShareGrant
from yiwang.exchange.schemas import ApplicationRead, GrantRead, ResourceApplicationCreate

PROVIDER_REPLY_WORKING_DAYS = 10
RESOURCE_KINDS = {"video": "SP"}  # kind -> application number prefix (SP-20261207-0001)


def apply_for_resources(db: Session, *, actor: Principal, data: ResourceApplicationCreate) -> ApplicationRead:
    """A department applies for resources of one provider department (the owning domain checked them)."""
    check(actor, perm.APPLY)
    if data.kind not in RESOURCE_KINDS:
        raise ValidationFailed("不支持的共享资源类型")
    if actor.department_id is None:
        raise ValidationFailed("申请人须属于一个部门")
    if data.provider_department_id == actor.department_id:
        raise ValidationFailed("本部门的资源无须申请")
    if data.period_end <= local_today():
        raise ValidationFailed("使用期限须晚于今天")
    if data.period_end > local_today() + timedelta(days=3 * 366):
        raise ValidationFailed("使用期限最长三年")
    prefix = f"{RESOURCE_KINDS[data.kind]}-{local_today():%Y%m%d}-"
    count = db.execute(select(func.count()).where(ShareApplication.number.like(f"{prefix}%"))).scalar_one()
    application = ShareApplication(
        number=f"{prefix}{count + 1:04d}",
        kind=data.kind,
        entry_code=data.kind,
        provider_department_id=data.provider_department_id,
        consumer_department_id=actor.department_id,
        applicant_name=actor.username,
        fields=[],
        row_filter={},
        operations=list(dict.fromkeys(data.resources)),
        purpose=data.purpose,
        period_end=data.period_end,
        status="pending_provider",
        provider_due=workdays.working_day_after(db, start=local_today(), days=PROVIDER_REPLY_WORKING_DAYS),
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
        details={"kind": data.kind, "resources": application.operations},
    )
    return ApplicationRead.model_validate(application)


def grant_resources(db: Session, *, actor: Principal, application: ShareApplication, opinion: str) -> ShareGrant:
    """The bureau's approval of a resource application: a grant of the resources until the period's end."""
    expires = datetime.combine(application.period_end + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    grant = ShareGrant(
        application_id=application.id,
        kind=application.kind,
        entry_code=application.entry_code,
        provider_department_id=application.provider_department_id,
        consumer_department_id=application.consumer_department_id,
        fields=[],
        row_filter={},
        masking={},
        operations=list(application.operations or []),
        expires_at=expires.astimezone(UTC),
        created_by=actor.username,
        created_at=utcnow(),
    )
    db.add(grant)
    db.flush()
    application.status, application.grant_id = "granted", grant.id
    application.bureau_opinion = application.bureau_opinion or opinion
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="exchange.grant.create",
        target_type="share_grant",
        target_id=grant.id,
        details={"application": application.number, "kind": grant.kind, "resources": grant.operations},
    )
    return grant


def _active(grant: ShareGrant, now: datetime) -> GrantRead:
    read = GrantRead.model_validate(grant)
    read.active = grant.revoked_at is None and grant.expires_at > now
    return read


def resource_grants(
    db: Session, *, kind: str, consumer_department_id: int, resource: str | None = None
) -> list[GrantRead]:
    """The consumer department's grants of this kind (newest first), active or not, optionally only
    those covering one resource: the owning domain tells "never granted" from "expired" with them."""
    rows = db.execute(
        select(ShareGrant)
        .where(ShareGrant.kind == kind, ShareGrant.consumer_department_id == consumer_department_id)
        .order_by(ShareGrant.expires_at.desc())
        .limit(500)
    ).scalars()
    now = utcnow()
    return [_active(g, now) for g in rows if resource is None or resource in (g.operations or [])]
