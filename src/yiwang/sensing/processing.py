"""Background processing of new observations: rollups, station AQI, alarms, device health.

Each step reads observations past its own cursor (by id), so it is idempotent and restartable;
the cursor row is locked for update, so several workers do not double-process.
"""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from yiwang.core.events import publish
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.sensing import aqi
from yiwang.sensing import models as m
from yiwang.sensing.schemas import AlarmConfirmed, AlarmRaised

BATCH = 200_000
AIR_KINDS = ("air_station", "grid_air")


def progress_marker(db: Session, name: str) -> m.Cursor:
    """A named progress marker of the processing steps, locked for this transaction."""
    row = db.execute(select(m.Cursor).where(m.Cursor.name == name).with_for_update()).scalar_one_or_none()
    if row is None:
        row = m.Cursor(name=name, position=0, updated_at=utcnow())
        db.add(row)
        db.flush()
    return row


OBSERVATION_ID_CURSORS = ("rollup", "alarms")  # the markers that count observation ids


def observations_deleted(db: Session) -> None:
    """Pull the id markers back to the highest observation id left.

    SQLite gives a new row the highest id in use plus one, so once the newest observations are
    deleted the next ones reuse ids the markers have already passed, and would never be rolled up or
    judged for alarms. On PostgreSQL ids are never reused and this changes nothing that matters."""
    remaining = db.execute(select(func.max(m.Observation.id))).scalar() or 0
    db.execute(
        update(m.Cursor)
        .where(m.Cursor.name.in_(OBSERVATION_ID_CURSORS), m.Cursor.position > remaining)
        .values(position=remaining)
    )


def _hour_expr(db: Session) -> Any:
    if db.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:00:00", m.Observation.phenomenon_time)
    return func.date_trunc("hour", m.Observation.phenomenon_time)


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def update_rollups(db: Session) -> dict[str, int]:
    """Recompute the hourly and daily rollups (and station AQI) touched by new observations."""
    cursor = progress_marker(db, "rollup")
    # the batch starts at the next id that exists: ids can jump by more than a batch (a rolled-back
    # bulk insert still spends its sequence values), and a fixed window would then stall for good
    first = db.execute(select(func.min(m.Observation.id)).where(m.Observation.id > cursor.position)).scalar()
    if first is None:
        return {"datastreams": 0, "hours": 0}
    top: int = db.execute(
        select(func.max(m.Observation.id)).where(m.Observation.id >= first, m.Observation.id < first + BATCH)
    ).scalar_one()  # first itself is in the window
    spans = db.execute(
        select(
            m.Observation.datastream_id,
            func.min(m.Observation.phenomenon_time),
            func.max(m.Observation.phenomenon_time),
        )
        .where(m.Observation.id > cursor.position, m.Observation.id <= top)
        .group_by(m.Observation.datastream_id)
    ).all()
    hours = recompute(db, [(ds, lo, hi) for ds, lo, hi in spans])
    cursor.position = top
    cursor.updated_at = utcnow()
    return {"datastreams": len(spans), "hours": hours}


def recompute(db: Session, spans: list[tuple[int, datetime, datetime]]) -> int:
    """Rebuild hour rollups for each (datastream, first, last) span, then its local days and AQI."""
    bucket = _hour_expr(db)
    written = 0
    touched_days: dict[int, set[date]] = defaultdict(set)
    for ds, lo, hi in spans:
        start = _as_utc(lo).replace(minute=0, second=0, microsecond=0)
        end = _as_utc(hi).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        rows = db.execute(
            select(
                bucket,
                func.count(),
                func.sum(m.Observation.result),
                func.min(m.Observation.result),
                func.max(m.Observation.result),
            )
            .where(
                m.Observation.datastream_id == ds,
                m.Observation.phenomenon_time >= start,
                m.Observation.phenomenon_time < end,
                m.Observation.result.is_not(None),
            )
            .group_by(bucket)
        ).all()
        db.execute(
            delete(m.Rollup).where(
                m.Rollup.datastream_id == ds, m.Rollup.period == "hour", m.Rollup.start >= start, m.Rollup.start < end
            )
        )
        values = [
            {
                "datastream_id": ds,
                "period": "hour",
                "start": _as_utc(b),
                "count": c,
                "total": s,
                "minimum": lo_,
                "maximum": hi_,
                "mean": s / c,
            }
            for b, c, s, lo_, hi_ in rows
            if c
        ]
        if values:
            db.execute(m.Rollup.__table__.insert(), values)
        written += len(values)
        day = start.astimezone(SHANGHAI).date()
        while day <= (end - timedelta(seconds=1)).astimezone(SHANGHAI).date():
            touched_days[ds].add(day)
            day += timedelta(days=1)
    for ds, days in touched_days.items():
        _daily(db, ds, days)
    _station_aqi(db, touched_days)
    db.flush()
    return written


def _local_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)
    return start, start + timedelta(days=1)


def _daily(db: Session, ds: int, days: set[date]) -> None:
    first, _ = _local_day_bounds(min(days))
    _, last = _local_day_bounds(max(days))
    hourly = db.execute(
        select(m.Rollup).where(
            m.Rollup.datastream_id == ds, m.Rollup.period == "hour", m.Rollup.start >= first, m.Rollup.start < last
        )
    ).scalars()
    groups: dict[date, list[m.Rollup]] = defaultdict(list)
    for r in hourly:
        groups[r.start.astimezone(SHANGHAI).date()].append(r)
    db.execute(
        delete(m.Rollup).where(
            m.Rollup.datastream_id == ds, m.Rollup.period == "day", m.Rollup.start >= first, m.Rollup.start < last
        )
    )
    values = []
    for day, items in groups.items():
        count = sum(r.count for r in items)
        total = sum(r.total for r in items)
        values.append(
            {
                "datastream_id": ds,
                "period": "day",
                "start": _local_day_bounds(day)[0],
                "count": count,
                "total": total,
                "minimum": min(r.minimum for r in items),
                "maximum": max(r.maximum for r in items),
                "mean": sum(r.mean for r in items) / len(items),
            }
        )
    if values:
        db.execute(m.Rollup.__table__.insert(), values)


def _station_aqi(db: Session, touched: dict[int, set[date]]) -> None:
    """Recompute AqiDay for air stations whose pollutant datastreams changed."""
    if not touched:
        return
    rows = db.execute(
        select(m.Datastream.id, m.Datastream.thing_id, m.ObservedProperty.code)
        .join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id)
        .join(m.Thing, m.Thing.id == m.Datastream.thing_id)
        .where(
            m.Datastream.id.in_(list(touched)), m.ObservedProperty.code.in_(aqi.POLLUTANTS), m.Thing.kind.in_(AIR_KINDS)
        )
    ).all()
    per_thing: dict[int, set[date]] = defaultdict(set)
    for ds, thing, _code in rows:
        per_thing[thing] |= touched[ds]
    for thing, days in per_thing.items():
        compute_station_days(db, thing_id=thing, days=sorted(days))


def compute_station_days(db: Session, *, thing_id: int, days: list[date]) -> None:
    """Hourly and daily AQI of one station for local days, from its pollutant hour rollups."""
    streams = {
        code: ds
        for code, ds in db.execute(
            select(m.ObservedProperty.code, m.Datastream.id)
            .join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id)
            .where(m.Datastream.thing_id == thing_id, m.ObservedProperty.code.in_(aqi.POLLUTANTS))
        ).all()
        if code is not None
    }
    if not streams or not days:
        return
    first, _ = _local_day_bounds(days[0])
    _, last = _local_day_bounds(days[-1])
    by_ds = {v: k for k, v in streams.items()}
    grid: dict[date, dict[str, list[float | None]]] = defaultdict(lambda: {p: [None] * 24 for p in streams})
    for ds, start, mean in db.execute(
        select(m.Rollup.datastream_id, m.Rollup.start, m.Rollup.mean).where(
            m.Rollup.datastream_id.in_(list(by_ds)),
            m.Rollup.period == "hour",
            m.Rollup.start >= first,
            m.Rollup.start < last,
        )
    ).all():
        local = start.astimezone(SHANGHAI)
        grid[local.date()][by_ds[ds]][local.hour] = mean
    db.execute(delete(m.AqiDay).where(m.AqiDay.thing_id == thing_id, m.AqiDay.day.in_(days)))
    values = []
    for day in days:
        if day not in grid:
            continue
        series = grid[day]
        edition = aqi.edition_for(day)
        hourly: list[float | None] = []
        for h in range(24):
            conc = {p: series[p][h] for p in series}
            hourly.append(
                aqi.compute(conc, kind="hourly", edition=edition).aqi
                if any(v is not None for v in conc.values())
                else None
            )
        daily_conc: dict[str, float | None] = {}
        for p, vals in series.items():
            present = [v for v in vals if v is not None]
            if p == "o3":
                daily_conc[p] = aqi.o3_8h_max(vals)
            else:
                daily_conc[p] = sum(present) / len(present) if len(present) >= 20 else None
        result = aqi.compute(daily_conc, kind="daily", edition=edition)
        values.append(
            {
                "thing_id": thing_id,
                "day": day,
                "edition": edition,
                "aqi": result.aqi,
                "level": result.level,
                "category": result.category,
                "primary_pollutants": ",".join(result.primary_pollutants),
                "hourly": hourly,
            }
        )
    if values:
        db.execute(m.AqiDay.__table__.insert(), values)


# ---- alarms -----------------------------------------------------------------------------------------------


def evaluate_alarms(db: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Check threshold and rate rules against new observations, and no-data rules against the clock."""
    now = now or utcnow()
    cursor = progress_marker(db, "alarms")
    rules = list(db.execute(select(m.AlarmRule).where(m.AlarmRule.active.is_(True))).scalars())
    raised = 0
    top = db.execute(select(func.max(m.Observation.id))).scalar() or 0
    if rules and top > cursor.position:
        by_code: dict[str, list[m.AlarmRule]] = defaultdict(list)
        by_ds: dict[int, list[m.AlarmRule]] = defaultdict(list)
        for rule in rules:
            if rule.datastream_id:
                by_ds[rule.datastream_id].append(rule)
            elif rule.observed_property_code:
                by_code[rule.observed_property_code].append(rule)
        rows = db.execute(
            select(
                m.Observation.datastream_id,
                m.Observation.phenomenon_time,
                m.Observation.result,
                m.Datastream.thing_id,
                m.ObservedProperty.code,
            )
            .join(m.Datastream, m.Datastream.id == m.Observation.datastream_id)
            .join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id)
            .where(m.Observation.id > cursor.position, m.Observation.id <= top, m.Observation.result.is_not(None))
            .order_by(m.Observation.datastream_id, m.Observation.phenomenon_time)
        ).all()
        previous: dict[int, tuple[datetime, float]] = {}
        for ds, when, value, thing, code in rows:
            if value is None:
                continue
            applicable = by_ds.get(ds, []) + by_code.get(code or "", [])
            if ds not in previous and any(rule.kind == "rate" for rule in applicable):
                # The reading before this batch, so a rate is seen even when values arrive one per turn.
                before = _reading_before(db, ds, when)
                if before is not None:
                    previous[ds] = before
            for rule in applicable:
                hit: bool | None = None  # None: the rule cannot judge this reading
                if rule.kind == "threshold" and rule.threshold is not None:
                    hit = compare(value, rule.operator, rule.threshold)
                elif rule.kind == "rate" and rule.threshold is not None and ds in previous:
                    prev_when, prev_value = previous[ds]
                    hours = max((_as_utc(when) - _as_utc(prev_when)).total_seconds() / 3600, 1 / 60)
                    hit = compare((value - prev_value) / hours, rule.operator, rule.threshold)
                if hit:
                    raised += raise_alarm(
                        db, rule=rule, datastream_id=ds, thing_id=thing, value=value, at=_as_utc(when), now=now
                    )
                elif hit is not None:
                    clear_condition(db, rule=rule, datastream_id=ds, at=_as_utc(when))
            previous[ds] = (when, value)
        cursor.position = top
    for rule in rules:
        if rule.kind == "nodata":
            raised += _nodata(db, rule, now)
    cursor.updated_at = now
    db.flush()
    return {"raised": raised}


def _reading_before(db: Session, datastream_id: int, when: datetime) -> tuple[datetime, float] | None:
    row = db.execute(
        select(m.Observation.phenomenon_time, m.Observation.result)
        .where(
            m.Observation.datastream_id == datastream_id,
            m.Observation.phenomenon_time < when,
            m.Observation.result.is_not(None),
        )
        .order_by(m.Observation.phenomenon_time.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None and row[1] is not None else None


def compare(value: float, op: str, threshold: float) -> bool:
    return {">": value > threshold, ">=": value >= threshold, "<": value < threshold, "<=": value <= threshold}.get(
        op, False
    )


def _nodata(db: Session, rule: m.AlarmRule, now: datetime) -> int:
    stmt = select(m.Datastream.id, m.Datastream.thing_id, m.Datastream.phenomenon_time_end, m.Datastream.created_at)
    if rule.datastream_id:
        stmt = stmt.where(m.Datastream.id == rule.datastream_id)
    else:
        stmt = stmt.join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id).where(
            m.ObservedProperty.code == rule.observed_property_code
        )
    still_open = m.Alarm.state.in_(("active", "acknowledged"))
    open_streams = set(
        db.execute(select(m.Alarm.datastream_id).where(m.Alarm.rule_id == rule.id, still_open)).scalars()
    )
    raised = 0
    limit = now - timedelta(minutes=rule.window_minutes)
    for ds, thing, last_value_at, created_at in db.execute(stmt).all():
        last = last_value_at or created_at  # a datastream that never reported is silent since it was added
        if last is None or last < limit:
            raised += raise_alarm(db, rule=rule, datastream_id=ds, thing_id=thing, value=None, at=now, now=now)
        elif ds in open_streams:  # values are coming in again
            clear_condition(db, rule=rule, datastream_id=ds, at=now)
    return raised


def raise_alarm(
    db: Session,
    *,
    rule: m.AlarmRule,
    datastream_id: int,
    thing_id: int,
    value: float | None,
    at: datetime,
    now: datetime,
) -> int:
    """Open an alarm, or fold a repeat into the open one (de-dup window); mark flapping alarms.

    Returns 1 when a new alarm was opened, 0 when the occurrence was de-duplicated or suppressed.
    """
    open_alarm = (
        db.execute(
            select(m.Alarm)
            .where(
                m.Alarm.rule_id == rule.id,
                m.Alarm.datastream_id == datastream_id,
                m.Alarm.state.in_(("active", "acknowledged")),
            )
            .order_by(m.Alarm.id.desc())
        )
        .scalars()
        .first()
    )
    if open_alarm is not None:
        open_alarm.occurrences += 1
        open_alarm.last_seen_at = at
        open_alarm.value = value
        return 0
    latest = (
        db.execute(
            select(m.Alarm)
            .where(m.Alarm.rule_id == rule.id, m.Alarm.datastream_id == datastream_id)
            .order_by(m.Alarm.id.desc())
        )
        .scalars()
        .first()
    )
    if (
        latest is not None
        and latest.cleared_at
        and timedelta(0) <= at - latest.cleared_at < timedelta(minutes=rule.dedup_minutes)
    ):
        # Back within the de-duplication window: the same alarm again, not a new one.
        latest.state, latest.cleared_at = "active", None
        latest.occurrences += 1
        latest.last_seen_at = at
        latest.value = value
        if at - latest.raised_at <= timedelta(minutes=rule.flap_window_minutes):
            latest.reopened += 1
            if latest.reopened >= rule.flap_limit:
                latest.flapping = True  # stays open until a person clears it; no automatic clearing
        return 0
    thing = db.get(m.Thing, thing_id)
    label = f"{thing.name if thing else thing_id}：{rule.name}"
    if value is not None:
        label += f"（{value:g}）"
    alarm = m.Alarm(
        rule_id=rule.id,
        datastream_id=datastream_id,
        thing_id=thing_id,
        state="active",
        severity=rule.severity,
        message=label[:500],
        value=value,
        raised_at=at,
        last_seen_at=at,
        occurrences=1,
        reopened=0,
    )
    db.add(alarm)
    db.flush()
    publish(db, AlarmRaised(alarm_id=alarm.id, severity=alarm.severity, message=alarm.message))
    if rule.severity == "critical" and rule.event_category:
        confirm(db, alarm=alarm, rule=rule, thing=thing, by="system:auto")
    return 1


def confirm(db: Session, *, alarm: m.Alarm, rule: m.AlarmRule, thing: m.Thing | None, by: str) -> None:
    """A confirmed alarm of a kind with an event category asks 一网统管 to open a city event."""
    if alarm.confirmed:
        return
    alarm.confirmed = True
    if alarm.state == "active":
        alarm.state = "acknowledged"
        alarm.acknowledged_by, alarm.acknowledged_at = by, utcnow()
    if rule.event_category:
        publish(
            db,
            AlarmConfirmed(
                alarm_id=alarm.id,
                category_code=rule.event_category,
                message=alarm.message,
                severity=alarm.severity,
                thing_name=thing.name if thing else None,
                division_code=thing.division_code if thing else None,
                lon=thing.lon if thing else None,
                lat=thing.lat if thing else None,
                raised_at=alarm.raised_at,
            ),
        )


def clear_condition(db: Session, *, rule: m.AlarmRule, datastream_id: int, at: datetime) -> None:
    """The condition no longer holds: clear the open alarm (unless it is flapping, which needs a person)."""
    for alarm in db.execute(
        select(m.Alarm).where(
            m.Alarm.rule_id == rule.id,
            m.Alarm.datastream_id == datastream_id,
            m.Alarm.state.in_(("active", "acknowledged")),
            m.Alarm.flapping.is_(False),
        )
    ).scalars():
        alarm.state = "cleared"
        alarm.cleared_at = at


# ---- device health ----------------------------------------------------------------------------------------


def update_health(db: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Message rate over the last hour and offline detection (no message for 3 expected intervals)."""
    now = now or utcnow()
    since = now - timedelta(hours=1)
    rates = dict(
        db.execute(
            select(m.Datastream.thing_id, func.count(m.Observation.id))
            .join(m.Observation, m.Observation.datastream_id == m.Datastream.id)
            .where(m.Observation.phenomenon_time >= since)
            .group_by(m.Datastream.thing_id)
        ).all()
    )
    offline = 0
    for thing in db.execute(select(m.Thing)).scalars():
        thing.rate_per_hour = float(rates.get(thing.id, 0))
        limit = now - timedelta(seconds=3 * max(thing.expected_interval_s, 60))
        online = thing.last_seen is not None and thing.last_seen >= limit
        if not online:
            offline += 1
        thing.online = online
    db.execute(update(m.Thing).where(m.Thing.last_seen.is_(None)).values(online=False))
    db.flush()
    return {"offline": offline}
