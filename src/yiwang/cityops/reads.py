"""The read model other domains use: figures computed in SQL and typed shapes, never event rows.

Figures count dispatched events that were not voided, the events the city is accountable for.
"""

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, func, literal_column, select
from sqlalchemy.orm import Session

from yiwang.cityops import models as m
from yiwang.cityops.lifecycle import OPEN_STATUSES
from yiwang.cityops.rules import list_categories
from yiwang.cityops.schemas import CategoryRead, ClosedEvent, DivisionEvents, EventFigures, EventMap, EventPoint
from yiwang.core.timeutil import utcnow
from yiwang.org import service as org_service

Grouping = Literal["department", "category", "division"]
# The town or subdistrict of a division code: its first nine digits. Literal arguments, not bound
# ones, so PostgreSQL sees the same expression in SELECT and GROUP BY.
TOWN = func.substr(m.Event.division_code, literal_column("1"), literal_column("9"))


def _accountable(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """Dispatched events that were not voided, created in [since, until)."""
    found = [m.Event.status != "voided", m.Event.dispatched_at.is_not(None)]
    if since is not None:
        found.append(m.Event.created_at >= since)
    if until is not None:
        found.append(m.Event.created_at < until)
    return found


def _counts(now: datetime) -> list[ColumnElement[Any]]:
    e = m.Event

    def flagged(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return [
        func.count(e.id),
        func.count(e.closed_on_time),
        flagged(e.closed_on_time.is_(True)),
        func.count(e.rating),
        flagged(e.rating >= 4),
        flagged(e.sent_back_count > 0),
        flagged(e.reopen_count > 0),
        flagged(e.status.in_(OPEN_STATUSES) & (e.deadline < now)),
    ]


def _figures(key: str, name: str, counts: Any) -> EventFigures:
    total, closed, on_time, rated, satisfied, sent_back, reopened, overdue = (int(c or 0) for c in counts)
    return EventFigures(
        key=key,
        name=name,
        total=total,
        closed=closed,
        on_time=on_time,
        rated=rated,
        satisfied=satisfied,
        sent_back=sent_back,
        reopened=reopened,
        overdue_open=overdue,
    )


def city_event_figures(
    db: Session, *, since: datetime | None = None, until: datetime | None = None, now: datetime | None = None
) -> EventFigures:
    """The whole city's figures for events created in [since, until) (key "ALL")."""
    row = db.execute(select(*_counts(now or utcnow())).where(*_accountable(since, until))).one()
    return _figures("ALL", "全市", row)


def event_figures(
    db: Session,
    *,
    by: Grouping,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> list[EventFigures]:
    """Figures per lead department, category or town/subdistrict for events created in [since, until),
    largest group first (ties: the group whose first event is oldest). Events without one are "NONE"."""
    column = {"department": m.Event.department_id, "category": m.Event.category_code, "division": TOWN}[by]
    stmt = select(column, *_counts(now or utcnow())).where(*_accountable(since, until)).group_by(column)
    rows = db.execute(stmt.order_by(func.count(m.Event.id).desc(), func.min(m.Event.id))).all()
    names = _group_names(db, by)
    found = []
    for key, *counts in rows:
        code, name = names.get(key) or ((None, None) if by == "department" else (key, key))
        found.append(_figures(code or "NONE", name or "NONE", counts))
    return found


def _group_names(db: Session, by: Grouping) -> dict[Any, tuple[str, str]]:
    if by == "department":
        return {d.id: (d.code, d.short_name) for d in org_service.list_departments(db, include_inactive=True)}
    if by == "category":
        return {c.code: (c.code, c.name) for c in event_categories(db)}
    return {d.code: (d.code, d.name) for d in org_service.list_divisions(db)}


def closed_events(db: Session, *, since: datetime | None = None) -> list[ClosedEvent]:
    """Closed events created since a time, newest first, and whether each was closed on time."""
    stmt = select(m.Event.number, m.Event.title, m.Event.department_id, m.Event.closed_on_time).where(
        *_accountable(since, None), m.Event.closed_on_time.is_not(None)
    )
    codes: dict[int | None, str] = {d.id: d.code for d in org_service.list_departments(db, include_inactive=True)}
    return [
        ClosedEvent(number=number, title=title, department_code=codes.get(department_id), on_time=bool(on_time))
        for number, title, department_id, on_time in db.execute(stmt.order_by(m.Event.id.desc()))
    ]


def late_open_events(db: Session, *, now: datetime | None = None) -> int:
    """Events still open past their deadline, whether dispatched or not (what supervision chases)."""
    stmt = select(func.count(m.Event.id)).where(m.Event.status.in_(OPEN_STATUSES), m.Event.deadline < (now or utcnow()))
    return db.execute(stmt).scalar_one()


def event_map(db: Session, *, days: int = 30, limit: int = 2000) -> EventMap:
    """The newest events with coordinates created in the last days, and every event counted per town
    or subdistrict (most recently active first)."""
    points = db.execute(
        select(
            m.Event.number,
            m.Event.lon,
            m.Event.lat,
            m.Event.status,
            m.Event.category_code.label("category"),
            m.Event.title,
        )
        .where(m.Event.lon.is_not(None), m.Event.created_at >= utcnow() - timedelta(days=days))
        .order_by(m.Event.id.desc())
        .limit(limit)
    ).all()
    counts = db.execute(
        select(TOWN, func.count(m.Event.id))
        .where(m.Event.division_code.is_not(None), m.Event.division_code != "")
        .group_by(TOWN)
        .order_by(func.max(m.Event.id).desc())
    ).all()
    known = {d.code: d for d in org_service.list_divisions(db)}
    return EventMap(
        points=[EventPoint.model_validate(point._asdict()) for point in points],
        divisions=[
            DivisionEvents(code=code, name=known[code].name, lon=known[code].lon, lat=known[code].lat, count=count)
            for code, count in counts
            if code in known
        ],
    )


def event_categories(db: Session) -> list[CategoryRead]:
    """The event categories, by code."""
    return [CategoryRead.model_validate(c) for c in list_categories(db)]
