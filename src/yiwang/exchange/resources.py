"""Applications for resources another domain keeps (cameras for now, kind "video"): the owning domain
checks what is asked for and names the provider department; the exchange runs the same flow as for data
and services (provider answer within 10 working days, then the big-data bureau) and keeps the grant,
whose `operations` list the resource codes granted. The owning domain checks the grant on every use."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core.errors import ValidationFailed
from yiwang.core.security import Principal, check
from yiwang.core.timeutil import utcnow
from yiwang.exchange import permissions as perm
from yiwang.exchange.applying import check_period, grant_operations, open_application
from yiwang.exchange.models import ShareApplication, ShareGrant
from yiwang.exchange.schemas import ApplicationRead, GrantRead, ResourceApplicationCreate

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
    check_period(data.period_end)
    resources = list(dict.fromkeys(data.resources))
    return open_application(
        db,
        actor=actor,
        prefix=RESOURCE_KINDS[data.kind],
        kind=data.kind,
        entry_code=data.kind,
        provider_department_id=data.provider_department_id,
        operations=resources,
        purpose=data.purpose,
        period_end=data.period_end,
        audit_details={"kind": data.kind, "resources": resources},
    )


def grant_resources(db: Session, *, actor: Principal, application: ShareApplication, opinion: str) -> ShareGrant:
    """The bureau's approval of a resource application: a grant of the resources until the period's end."""
    return grant_operations(
        db,
        actor=actor,
        application=application,
        opinion=opinion,
        audit_details={"kind": application.kind, "resources": list(application.operations or [])},
    )


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
