"""City events as a layer of the one map (OGC API – Features `events`), read as the caller may see them.

A feature carries no personal data: number, title, category, status, place and times only (the reporter,
masked or not, stays on the event's page).
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.cityops import models as m
from yiwang.cityops import permissions as p
from yiwang.cityops.lifecycle import STATUS_NAMES, can_see
from yiwang.cityops.reading import visible_to
from yiwang.core.security import Principal
from yiwang.geo import service as geo_service
from yiwang.geo.schemas import Feature, FeatureCollection, FeaturePage, FeatureQuery

_COLUMNS = (
    m.Event.id,
    m.Event.number,
    m.Event.title,
    m.Event.category_code,
    m.Event.status,
    m.Event.source,
    m.Event.division_code,
    m.Event.grid_code,
    m.Event.lon,
    m.Event.lat,
    m.Event.created_at,
    m.Event.deadline,
)


def _feature(row: object) -> Feature:
    r = row  # a Row of _COLUMNS
    return Feature(
        id=r.number,  # type: ignore[attr-defined]
        geometry={"type": "Point", "coordinates": [r.lon, r.lat]},  # type: ignore[attr-defined]
        properties={
            "number": r.number,  # type: ignore[attr-defined]
            "title": r.title,  # type: ignore[attr-defined]
            "category_code": r.category_code,  # type: ignore[attr-defined]
            "status": r.status,  # type: ignore[attr-defined]
            "status_name": STATUS_NAMES.get(r.status, r.status),  # type: ignore[attr-defined]
            "source": r.source,  # type: ignore[attr-defined]
            "division_code": r.division_code,  # type: ignore[attr-defined]
            "grid_code": r.grid_code,  # type: ignore[attr-defined]
            "created_at": r.created_at.isoformat(),  # type: ignore[attr-defined]
            "deadline": r.deadline.isoformat() if r.deadline else None,  # type: ignore[attr-defined]
        },
    )


def event_features(db: Session, actor: Principal, q: FeatureQuery) -> FeaturePage:
    """Events with coordinates, newest first, in the bbox and time interval, that the caller may see."""
    stmt = select(*_COLUMNS).where(m.Event.lon.is_not(None), m.Event.lat.is_not(None))
    if not actor.has(p.READ):
        stmt = stmt.where(m.Event.reporter_user_id == (actor.user_id or -1))
    elif not actor.has(p.DISPATCH) and not actor.has("core.scope.all"):
        stmt = stmt.where(visible_to(db, actor))
    if q.bbox is not None:
        stmt = stmt.where(m.Event.lon.between(q.bbox[0], q.bbox[2]), m.Event.lat.between(q.bbox[1], q.bbox[3]))
    if q.start is not None:
        stmt = stmt.where(m.Event.created_at >= q.start)
    if q.end is not None:
        stmt = stmt.where(m.Event.created_at <= q.end)
    matched = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(stmt.order_by(m.Event.id.desc()).limit(q.limit).offset(q.offset)).all()
    return FeaturePage([_feature(r) for r in rows], matched)


def event_feature(db: Session, actor: Principal, number: str) -> Feature | None:
    event = db.execute(select(m.Event).where(m.Event.number == number)).scalar_one_or_none()
    if event is None or event.lon is None or not can_see(db, actor, event):
        return None
    row = db.execute(select(*_COLUMNS).where(m.Event.id == event.id)).one()
    return _feature(row)


def register() -> None:
    geo_service.register_collection(
        FeatureCollection(
            id="events",
            title="城市事件",
            description="一网统管城市事件（按调用者可见范围，不含个人信息）",
            permissions=(p.READ, p.REPORT),
            items=event_features,
            one=event_feature,
            temporal=True,
            legend={"fill": "#dc2626", "kind": "point"},
        )
    )
