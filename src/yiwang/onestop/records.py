"""Rows the application, workflow and feedback modules share: lookups, who may view, history, notices."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core.errors import NotFound, PermissionDenied
from yiwang.core.masking import mask_name
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.onestop import service_items
from yiwang.onestop.models import (
    Application,
    Notification,
    Task,
    TaskEvent,
)
from yiwang.org import service as org_service


def department_names(db: Session) -> dict[str, str]:
    return {d.code: d.short_name for d in org_service.list_departments(db, include_inactive=True)}


def application_row(db: Session, number: str) -> Application:
    service_items.check_text(number)
    row = db.execute(select(Application).where(Application.number == number)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"办件 {number} 不存在")
    return row


def tasks_of(db: Session, application_id: int) -> list[Task]:
    return list(db.execute(select(Task).where(Task.application_id == application_id).order_by(Task.id)).scalars())


def check_can_view(actor: Principal, application: Application, tasks: list[Task]) -> None:
    if actor.user_id == application.applicant_id:
        return
    if actor.kind == "staff" and (
        actor.has(SCOPE_ALL_DEPARTMENTS) or any(actor.can_reach_department(t.department_id) for t in tasks)
    ):
        return
    raise PermissionDenied("无权查看该办件")


def shown_applicant_name(actor: Principal, application: Application) -> str:
    """A citizen's name is personal data: masked for everyone but the applicant (a company's is not)."""
    if application.applicant_kind != "citizen" or actor.user_id == application.applicant_id:
        return application.applicant_name
    return mask_name(application.applicant_name) or ""


def notify(db: Session, user_id: int, title: str, body: str = "", url: str | None = None) -> None:
    db.add(Notification(user_id=user_id, title=title, body=body, url=url, created_at=utcnow()))


def record_event(db: Session, task: Task, action: str, actor: Principal, note: str = "") -> None:
    db.add(TaskEvent(task_id=task.id, action=action, note=note, actor_name=actor.display_name, at=utcnow()))
