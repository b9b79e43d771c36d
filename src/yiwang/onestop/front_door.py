"""城市服务总入口: the home page of citizens and enterprises, service search, and marking messages read.

A citizen's or enterprise's `/` is this page, not the staff home with sections hidden: search for
services, the 一件事 bundles and popular services, services by life event and by department, and
"我的" (applications in progress with their stage, what is needed next and working days left;
certificates; ratings due; unread messages)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from yiwang.certs import service as certs_service
from yiwang.core.db import DbSession
from yiwang.core.params import IdPath
from yiwang.core.security import CurrentUser, MaybeUser, Principal, public
from yiwang.onestop import finder, service
from yiwang.onestop.schemas import ApplicationRead
from yiwang.org import service as org_service
from yiwang.web.csrf import CsrfChecked
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class InProgress:
    """An application in progress as its applicant needs to see it."""

    number: str
    title: str
    stage: str  # where it is, in words
    next_step: str  # what is needed next, and from whom
    days_left: int | None  # working days left on the slowest department's clock
    overdue: bool
    needs_me: bool  # the applicant has to act (supplement)


def in_progress(applications: list[ApplicationRead]) -> list[InProgress]:
    """Open applications, those waiting for the applicant first."""
    found = []
    for app in applications:
        if app.status == "completed":
            continue
        open_tasks = [t for t in app.tasks if t.stage not in ("decided", "done")] or app.tasks
        if app.status == "supplement" or any(t.paused for t in open_tasks):
            asked = [f"{x.get('name', '')}（{x.get('reason', '')}）" for t in open_tasks for x in t.supplement_list]
            step = "请补正材料" + (f"：{'；'.join(asked)}" if asked else "")
            found.append(InProgress(app.number, app.title, "补正中（计时暂停）", step, None, False, True))
            continue
        slowest = max(open_tasks, key=lambda t: t.remaining_days) if open_tasks else None
        stage = "、".join(sorted({f"{t.department_name}{t.stage_name}" for t in open_tasks})) or "办理中"
        step = "等待部门办理，无需您操作" if slowest else "等待办结"
        days = slowest.remaining_days if slowest else None
        overdue = any(t.overdue for t in open_tasks)
        found.append(InProgress(app.number, app.title, stage, step, days, overdue, False))
    return sorted(found, key=lambda a: (not a.needs_me, a.days_left if a.days_left is not None else 999))


def citizen_home(request: Request, db: Session, user: Principal) -> HTMLResponse:
    """The home page of a citizen or enterprise account."""
    assert user.user_id is not None
    audience = "enterprise" if user.kind == "enterprise" else "citizen"
    applications = service.my_applications(db, actor=user)
    open_ones = [
        service.get_application(db, actor=user, number=a.number) for a in applications if a.status != "completed"
    ]
    notifications = service.notifications(db, actor=user, limit=50)
    departments = {d.code: d.short_name for d in org_service.list_departments(db)}
    events = service.event_names(db)
    return render(
        request,
        "onestop/home.html",
        {
            "popular": finder.popular_services(db, audience=audience, limit=8),
            "life_events": events["enterprise" if audience == "enterprise" else "life"],
            "event_param": "enterprise_event" if audience == "enterprise" else "life_event",
            "departments": [(c, departments.get(c, c), n) for c, n in finder.service_departments(db)],
            "in_progress": in_progress(open_ones),
            "completed": [a for a in applications if a.status == "completed"],
            "to_rate": [a for a in applications if a.status == "completed" and a.rating is None],
            "certificates": certs_service.wallet(db, holder_user_id=user.user_id),
            "unread": [n for n in notifications if not n.read_at],
        },
    )


@router.get("/onestop/find", response_class=HTMLResponse)
@public
def find_page(
    request: Request, db: DbSession, user: MaybeUser, q: Annotated[str, Query(max_length=50)] = ""
) -> HTMLResponse:
    """Search items and bundles by what a person types, forgiving typos (找服务)."""
    hits = finder.find_services(db, q=q) if q.strip() else []
    departments = {d.code: d.short_name for d in org_service.list_departments(db)}
    return render(request, "onestop/find.html", {"q": q, "hits": hits, "departments": departments})


@router.post("/onestop/notifications/{notification_id}/read")
def mark_read_page(notification_id: IdPath, db: DbSession, user: CurrentUser, _csrf: CsrfChecked) -> RedirectResponse:
    """Mark one message read and go back to the home page."""
    service.mark_read(db, actor=user, notification_id=notification_id)
    return RedirectResponse("/#messages", status_code=303)


@router.post("/onestop/notifications/read")
def mark_all_read_page(db: DbSession, user: CurrentUser, _csrf: CsrfChecked) -> RedirectResponse:
    """Mark every unread message read."""
    for note in service.notifications(db, actor=user, limit=200):
        if not note.read_at:
            service.mark_read(db, actor=user, notification_id=note.id)
    return RedirectResponse("/#messages", status_code=303)
