"""The clock of 一网通办: today in Shanghai, the working-day calendar and its overrides, each task's deadline."""

import json
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit, workdays
from yiwang.core.security import Principal
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.onestop.models import (
    CalendarOverride,
    Task,
    TaskEvent,
)
from yiwang.onestop.schemas import (
    STAGE_NAMES,
    CalendarOverrideIn,
    EventRead,
    TaskRead,
)

OPEN_STAGES = ("received", "supplement", "review", "decision", "decided")


def today() -> date:
    return utcnow().astimezone(SHANGHAI).date()


_OVERRIDES_KEY = "onestop_calendar_overrides"


def calendar_overrides(db: Session) -> dict[date, bool]:
    """The override table, read once per unit of work."""
    if _OVERRIDES_KEY not in db.info:
        db.info[_OVERRIDES_KEY] = {row.day: row.workday for row in db.execute(select(CalendarOverride)).scalars()}
    overrides: dict[date, bool] = db.info[_OVERRIDES_KEY]
    return overrides


def set_calendar_override(db: Session, *, actor: Principal, data: CalendarOverrideIn) -> None:
    """Declare a day a working day or not, overriding the holiday package (e.g. for a new year)."""
    row = db.get(CalendarOverride, data.day)
    if row is None:
        db.add(CalendarOverride(day=data.day, workday=data.workday, note=data.note))
    else:
        row.workday, row.note = data.workday, data.note
    db.flush()
    db.info.pop(_OVERRIDES_KEY, None)
    audit.record(
        db,
        actor=actor,
        action="onestop.calendar.override",
        target_type="calendar",
        target_id=data.day.isoformat(),
        details={"workday": data.workday, "note": data.note},
    )


def add_working_days(db: Session, *, start: date, days: int) -> date:
    return workdays.add_working_days(start, days, calendar_overrides(db))


def task_read(
    task: Task,
    application_number: str,
    department_name: str,
    overrides: dict[date, bool],
    events_: list[TaskEvent] | None = None,
    on: date | None = None,
    names_shown: dict[str, str] | None = None,
) -> TaskRead:
    """`names_shown` replaces actor names in the history (the applicant's, masked for staff)."""
    on = on or today()
    paused = task.stage == "supplement"
    due = task.due_date
    if paused and task.paused_since:
        due = workdays.add_working_days(due, workdays.working_days_between(task.paused_since, on, overrides), overrides)
    open_ = task.stage in OPEN_STAGES
    if due >= on:
        remaining = workdays.working_days_between(on, due, overrides)
    else:
        remaining = -workdays.working_days_between(due, on, overrides)
    overdue = open_ and not paused and on > due
    warning = open_ and not overdue and not paused and remaining <= max(1, task.promised_days // 5)
    return TaskRead(
        id=task.id,
        application_number=application_number,
        department_code=task.department_code,
        department_name=department_name,
        title=task.title,
        item_codes=json.loads(task.item_codes),
        stage=task.stage,
        stage_name=STAGE_NAMES[task.stage],
        decision=task.decision,
        decision_reason=task.decision_reason,
        start_date=task.start_date,
        due_date=due,
        remaining_days=remaining,
        overdue=overdue,
        warning=warning,
        paused=paused,
        paused_days=task.paused_days,
        supplement_list=json.loads(task.supplement_list or "[]"),
        certificates=json.loads(task.certificates or "[]"),
        events=[event_read(e, names_shown or {}) for e in events_ or []],
    )


def event_read(event: TaskEvent, names_shown: dict[str, str]) -> EventRead:
    read = EventRead.model_validate(event)
    read.actor_name = names_shown.get(event.actor_name, event.actor_name)
    return read
