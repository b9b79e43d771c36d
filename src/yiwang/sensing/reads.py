"""The read model other domains use: device counts, air and water quality, alarms and hourly means,
as typed shapes (never device or alarm rows)."""

from collections import defaultdict
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core.errors import ValidationFailed
from yiwang.core.timeutil import SHANGHAI
from yiwang.sensing import models as m
from yiwang.sensing import water
from yiwang.sensing.schemas import (
    AlarmRead,
    DeviceCounts,
    HourlyAqi,
    RiverWaterClass,
    StationHourlyAqi,
    StationWaterClass,
    TimedValue,
    WaterQuality,
)

UNCLEARED = ("active", "acknowledged")


def counts(db: Session) -> DeviceCounts:
    """Devices, online devices and alarms not yet cleared."""
    return DeviceCounts(
        devices=db.execute(select(func.count(m.Thing.id))).scalar_one(),
        online=db.execute(select(func.count(m.Thing.id)).where(m.Thing.online.is_(True))).scalar_one(),
        active_alarms=db.execute(select(func.count(m.Alarm.id)).where(m.Alarm.state.in_(UNCLEARED))).scalar_one(),
    )


def aqi_hourly(db: Session, *, start: date, end: date, thing_ids: list[int] | None = None) -> HourlyAqi:
    """Hourly AQI per station for local days [start, end], as aligned arrays (one value per hour)."""
    if end < start:
        raise ValidationFailed("结束日期不能早于开始日期")
    if (end - start).days > 370:
        raise ValidationFailed("一次最多查询一年")
    stmt = select(m.AqiDay.thing_id, m.AqiDay.day, m.AqiDay.hourly).where(m.AqiDay.day >= start, m.AqiDay.day <= end)
    if thing_ids:
        stmt = stmt.where(m.AqiDay.thing_id.in_(thing_ids))
    days = (end - start).days + 1
    stations: dict[int, list[int | None]] = {}
    for thing_id, day, hourly in db.execute(stmt).all():
        values = stations.get(thing_id)
        if values is None:
            values = stations[thing_id] = [None] * (days * 24)
        offset = (day - start).days * 24
        values[offset : offset + 24] = hourly
    names = dict(db.execute(select(m.Thing.id, m.Thing.name).where(m.Thing.id.in_(list(stations)))).all())
    return HourlyAqi(
        start=datetime(start.year, start.month, start.day, tzinfo=SHANGHAI).astimezone(UTC),
        step_seconds=3600,
        hours=days * 24,
        stations=[StationHourlyAqi(id=k, name=names.get(k, str(k)), aqi=v) for k, v in sorted(stations.items())],
    )


def water_quality(db: Session) -> WaterQuality:
    """Latest water class per station (single-factor) and per river (worst station)."""
    rows = db.execute(
        select(m.Thing.id, m.Thing.name, m.Thing.properties, m.ObservedProperty.code, m.Datastream.last_value)
        .join(m.Datastream, m.Datastream.thing_id == m.Thing.id)
        .join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id)
        .where(m.Thing.kind == "water_station", m.ObservedProperty.code.in_(water.ITEMS))
    ).all()
    readings: dict[int, dict[str, float]] = defaultdict(dict)
    places: dict[int, tuple[str, str, str]] = {}
    for thing_id, name, props, code, value in rows:
        places.setdefault(thing_id, (name, (props or {}).get("river", ""), (props or {}).get("water_body", "river")))
        if value is not None:
            readings[thing_id][code] = value
    stations = []
    rivers: dict[str, list[str]] = defaultdict(list)
    for thing_id in sorted(places):
        name, river, body = places[thing_id]
        values = readings[thing_id]
        try:
            result = water.classify(dict(values), water_body=body)
        except ValueError:
            water_class, limiting = None, []
        else:
            water_class, limiting = result.water_class, result.limiting
            rivers[river].append(result.water_class)
        stations.append(
            StationWaterClass(
                id=thing_id,
                name=name,
                river=river,
                water_body=body,
                values=values,
                water_class=water_class,
                limiting=limiting,
            )
        )
    return WaterQuality(
        stations=stations,
        rivers=[
            RiverWaterClass(river=river, water_class=water.worst_class(classes), stations=len(classes))
            for river, classes in sorted(rivers.items())
        ],
    )


def recent_alarms(db: Session, *, limit: int = 50) -> list[AlarmRead]:
    """The newest alarms in any state."""
    rows = db.execute(select(m.Alarm).order_by(m.Alarm.id.desc()).limit(limit)).scalars()
    return [AlarmRead.model_validate(a) for a in rows]


def property_hourly_means(
    db: Session, *, thing_id: int, property_code: str, start: datetime, end: datetime
) -> list[TimedValue] | None:
    """Hourly means in [start, end) of a device's first datastream of a property; None when it has none."""
    stream = db.execute(
        select(m.Datastream.id)
        .join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id)
        .where(m.Datastream.thing_id == thing_id, m.ObservedProperty.code == property_code)
        .order_by(m.Datastream.id)
        .limit(1)
    ).scalar_one_or_none()
    if stream is None:
        return None
    hours = select(m.Rollup.start, m.Rollup.mean).where(m.Rollup.datastream_id == stream, m.Rollup.period == "hour")
    rows = db.execute(hours.where(m.Rollup.start >= start, m.Rollup.start < end).order_by(m.Rollup.start)).all()
    return [TimedValue(at=at, value=value) for at, value in rows]
