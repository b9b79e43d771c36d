"""Events as the caller may see them: one or many, listings, the reporter in clear, the map."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yiwang.cityops import models as m
from yiwang.cityops import permissions as p
from yiwang.cityops.lifecycle import (
    OPEN_STATUSES,
    REPORTER_CONTEXT_NAME,
    REPORTER_CONTEXT_PHONE,
    STATUS_NAMES,
    assisting_departments,
    get_event_row,
)
from yiwang.cityops.rules import list_categories
from yiwang.cityops.schemas import (
    EventRead,
)
from yiwang.core import audit
from yiwang.core.crypto import FieldCipher
from yiwang.core.errors import PermissionDenied
from yiwang.core.masking import mask_name, mask_phone
from yiwang.core.permissions import PERSONAL_READ_CLEAR
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.geo import service as geo_service
from yiwang.org import service as org_service


def departments_by_id(db: Session) -> dict[int, Any]:
    return {d.id: d for d in org_service.list_departments(db, include_inactive=True)}


def to_read(
    db: Session,
    event: m.Event,
    *,
    actor: Principal,
    cipher: FieldCipher | None = None,
    now: datetime | None = None,
    departments: dict[int, Any] | None = None,
    assisting: list[int] | None = None,
    categories: dict[str, m.Category] | None = None,
) -> EventRead:
    """The event as the caller may see it: reporter masked (shown only to the reporter themself)."""
    now = now or utcnow()
    departments = departments or departments_by_id(db)
    assisting = assisting_departments(db, event.id) if assisting is None else assisting
    if categories is None:
        category = db.get(m.Category, event.category_code) if event.category_code else None
    else:
        category = categories.get(event.category_code) if event.category_code else None
    reporter = None
    if cipher is not None and (event.reporter_name or event.reporter_phone):
        name = cipher.decrypt(event.reporter_name, context=REPORTER_CONTEXT_NAME) if event.reporter_name else ""
        phone = cipher.decrypt(event.reporter_phone, context=REPORTER_CONTEXT_PHONE) if event.reporter_phone else ""
        mine = actor.user_id is not None and actor.user_id == event.reporter_user_id
        reporter = f"{name} {phone}".strip() if mine else f"{mask_name(name) or ''} {mask_phone(phone) or ''}".strip()
    dept = departments.get(event.department_id) if event.department_id else None
    return EventRead(
        id=event.id,
        number=event.number,
        title=event.title,
        description=event.description,
        category_code=event.category_code,
        category_name=category.name if category else None,
        source=event.source,
        status=event.status,
        status_name=STATUS_NAMES[event.status],
        department_code=dept.code if dept else None,
        assisting=[departments[a].code for a in assisting if a in departments],
        division_code=event.division_code,
        lon=event.lon,
        lat=event.lat,
        address=event.address,
        photos=event.photos or [],
        reporter=reporter,
        created_at=event.created_at,
        deadline=event.deadline,
        overdue=bool(event.deadline and event.status in OPEN_STATUSES and now > event.deadline),
        supervised=event.supervised,
        suggested_category=event.suggested_category,
        suggestion_score=event.suggestion_score,
        needs_dispatcher=event.needs_dispatcher,
        rating=event.rating,
        sent_back_count=event.sent_back_count,
        reopen_count=event.reopen_count,
        result=event.result,
    )


def to_reads(
    db: Session, events: list[m.Event], *, actor: Principal, cipher: FieldCipher | None = None
) -> list[EventRead]:
    """Many events as the caller may see them, with a fixed number of queries however many there are:
    departments, categories and assisting departments are read once for the whole list."""
    departments = departments_by_id(db)
    # Held in a dict: the session's identity map keeps rows only while something refers to them.
    categories = {c.code: c for c in list_categories(db)}
    assisting: dict[int, list[int]] = {e.id: [] for e in events}
    if events:
        rows = db.execute(
            select(m.EventAssist.event_id, m.EventAssist.department_id)
            .where(m.EventAssist.event_id.in_(list(assisting)))
            .order_by(m.EventAssist.event_id, m.EventAssist.department_id)
        )
        for event_id, department_id in rows:
            assisting[event_id].append(department_id)
    now = utcnow()
    return [
        to_read(
            db,
            e,
            actor=actor,
            cipher=cipher,
            now=now,
            departments=departments,
            assisting=assisting[e.id],
            categories=categories,
        )
        for e in events
    ]


def read_reporter_clear(
    db: Session, *, actor: Principal, number: str, cipher: FieldCipher, reason: str
) -> dict[str, str | None]:
    """The reporter's name and phone in clear, for staff allowed to call back; audited."""
    if not actor.has(PERSONAL_READ_CLEAR) and not actor.has(p.DISPATCH):
        raise PermissionDenied("无权查看上报人明文信息")
    event = get_event_row(db, actor=actor, number=number)
    audit.record(
        db,
        actor=actor,
        action="cityops.event.reporter_read",
        target_type="event",
        target_id=number,
        details={"reason": reason},
    )
    return {
        "name": cipher.decrypt(event.reporter_name, context=REPORTER_CONTEXT_NAME) if event.reporter_name else None,
        "phone": cipher.decrypt(event.reporter_phone, context=REPORTER_CONTEXT_PHONE) if event.reporter_phone else None,
    }


def transitions(db: Session, *, event_id: int) -> list[m.Transition]:
    return list(
        db.execute(select(m.Transition).where(m.Transition.event_id == event_id).order_by(m.Transition.id)).scalars()
    )


@dataclass
class EventFilter:
    status: str | None = None
    category_code: str | None = None
    department_code: str | None = None
    source: str | None = None
    overdue: bool = False
    needs_dispatcher: bool = False
    mine: bool = False


def visible_to(db: Session, actor: Principal) -> Any:
    """The condition for a staff member without the centre's reach: own departments', assisted, own grid cells'."""
    scope = list(actor.scope_department_ids)
    assisted = select(m.EventAssist.event_id).where(m.EventAssist.department_id.in_(scope))
    cells = geo_service.grid_cells_of(db, username=actor.username)
    return or_(m.Event.department_id.in_(scope), m.Event.id.in_(assisted), m.Event.grid_code.in_(cells))


def list_events(
    db: Session,
    *,
    actor: Principal,
    filters: EventFilter,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[list[m.Event], int]:
    """Events the caller may see: all for the centre, own departments' (lead or assisting) for others."""
    now = now or utcnow()
    stmt = select(m.Event)
    if filters.mine or not actor.has(p.READ):
        stmt = stmt.where(m.Event.reporter_user_id == (actor.user_id or -1))
    elif not actor.has(p.DISPATCH) and not actor.has("core.scope.all"):
        stmt = stmt.where(visible_to(db, actor))
    if filters.status:
        stmt = stmt.where(m.Event.status == filters.status)
    if filters.category_code:
        stmt = stmt.where(m.Event.category_code == filters.category_code)
    if filters.source:
        stmt = stmt.where(m.Event.source == filters.source)
    if filters.department_code:
        dept = org_service.get_department_by_code(db, code=filters.department_code)
        stmt = stmt.where(m.Event.department_id == dept.id)
    if filters.overdue:
        stmt = stmt.where(m.Event.status.in_(OPEN_STATUSES), m.Event.deadline < now)
    if filters.needs_dispatcher:
        stmt = stmt.where(m.Event.needs_dispatcher.is_(True), m.Event.status.in_(("received", "registered")))
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = list(db.execute(stmt.order_by(m.Event.id.desc()).limit(limit).offset(offset)).scalars())
    return rows, total


def reporter_events(db: Session, *, actor: Principal) -> list[m.Event]:
    return list(
        db.execute(
            select(m.Event).where(m.Event.reporter_user_id == actor.user_id).order_by(m.Event.id.desc()).limit(100)
        ).scalars()
    )


def map_points(db: Session, *, actor: Principal, days: int = 30) -> dict[str, Any]:
    """Events with coordinates over the last days, and counts per division (for the map)."""
    since = utcnow() - timedelta(days=days)
    rows, _ = list_events(db, actor=actor, filters=EventFilter(), limit=5000)
    points = [
        {
            "number": e.number,
            "lon": e.lon,
            "lat": e.lat,
            "status": e.status,
            "category": e.category_code,
            "title": e.title,
        }
        for e in rows
        if e.lon is not None and e.created_at >= since
    ]
    divisions = {d.code: d for d in org_service.list_divisions(db)}
    per_division: dict[str, int] = defaultdict(int)
    for e in rows:
        if e.division_code:
            per_division[e.division_code[:9]] += 1
    return {
        "points": points,
        "divisions": [
            {"code": c, "name": divisions[c].name, "lon": divisions[c].lon, "lat": divisions[c].lat, "count": n}
            for c, n in per_division.items()
            if c in divisions
        ],
    }
