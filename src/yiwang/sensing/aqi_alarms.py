"""Alarm rules on a station's hourly AQI (kind "aqi"), such as AQI above 200 (重度污染).

The rollup step computes each air station's hourly AQI into `sensing_aqi_day`. This step judges every
completed hour of every station once, in order, against each active AQI rule: a per-station cursor
(`aqi:<thing id>`, the last judged hour since the epoch) keeps a later processing turn from counting
the same hour again. An hour is judged when it has ended, so an hour still filling up with readings
is not mistaken for the hour's level. The alarm is kept on the station's first pollutant datastream,
so repeats of one station de-duplicate whatever the primary pollutant; a rule with an event category
opens a city event through the usual confirmation (at once when the rule is critical).
"""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.sensing import aqi
from yiwang.sensing import models as m
from yiwang.sensing.processing import AIR_KINDS, clear_condition, compare, progress_marker, raise_alarm

HOUR = timedelta(hours=1)
FIRST_LOOK_BACK = timedelta(hours=48)  # a new station or rule starts with the last two days


def evaluate(db: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Judge the hours completed since the last turn; returns alarms opened and hours judged."""
    now = now or utcnow()
    rules = list(
        db.execute(select(m.AlarmRule).where(m.AlarmRule.active.is_(True), m.AlarmRule.kind == "aqi")).scalars()
    )
    if not rules:
        return {"raised": 0, "hours": 0}
    stations = db.execute(
        select(m.Thing.id, func.min(m.Datastream.id))
        .join(m.Datastream, m.Datastream.thing_id == m.Thing.id)
        .join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id)
        .where(m.Thing.kind.in_(AIR_KINDS), m.ObservedProperty.code.in_(aqi.POLLUTANTS))
        .group_by(m.Thing.id)
    ).all()
    raised = judged = 0
    for thing_id, anchor in stations:
        marker = progress_marker(db, f"aqi:{thing_id}")
        for start, value in _hours_to_judge(db, thing_id, after=marker.position, now=now):
            for rule in rules:
                if rule.threshold is None:  # a rule without a threshold cannot judge
                    continue
                if compare(value, rule.operator, rule.threshold):
                    raised += raise_alarm(
                        db, rule=rule, datastream_id=anchor, thing_id=thing_id, value=value, at=start, now=now
                    )
                else:
                    clear_condition(db, rule=rule, datastream_id=anchor, at=start)
            marker.position = _hour_number(start)
            judged += 1
        marker.updated_at = now
    db.flush()
    return {"raised": raised, "hours": judged}


def _hours_to_judge(db: Session, thing_id: int, *, after: int, now: datetime) -> list[tuple[datetime, int]]:
    """(hour start, AQI) of the station's completed hours after the cursor, oldest first."""
    since = max(_from_hour_number(after), now - FIRST_LOOK_BACK)
    first_day: date = since.astimezone(SHANGHAI).date()
    days = db.execute(
        select(m.AqiDay.day, m.AqiDay.hourly)
        .where(m.AqiDay.thing_id == thing_id, m.AqiDay.day >= first_day)
        .order_by(m.AqiDay.day)
    ).all()
    hours = []
    for day, hourly in days:
        midnight = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)
        for offset, value in enumerate(hourly or []):
            start = midnight + offset * HOUR
            if value is None or _hour_number(start) <= after or start < since or start + HOUR > now:
                continue
            hours.append((start, value))
    return hours


def _hour_number(moment: datetime) -> int:
    return int(moment.timestamp() // 3600)


def _from_hour_number(number: int) -> datetime:
    return datetime.fromtimestamp(number * 3600, tz=UTC)
