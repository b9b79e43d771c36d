"""Things (devices and stations) with their latest values, and open alarms, as layers of the one map."""

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core.security import Principal
from yiwang.geo import service as geo_service
from yiwang.geo.schemas import Feature, FeatureCollection, FeaturePage, FeatureQuery
from yiwang.sensing import models as m
from yiwang.sensing import permissions as p

ALARM_STATES = ("active", "acknowledged")


def _in_bbox(stmt: Any, q: FeatureQuery) -> Any:
    stmt = stmt.where(m.Thing.lon.is_not(None), m.Thing.lat.is_not(None))
    if q.bbox is not None:
        stmt = stmt.where(m.Thing.lon.between(q.bbox[0], q.bbox[2]), m.Thing.lat.between(q.bbox[1], q.bbox[3]))
    return stmt


def _latest(db: Session, thing_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each thing's datastreams' latest values, keyed by observed property code (or name)."""
    if not thing_ids:
        return {}
    rows = db.execute(
        select(
            m.Datastream.thing_id,
            m.ObservedProperty.code,
            m.ObservedProperty.name,
            m.Datastream.last_value,
            m.Datastream.phenomenon_time_end,
        )
        .join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id)
        .where(m.Datastream.thing_id.in_(thing_ids))
    ).all()
    latest: dict[int, dict[str, Any]] = defaultdict(dict)
    for r in rows:
        if r.last_value is not None:
            latest[r.thing_id][r.code or r.name] = r.last_value
            at = r.phenomenon_time_end.isoformat() if r.phenomenon_time_end else None
            if at and at > latest[r.thing_id].get("observed_at", ""):
                latest[r.thing_id]["observed_at"] = at
    return latest


def _thing_feature(t: Any, latest: dict[str, Any]) -> Feature:
    return Feature(
        id=str(t.id),
        geometry={"type": "Point", "coordinates": [t.lon, t.lat]},
        properties={
            "name": t.name,
            "kind": t.kind,
            "division_code": t.division_code,
            "last_seen": t.last_seen.isoformat() if t.last_seen else None,
            "latest": latest,
        },
    )


def thing_features(db: Session, actor: Principal, q: FeatureQuery) -> FeaturePage:
    stmt = _in_bbox(select(m.Thing), q)
    if q.start is not None:
        stmt = stmt.where(m.Thing.last_seen >= q.start)
    if q.end is not None:
        stmt = stmt.where(m.Thing.last_seen <= q.end)
    matched = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    things = list(db.execute(stmt.order_by(m.Thing.id).limit(q.limit).offset(q.offset)).scalars())
    latest = _latest(db, [t.id for t in things])
    return FeaturePage([_thing_feature(t, latest.get(t.id, {})) for t in things], matched)


def thing_feature(db: Session, actor: Principal, fid: str) -> Feature | None:
    if not fid.isdigit() or int(fid) > 2**31 - 1:
        return None
    thing = db.get(m.Thing, int(fid))
    if thing is None or thing.lon is None:
        return None
    return _thing_feature(thing, _latest(db, [thing.id]).get(thing.id, {}))


def _alarm_feature(r: Any) -> Feature:
    return Feature(
        id=str(r.id),
        geometry={"type": "Point", "coordinates": [r.lon, r.lat]},
        properties={
            "thing": r.name,
            "state": r.state,
            "severity": r.severity,
            "message": r.message,
            "value": r.value,
            "raised_at": r.raised_at.isoformat(),
        },
    )


def _alarms(q: FeatureQuery) -> Any:
    stmt = _in_bbox(
        select(
            m.Alarm.id,
            m.Alarm.state,
            m.Alarm.severity,
            m.Alarm.message,
            m.Alarm.value,
            m.Alarm.raised_at,
            m.Thing.name,
            m.Thing.lon,
            m.Thing.lat,
        ).join(m.Thing, m.Thing.id == m.Alarm.thing_id),
        q,
    ).where(m.Alarm.state.in_(ALARM_STATES))
    if q.start is not None:
        stmt = stmt.where(m.Alarm.raised_at >= q.start)
    if q.end is not None:
        stmt = stmt.where(m.Alarm.raised_at <= q.end)
    return stmt


def alarm_features(db: Session, actor: Principal, q: FeatureQuery) -> FeaturePage:
    stmt = _alarms(q)
    matched = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(stmt.order_by(m.Alarm.id.desc()).limit(q.limit).offset(q.offset)).all()
    return FeaturePage([_alarm_feature(r) for r in rows], matched)


def alarm_feature(db: Session, actor: Principal, fid: str) -> Feature | None:
    if not fid.isdigit() or int(fid) > 2**31 - 1:
        return None
    row = db.execute(_alarms(FeatureQuery()).where(m.Alarm.id == int(fid))).first()
    return _alarm_feature(row) if row else None


def register() -> None:
    geo_service.register_collection(
        FeatureCollection(
            "things",
            "物联感知设备",
            "设备与监测站及各数据流的最新值",
            (p.READ,),
            thing_features,
            thing_feature,
            True,
            {"fill": "#0891b2", "kind": "point"},
        )
    )
    geo_service.register_collection(
        FeatureCollection(
            "alarms",
            "告警",
            "未关闭的感知告警（活动、已确认）",
            (p.READ,),
            alarm_features,
            alarm_feature,
            True,
            {"fill": "#f59e0b", "kind": "point"},
        )
    )
