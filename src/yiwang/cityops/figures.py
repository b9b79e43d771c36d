"""Figures of 一网统管: supervision of late events and the per-group rates the city brain reads."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.cityops import models as m
from yiwang.cityops.lifecycle import OPEN_STATUSES
from yiwang.cityops.reading import departments_by_id
from yiwang.cityops.rules import list_categories
from yiwang.cityops.schemas import (
    FigureRow,
)
from yiwang.core.errors import ValidationFailed
from yiwang.core.timeutil import utcnow


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
    return {"late": dict(sorted(by_dept.items(), key=lambda kv: -len(kv[1]))), "soon": soon, "total_late": len(late)}


def figures(
    db: Session, *, by: str = "department", since: datetime | None = None, now: datetime | None = None
) -> list[FigureRow]:
    """On-time completion rate (plan indicator 11), satisfaction, sent-back and reopen rates per group.

    on_time_rate = closed on time / closed; satisfaction = ratings ≥ 4 / ratings;
    sent_back_rate and reopen_rate = events sent back (reopened) at least once / events dispatched.
    The first row (key "ALL") is the whole city.
    """
    if by not in ("department", "category"):
        raise ValidationFailed("by 只能是 department 或 category")
    now = now or utcnow()
    stmt = select(m.Event).where(m.Event.status != "voided", m.Event.dispatched_at.is_not(None))
    if since:
        stmt = stmt.where(m.Event.created_at >= since)
    departments = departments_by_id(db)
    categories = {c.code: c.name for c in list_categories(db)}
    groups: dict[str, list[m.Event]] = defaultdict(list)
    for e in db.execute(stmt).scalars():
        if by == "department":
            d = departments.get(e.department_id) if e.department_id else None
            key = d.code if d else "NONE"
        else:
            key = e.category_code or "NONE"
        groups[key].append(e)
        groups["ALL"].append(e)
    names = {k: (departments_by_code(departments).get(k) if by == "department" else categories.get(k)) for k in groups}
    names["ALL"] = "全市"
    rows = [_figure(k, names.get(k) or k, v, now) for k, v in groups.items()]
    return sorted(rows, key=lambda r: (r.key != "ALL", -r.total))


def departments_by_code(departments: dict[int, Any]) -> dict[str, str]:
    return {d.code: d.short_name for d in departments.values()}


def _rate(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _figure(key: str, name: str, events: list[m.Event], now: datetime) -> FigureRow:
    closed = [e for e in events if e.closed_on_time is not None]
    on_time = sum(1 for e in closed if e.closed_on_time)
    rated = [e for e in events if e.rating is not None]
    return FigureRow(
        key=key,
        name=name,
        total=len(events),
        closed=len(closed),
        on_time=on_time,
        on_time_rate=_rate(on_time, len(closed)),
        rated=len(rated),
        satisfaction=_rate(sum(1 for e in rated if e.rating and e.rating >= 4), len(rated)),
        sent_back_rate=_rate(sum(1 for e in events if e.sent_back_count), len(events)),
        reopen_rate=_rate(sum(1 for e in events if e.reopen_count), len(events)),
        overdue_open=sum(1 for e in events if e.status in OPEN_STATUSES and e.deadline and e.deadline < now),
    )
