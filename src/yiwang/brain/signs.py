"""City signs (城市体征): the live figures of air, water, events, services, data and devices, the
hourly/daily series brain keeps of them (for trends, warnings and forecasts), and the map."""

import json
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from yiwang.brain import models as m
from yiwang.brain.sources import SourceUnavailable, local_today, read, system_actor
from yiwang.cityops import service as cityops_service
from yiwang.core.db import changed_rows, dialect_insert
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.exchange import service as exchange_service
from yiwang.governance import service as governance_service
from yiwang.onestop import service as onestop_service
from yiwang.opendata import service as opendata_service
from yiwang.org import service as org_service
from yiwang.sensing import service as sensing_service

GOOD_AQI = 100  # 优 and 良 (HJ 633 levels 一级 and 二级)
WATER_GOOD = ("I", "II", "III")
STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def _section(reader: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one section's reader; a failed source becomes {"reason": ...} instead of failing the page."""
    try:
        return reader()
    except SourceUnavailable as exc:
        return {"reason": exc.reason}


# --- series store -------------------------------------------------------------------------------


def store_points(db: Session, *, key: str, points: Iterable[tuple[datetime, float]]) -> int:
    """Upsert values of a series (same series and time: the new value wins)."""
    rows = [{"series": key, "ts": ts, "value": float(v)} for ts, v in points if v is not None and np.isfinite(v)]
    if not rows:
        return 0
    insert = dialect_insert(db)
    stmt = insert(m.SeriesPoint)
    stmt = stmt.on_conflict_do_update(index_elements=["series", "ts"], set_={"value": stmt.excluded.value})
    for start in range(0, len(rows), 5000):
        db.execute(stmt, rows[start : start + 5000])
    return len(rows)


def describe_series(
    db: Session,
    *,
    key: str,
    label: str,
    kind: str,
    step: str,
    unit: str = "",
    department_code: str | None = None,
    division_code: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
) -> None:
    row = db.get(m.SeriesMeta, key) or m.SeriesMeta(key=key)
    row.label, row.kind, row.step, row.unit = label, kind, step, unit
    row.department_code, row.division_code, row.lon, row.lat = department_code, division_code, lon, lat
    row.updated_at = utcnow()
    db.add(row)
    db.flush()


def series_list(db: Session, *, kind: str | None = None) -> list[m.SeriesMeta]:
    query = select(m.SeriesMeta).order_by(m.SeriesMeta.key)
    if kind:
        query = query.where(m.SeriesMeta.kind == kind)
    return list(db.execute(query).scalars())


def load_series(db: Session, *, key: str, start: datetime, end: datetime, step: str = "hour") -> np.ndarray:
    """Values on a regular grid [start, end) with NaN where nothing was stored."""
    delta = STEP[step]
    size = int((end - start) / delta)
    values = np.full(size, np.nan)
    rows = db.execute(
        select(m.SeriesPoint.ts, m.SeriesPoint.value).where(
            m.SeriesPoint.series == key, m.SeriesPoint.ts >= start, m.SeriesPoint.ts < end
        )
    )
    for ts, value in rows:
        index = int((ts - start) / delta)
        if 0 <= index < size:
            values[index] = value
    return values


def load_many(
    db: Session, *, keys: list[str], start: datetime, end: datetime, step: str = "hour"
) -> dict[str, np.ndarray]:
    """Several series at once (one query)."""
    delta = STEP[step]
    size = int((end - start) / delta)
    out = {k: np.full(size, np.nan) for k in keys}
    if not keys:
        return out
    rows = db.execute(
        select(m.SeriesPoint.series, m.SeriesPoint.ts, m.SeriesPoint.value).where(
            m.SeriesPoint.series.in_(keys), m.SeriesPoint.ts >= start, m.SeriesPoint.ts < end
        )
    )
    for key, ts, value in rows:
        index = int((ts - start) / delta)
        if 0 <= index < size:
            out[key][index] = value
    return out


def _prefix(db: Session, kind: str) -> tuple[Any, ...]:
    """Series of one kind. On SQLite a key range ("aqiday:" ≤ key < "aqiday;") that the (series, ts)
    index serves; elsewhere LIKE, since a locale collation may order punctuation differently."""
    if db.get_bind().dialect.name == "sqlite":
        return m.SeriesPoint.series >= f"{kind}:", m.SeriesPoint.series < f"{kind};"
    return (m.SeriesPoint.series.like(f"{kind}:%"),)


def hour_floor(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def local_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def prune(db: Session, *, keep_days: int = 800) -> int:
    """Drop series points older than the retention (two years and a bit)."""
    cutoff = utcnow() - timedelta(days=keep_days)
    return changed_rows(db, delete(m.SeriesPoint).where(m.SeriesPoint.ts < cutoff))


# --- rollup: copy the latest signs from the domains into brain's series ---------------------------


def _department_codes(db: Session) -> dict[int, str]:
    return {d.id: d.code for d in org_service.list_departments(db, include_inactive=True)}


def rollup(db: Session, *, days: int = 2) -> dict[str, Any]:
    """Copy the last days of hourly AQI per station, water level per sluice and daily events per
    category into brain's series; idempotent (upserts). Failed sources are reported, not fatal."""
    done: dict[str, Any] = {}
    codes = _department_codes(db)
    today = local_today()
    try:
        hourly = read("sensing", sensing_service.aqi_hourly, db, start=today - timedelta(days=days - 1), end=today)
        things = {t.id: t for t in read("sensing", sensing_service.list_things, db)}
        count = 0
        for station in hourly.stations:
            thing = things.get(station.id)
            key = f"aqi:{station.id}"
            describe_series(
                db,
                key=key,
                label=f"{station.name} AQI",
                kind="aqi",
                step="hour",
                department_code=codes.get(thing.department_id) if thing and thing.department_id else None,
                division_code=thing.division_code if thing else None,
                lon=thing.lon if thing else None,
                lat=thing.lat if thing else None,
            )
            points = [(hourly.start + timedelta(hours=i), v) for i, v in enumerate(station.aqi) if v is not None]
            count += store_points(db, key=key, points=points)
        for offset in range(days):
            day = today - timedelta(days=offset)
            for row in read("sensing", sensing_service.aqi_days, db, day=day):
                if row.aqi is not None:
                    count += store_points(db, key=f"aqiday:{row.thing_id}", points=[(local_midnight_utc(day), row.aqi)])
        done["aqi_points"] = count
    except SourceUnavailable as exc:
        done["aqi"] = exc.reason
    try:
        done["level_points"] = _rollup_water_levels(db, codes=codes, days=days)
    except SourceUnavailable as exc:
        done["level"] = exc.reason
    try:
        done["event_points"] = _rollup_events(db, today=today, days=days)
    except SourceUnavailable as exc:
        done["events"] = exc.reason
    return done


def _rollup_water_levels(db: Session, *, codes: dict[int, str], days: int) -> int:
    """Hourly water level per sluice that has a water level datastream."""
    end = hour_floor(utcnow()) + timedelta(hours=1)
    count = 0
    for thing in read("sensing", sensing_service.list_things, db, kind="sluice"):
        means = read(
            "sensing",
            sensing_service.property_hourly_means,
            db,
            thing_id=thing.id,
            property_code="water_level",
            start=end - timedelta(days=days),
            end=end,
        )
        if means is None:
            continue
        key = f"level:{thing.id}"
        describe_series(
            db,
            key=key,
            label=f"{thing.name} 水位",
            kind="level",
            step="hour",
            unit="m",
            department_code=codes.get(thing.department_id) if thing.department_id else None,
            division_code=thing.division_code,
            lon=thing.lon,
            lat=thing.lat,
        )
        count += store_points(db, key=key, points=[(p.at, p.value) for p in means])
    return count


def _rollup_events(db: Session, *, today: date, days: int) -> int:
    """Daily event counts per category: events created on each local day."""
    names = {c.code: c.name for c in read("cityops", cityops_service.event_categories, db)}
    count = 0
    for offset in range(days):
        day = today - timedelta(days=offset)
        rows = read(
            "cityops",
            cityops_service.event_figures,
            db,
            by="category",
            since=local_midnight_utc(day),
            until=local_midnight_utc(day + timedelta(days=1)),
        )
        totals = {r.key: r.total for r in rows}
        for code in names:
            key = f"events:{code}"
            if db.get(m.SeriesMeta, key) is None:
                describe_series(db, key=key, label=f"{names[code]} 日事件量", kind="events", step="day", unit="件")
            count += store_points(db, key=key, points=[(local_midnight_utc(day), totals.get(code, 0))])
    return count


# --- the signs ------------------------------------------------------------------------------------


def air_now(db: Session) -> list[dict[str, Any]]:
    """Each air station's latest hourly AQI of the last two days, with its place."""
    today = local_today()
    hourly = read("sensing", sensing_service.aqi_hourly, db, start=today - timedelta(days=1), end=today)
    things = {t.id: t for t in read("sensing", sensing_service.list_things, db)}
    stations = []
    for station in hourly.stations:
        last = next((i for i in range(len(station.aqi) - 1, -1, -1) if station.aqi[i] is not None), None)
        thing = things.get(station.id)
        stations.append(
            {
                "id": station.id,
                "name": station.name,
                "aqi": station.aqi[last] if last is not None else None,
                "at": (hourly.start + timedelta(hours=last)).isoformat() if last is not None else None,
                "lon": thing.lon if thing else None,
                "lat": thing.lat if thing else None,
                "division_code": thing.division_code if thing else None,
            }
        )
    return stations


def air(db: Session) -> dict[str, Any]:
    stations = air_now(db)
    values = [s["aqi"] for s in stations if s["aqi"] is not None]
    today = local_today()
    year_start = local_midnight_utc(date(today.year, 1, 1))
    daily = db.execute(
        select(m.SeriesPoint.ts, func.avg(m.SeriesPoint.value))
        .where(*_prefix(db, "aqiday"), m.SeriesPoint.ts >= year_start)
        .group_by(m.SeriesPoint.ts)
    ).all()
    good = sum(1 for _, v in daily if v is not None and v <= GOOD_AQI)
    return {
        "stations": stations,
        "city_aqi": round(sum(values) / len(values)) if values else None,
        "good_days": good,
        "days": len(daily),
        "good_day_share": round(100.0 * good / len(daily), 1) if daily else None,
        "note": "优良天数比例：全市各站日AQI均值 ≤ 100 的天数 / 今年有数据的天数",
    }


def water(db: Session) -> dict[str, Any]:
    quality = read("sensing", sensing_service.water_quality, db)
    classes = [s.water_class for s in quality.stations if s.water_class is not None]
    good = sum(1 for c in classes if c in WATER_GOOD)
    return {
        "sections": len(classes),
        "good_share": round(100.0 * good / len(classes), 1) if classes else None,
        "by_class": dict(sorted(Counter(classes).items())),
        "worse_than_v": [
            {"name": s.name, "river": s.river, "limiting": s.limiting}
            for s in quality.stations
            if s.water_class == "劣V"
        ],
        "rivers": [r.model_dump(by_alias=True) for r in quality.rivers],
    }


def events(db: Session, *, allowed: set[str] | None) -> dict[str, Any]:
    city = read("cityops", cityops_service.city_event_figures, db)
    rows = [
        {
            "code": r.key,
            "name": r.name,
            "total": r.total,
            "closed": r.closed,
            "on_time_rate": r.on_time_rate,
            "satisfaction": r.satisfaction,
            "overdue_open": r.overdue_open,
            "open": r.total - r.closed,
        }
        for r in read("cityops", cityops_service.event_figures, db, by="department")
        if allowed is None or r.key in allowed
    ]
    divisions = read("cityops", cityops_service.event_map, db, days=7).divisions
    return {
        "open": city.total - city.closed,
        "overdue": read("cityops", cityops_service.late_open_events, db),
        "on_time_rate": city.on_time_rate,
        "satisfaction": city.satisfaction,
        "by_department": rows,
        "by_division": sorted((d.model_dump() for d in divisions), key=lambda d: -d["count"]),
    }


def services(db: Session, *, allowed: set[str] | None) -> dict[str, Any]:
    f = read("onestop", onestop_service.indicator_figures, db)
    out: dict[str, Any] = {
        "applications": f.applications,
        "completed": f.completed,
        "overdue_tasks": f.overdue_tasks,
        "on_time_rate": None,
        "satisfaction": f.satisfaction,
        "avg_working_days": f.avg_working_days,
        "avg_promised_days": f.avg_promised_days,
    }
    start = local_midnight_utc(local_today())
    try:
        out["applications_today"] = read("onestop", onestop_service.applications_since, db, since=start)
    except SourceUnavailable as exc:
        out["applications_today"] = None
        out["applications_today_reason"] = exc.reason
    departments = read("onestop", onestop_service.department_figures, db, actor=system_actor())
    finished = sum(d.completed for d in departments)
    pending = sum(d.pending for d in departments)
    overdue = sum(d.overdue for d in departments)
    out["on_time_rate"] = round(100.0 * (1 - overdue / (finished + pending)), 1) if finished + pending else None
    out["by_department"] = [d.model_dump() for d in departments if allowed is None or d.department_code in allowed]
    return out


def data(db: Session) -> dict[str, Any]:
    """Open datasets, sharing calls and mounted data: whichever of the data domains answer."""
    out: dict[str, Any] = {}
    try:
        portal = read("opendata", opendata_service.portal_figures, db)
        out |= {"open_datasets": portal.datasets, "fresh_datasets": portal.fresh, "open_downloads": portal.downloads}
    except SourceUnavailable as exc:
        out["opendata_reason"] = exc.reason
    try:
        sharing = read("exchange", exchange_service.sharing_figures, db)
        out |= {
            "sharing_calls_30d": sharing.calls_30d,
            "sharing_rows_30d": sharing.rows_30d,
            "active_grants": sharing.active_grants,
        }
    except SourceUnavailable as exc:
        out["exchange_reason"] = exc.reason
    try:
        mounted = read("governance", governance_service.governance_figures, db)
        out |= {"mounted_resources": mounted.mounted_resources, "rows_clean": mounted.rows_clean}
    except SourceUnavailable as exc:
        out["governance_reason"] = exc.reason
    return out


def devices(db: Session) -> dict[str, Any]:
    counts = read("sensing", sensing_service.counts, db)
    return {
        "devices": counts.devices,
        "online": counts.online,
        "online_rate": round(100.0 * counts.online / counts.devices, 1) if counts.devices else None,
        "active_alarms": counts.active_alarms,
    }


def compute_signs(db: Session) -> dict[str, Any]:
    """Every sign, city-wide; a section whose source is missing says why."""
    return {
        "air": _section(lambda: air(db)),
        "water": _section(lambda: water(db)),
        "events": _section(lambda: events(db, allowed=None)),
        "services": _section(lambda: services(db, allowed=None)),
        "data": _section(lambda: data(db)),
        "devices": _section(lambda: devices(db)),
        "at": utcnow().isoformat(),
    }


def scope_signs(data: dict[str, Any], allowed: set[str] | None) -> dict[str, Any]:
    """The signs as a caller sees them: other departments' rows removed when scoped."""
    if allowed is None:
        return data
    data = json.loads(json.dumps(data))
    for section in ("events", "services"):
        rows = data.get(section, {}).get("by_department")
        if rows is not None:
            data[section]["by_department"] = [r for r in rows if (r.get("code") or r.get("department_code")) in allowed]
    return data


def scope_map(data: dict[str, Any], allowed: set[str] | None) -> dict[str, Any]:
    if allowed is None:
        return data
    return data | {"events": []}  # event points are city-wide records; scoped users see counts only


SNAPSHOT_FRESH = timedelta(minutes=15)


def store_snapshot(db: Session) -> dict[str, str]:
    """Take the city-wide signs and map layers now and keep them for the cockpit."""
    taken = utcnow()
    for key, data in (("signs", compute_signs(db)), ("map", compute_map(db))):
        row = db.get(m.SignSnapshot, key) or m.SignSnapshot(key=key)
        row.taken_at, row.data = taken, json.dumps(data, ensure_ascii=False, default=str)
        db.add(row)
    db.flush()
    return {"taken_at": taken.isoformat()}


def _snapshot(db: Session, key: str) -> dict[str, Any] | None:
    row = db.get(m.SignSnapshot, key)
    if row is None or utcnow() - row.taken_at > SNAPSHOT_FRESH:
        return None
    data: dict[str, Any] = json.loads(row.data)
    return data


def all_signs(db: Session, *, allowed: set[str] | None, live: bool = False) -> dict[str, Any]:
    """The signs from the fresh snapshot (or computed now), in the caller's scope."""
    data = None if live else _snapshot(db, "signs")
    return scope_signs(data or compute_signs(db), allowed)


# --- trends and map --------------------------------------------------------------------------------


def trends(db: Session, *, days: int = 30) -> dict[str, Any]:
    """Daily city AQI (mean of the stations) and daily event volume over the last days."""
    today = local_today()
    start = local_midnight_utc(today - timedelta(days=days - 1))
    labels = [(today - timedelta(days=days - 1 - i)).isoformat() for i in range(days)]

    def daily(prefix: str, agg: Any) -> list[float | None]:
        rows: dict[datetime, Any] = dict(
            db.execute(
                select(m.SeriesPoint.ts, agg(m.SeriesPoint.value))
                .where(*_prefix(db, prefix), m.SeriesPoint.ts >= start)
                .group_by(m.SeriesPoint.ts)
            ).all()
        )
        out = []
        for i in range(days):
            value = rows.get(start + timedelta(days=i))
            out.append(round(float(value), 1) if value is not None else None)
        return out

    return {"days": labels, "aqi": daily("aqiday", func.avg), "events": daily("events", func.sum)}


def map_data(db: Session, *, allowed: set[str] | None, live: bool = False) -> dict[str, Any]:
    """The map layers from the fresh snapshot (or computed now), in the caller's scope."""
    data = None if live else _snapshot(db, "map")
    return scope_map(data or compute_map(db), allowed)


def compute_map(db: Session) -> dict[str, Any]:
    """Division centroids (from the org reference data), stations, sluices, alarms and recent events."""
    divisions: list[dict[str, Any]] = [
        {"code": d.code, "name": d.name, "lon": d.lon, "lat": d.lat, "level": d.level}
        for d in org_service.list_divisions(db)
        if d.level in ("subdistrict", "town") and d.lon is not None
    ]
    out: dict[str, Any] = {"divisions": divisions, "stations": [], "sluices": [], "events": [], "alarms": []}
    try:
        out["stations"] = [s for s in air_now(db) if s["lon"] is not None]
    except SourceUnavailable as exc:
        out["stations_reason"] = exc.reason
    try:
        things = read("sensing", sensing_service.list_things, db)
        out["sluices"] = [
            {"id": t.id, "name": t.name, "lon": t.lon, "lat": t.lat, "online": t.online}
            for t in things
            if t.kind == "sluice" and t.lon is not None
        ]
        places = {t.id: t for t in things}
        for alarm in read("sensing", sensing_service.recent_alarms, db, limit=100):
            thing = places.get(alarm.thing_id)
            if alarm.state in ("active", "acknowledged") and thing and thing.lon is not None:
                out["alarms"].append(
                    {
                        "id": alarm.id,
                        "thing_id": alarm.thing_id,
                        "severity": alarm.severity,
                        "state": alarm.state,
                        "message": alarm.message,
                        "at": alarm.raised_at,
                        "lon": thing.lon,
                        "lat": thing.lat,
                        "name": thing.name,
                    }
                )
    except SourceUnavailable as exc:
        out["alarms_reason"] = exc.reason
    try:
        event_map = read("cityops", cityops_service.event_map, db, days=7)
        out["events"] = [p.model_dump() for p in event_map.points]
        counts = {d.code: d.count for d in event_map.divisions}
        for d in divisions:
            d["events"] = counts.get(d["code"], 0)
    except SourceUnavailable as exc:
        out["events_reason"] = exc.reason
    return out
