"""Figures of 一网统管: supervision of late events and the per-group rates of the figures page and API."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.cityops import models as m
from yiwang.cityops.lifecycle import OPEN_STATUSES
from yiwang.cityops.permissions import HANDLE
from yiwang.cityops.reading import departments_by_id
from yiwang.cityops.reads import city_event_figures, event_figures
from yiwang.cityops.schemas import FigureRow
from yiwang.core.errors import ValidationFailed
from yiwang.core.timeutil import utcnow
from yiwang.org import service as org_service


def supervision(db: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """What is late, by department: for the centre's supervision page."""
    now = now or utcnow()
    departments = departments_by_id(db)
    late = list(
        db.execute(
            select(m.Event).where(m.Event.status.in_(OPEN_STATUSES), m.Event.deadline < now).order_by(m.Event.deadline)
        ).scalars()
    )
    by_dept: dict[str, list[m.Event]] = defaultdict(list)
    for e in late:
        d = departments.get(e.department_id) if e.department_id else None
        by_dept[d.short_name if d else "未派遣"].append(e)
    soon = list(
        db.execute(
            select(m.Event)
            .where(m.Event.status.in_(("dispatched", "handling")), m.Event.deadline >= now, m.Event.warned.is_(True))
            .order_by(m.Event.deadline)
        ).scalars()
    )
    # Work nobody can take: events waiting on a department with no active account that may handle them.
    staffed = _staffed_department_ids(db)
    unattended = list(
        db.execute(
            select(m.Event)
            .where(m.Event.status.in_(("dispatched", "handling")), m.Event.department_id.is_not(None))
            .order_by(m.Event.deadline)
        ).scalars()
    )
    unattended = [e for e in unattended if e.department_id not in staffed]
    return {
        "late": dict(sorted(by_dept.items(), key=lambda kv: -len(kv[1]))),
        "soon": soon,
        "total_late": len(late),
        "unattended": unattended,
        "unattended_departments": {
            e.department_id: departments[e.department_id].short_name for e in unattended if e.department_id is not None
        },
    }


def _staffed_department_ids(db: Session) -> set[int]:
    """Departments with an active account whose roles may handle dispatched events, in the department
    or above it (a handler reaches the sub-units of their department)."""
    handling_roles = [r.code for r in org_service.list_roles(db) if HANDLE in r.permissions]
    homes = {
        a.department_id
        for role in handling_roles
        for a in org_service.list_accounts(db, role=role, kind="staff")
        if a.active and a.department_id is not None
    }
    return {d for home in homes for d in org_service.department_subtree_ids(db, department_id=home)}


def figures(
    db: Session, *, by: str = "department", since: datetime | None = None, now: datetime | None = None
) -> list[FigureRow]:
    """On-time completion rate (plan indicator 11), satisfaction, sent-back and reopen rates per group.

    on_time_rate = closed on time / closed; satisfaction = ratings ≥ 4 / ratings;
    sent_back_rate and reopen_rate = events sent back (reopened) at least once / events dispatched.
    The first row (key "ALL") is the whole city; no rows when no event counts.
    """
    if by not in ("department", "category"):
        raise ValidationFailed("by 只能是 department 或 category")
    city = city_event_figures(db, since=since, now=now)
    if not city.total:
        return []
    rows = event_figures(db, by="department" if by == "department" else "category", since=since, now=now)
    return [FigureRow.model_validate(f, from_attributes=True) for f in (city, *rows)]
