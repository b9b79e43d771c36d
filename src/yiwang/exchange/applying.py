"""What applications for operations and resources share (services, and resources other domains keep):
the period's limits, the numbered application awaiting the provider, and the bureau's grant that ends
the day after the period."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core import audit, workdays
from yiwang.core.errors import ValidationFailed
from yiwang.core.security import Principal
from yiwang.core.timeutil import SHANGHAI, local_today, utcnow
from yiwang.exchange.models import ShareApplication, ShareGrant
from yiwang.exchange.schemas import ApplicationRead

PROVIDER_REPLY_WORKING_DAYS = 10


def check_period(period_end: date) -> None:
    if period_end <= local_today():
        raise ValidationFailed("使用期限须晚于今天")
    if period_end > local_today() + timedelta(days=3 * 366):
        raise ValidationFailed("使用期限最长三年")


def open_application(
    db: Session,
    *,
    actor: Principal,
    prefix: str,
    kind: str,
    entry_code: str,
    provider_department_id: int,
    operations: list[str],
    purpose: str,
    period_end: date,
    audit_details: dict[str, Any],
    **extra: Any,
) -> ApplicationRead:
    """A numbered application (PREFIX-YYYYMMDD-0001) awaiting the provider's answer, audited.
    `operations` come without repeats (the audit details name them as given)."""
    numbered = f"{prefix}-{local_today():%Y%m%d}-"
    count = db.execute(select(func.count()).where(ShareApplication.number.like(f"{numbered}%"))).scalar_one()
    application = ShareApplication(
        number=f"{numbered}{count + 1:04d}",
        kind=kind,
        entry_code=entry_code,
        provider_department_id=provider_department_id,
        consumer_department_id=actor.department_id,
        applicant_name=actor.username,
        fields=[],
        row_filter={},
        operations=operations,
        purpose=purpose,
        period_end=period_end,
        status="pending_provider",
        provider_due=workdays.working_day_after(db, start=local_today(), days=PROVIDER_REPLY_WORKING_DAYS),
        created_at=utcnow(),
        **extra,
    )
    db.add(application)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="exchange.application.create",
        target_type="share_application",
        target_id=application.number,
        details=audit_details,
    )
    return ApplicationRead.model_validate(application)


def grant_operations(
    db: Session,
    *,
    actor: Principal,
    application: ShareApplication,
    opinion: str,
    audit_details: dict[str, Any],
    **extra: Any,
) -> ShareGrant:
    """The bureau's grant of what the application lists, until the end of its period; audited."""
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
        **extra,
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
        details={"application": application.number} | audit_details,
    )
    return grant
