"""After completion: ratings (好差评), follow-ups of poor ratings, and the applicant's notifications."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit, events
from yiwang.core.errors import Conflict, NotFound, PermissionDenied
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.security import Principal, check_department_scope
from yiwang.core.timeutil import utcnow
from yiwang.onestop import clock
from yiwang.onestop.clock import add_working_days
from yiwang.onestop.models import (
    Application,
    Bundle,
    FollowUp,
    Notification,
    Rating,
    ServiceItem,
)
from yiwang.onestop.records import application_row, notify
from yiwang.onestop.schemas import (
    ApplicationRated,
    FollowUpRead,
    NotificationRead,
    RatingCreate,
    RatingRead,
)
from yiwang.org import service as org_service

FOLLOWUP_WORKING_DAYS = 15


def rate_application(db: Session, *, actor: Principal, number: str, data: RatingCreate) -> RatingRead:
    """好差评 after completion; a 1 or 2 opens a follow-up for the lead department, due in 15 working days."""
    application = application_row(db, number)
    if application.applicant_id != actor.user_id:
        raise PermissionDenied("只有申请人可以评价")
    if application.status != "completed":
        raise Conflict("办结后才能评价", code="not_completed")
    if db.execute(select(Rating.id).where(Rating.application_id == application.id)).first():
        raise Conflict("该办件已评价", code="already_rated")
    rating = Rating(
        application_id=application.id,
        user_id=actor.user_id,
        score=data.score,
        comment=data.comment,
        created_at=utcnow(),
    )
    db.add(rating)
    db.flush()
    followup_id = None
    if data.score <= 2:
        if application.bundle_id:
            lead = db.get_one(Bundle, application.bundle_id).lead_department_code
        else:
            lead = db.get_one(ServiceItem, application.item_id).department_code
        department = org_service.get_department_by_code(db, code=lead)
        followup = FollowUp(
            rating_id=rating.id,
            application_id=application.id,
            department_id=department.id,
            department_code=lead,
            due_date=add_working_days(db, start=clock.today(), days=FOLLOWUP_WORKING_DAYS),
            status="open",
            created_at=utcnow(),
        )
        db.add(followup)
        db.flush()
        followup_id = followup.id
    audit.record(
        db,
        actor=actor,
        action="onestop.application.rate",
        target_type="application",
        target_id=number,
        details={"score": data.score, "followup": followup_id},
    )
    events.publish(db, ApplicationRated(number=number, score=data.score))
    return RatingRead(
        application_number=number,
        score=data.score,
        comment=data.comment,
        created_at=rating.created_at,
        followup_id=followup_id,
    )


def _followup_read(f: FollowUp, number: str, rating: Rating, on: date) -> FollowUpRead:
    return FollowUpRead(
        id=f.id,
        application_number=number,
        department_code=f.department_code,
        score=rating.score,
        comment=rating.comment,
        due_date=f.due_date,
        status=f.status,
        overdue=f.status == "open" and on > f.due_date,
        resolution=f.resolution,
    )


def list_followups(db: Session, *, actor: Principal, open_only: bool = True) -> list[FollowUpRead]:
    stmt = (
        select(FollowUp, Application.number, Rating)
        .join(Application, Application.id == FollowUp.application_id)
        .join(Rating, Rating.id == FollowUp.rating_id)
    )
    if not actor.has(SCOPE_ALL_DEPARTMENTS):
        stmt = stmt.where(FollowUp.department_id.in_(actor.scope_department_ids or {-1}))
    if open_only:
        stmt = stmt.where(FollowUp.status == "open")
    on = clock.today()
    return [_followup_read(f, n, r, on) for f, n, r in db.execute(stmt.order_by(FollowUp.due_date).limit(200))]


def close_followup(db: Session, *, actor: Principal, followup_id: int, resolution: str) -> FollowUpRead:
    """差评整改: record the rectification and close the follow-up."""
    followup = db.get(FollowUp, followup_id)
    if followup is None:
        raise NotFound("整改任务不存在")
    check_department_scope(actor, followup.department_id)
    if followup.status != "open":
        raise Conflict("整改任务已关闭")
    followup.status, followup.resolution, followup.closed_at = "closed", resolution, utcnow()
    application = db.get(Application, followup.application_id)
    rating = db.get(Rating, followup.rating_id)
    assert application is not None and rating is not None
    notify(
        db,
        application.applicant_id,
        f"差评整改已完成：{application.title}",
        resolution,
        f"/onestop/applications/{application.number}",
    )
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="onestop.followup.close",
        target_type="followup",
        target_id=followup_id,
        details={"application": application.number},
    )
    return _followup_read(followup, application.number, rating, clock.today())


def notifications(db: Session, *, actor: Principal, limit: int = 50) -> list[NotificationRead]:
    rows = db.execute(
        select(Notification).where(Notification.user_id == actor.user_id).order_by(Notification.id.desc()).limit(limit)
    ).scalars()
    return [NotificationRead.model_validate(n) for n in rows]


def mark_read(db: Session, *, actor: Principal, notification_id: int) -> None:
    row = db.get(Notification, notification_id)
    if row is None or row.user_id != actor.user_id:
        raise NotFound("通知不存在")
    row.read_at = row.read_at or utcnow()
    db.flush()
