"""Public functions of 物联感知: devices, tokens, series, AQI and water summaries, alarms.

Other domains (the city brain) read sensing through these functions only.
"""

import secrets
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.crypto import token_digest, token_digests
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.security import Principal, check_department_scope
from yiwang.core.timeutil import utcnow
from yiwang.sensing import aqi_alarms, processing
from yiwang.sensing import models as m
from yiwang.sensing import permissions as p

# the read model other domains use, re-exported
from yiwang.sensing.reads import (
    aqi_hourly as aqi_hourly,
)
from yiwang.sensing.reads import (
    counts as counts,
)
from yiwang.sensing.reads import (
    property_hourly_means as property_hourly_means,
)
from yiwang.sensing.reads import (
    recent_alarms as recent_alarms,
)
from yiwang.sensing.reads import (
    water_quality as water_quality,
)
from yiwang.sensing.schemas import AlarmRuleCreate, AqiDayRead, ThingRead

TOKEN_PREFIX = "dev_"  # noqa: S105  (a prefix, not a secret)


def _thing_read(t: m.Thing) -> ThingRead:
    return ThingRead(
        id=t.id,
        code=t.code,
        name=t.name,
        kind=t.kind,
        department_id=t.department_id,
        division_code=t.division_code,
        lon=t.lon,
        lat=t.lat,
        last_seen=t.last_seen,
        online=t.online,
        messages_total=t.messages_total,
        rejects_total=t.rejects_total,
        rate_per_hour=t.rate_per_hour,
    )


def list_things(db: Session, *, department_id: int | None = None, kind: str | None = None) -> list[ThingRead]:
    """Devices, optionally of one department or kind."""
    stmt = select(m.Thing).order_by(m.Thing.kind, m.Thing.id)
    if department_id is not None:
        stmt = stmt.where(m.Thing.department_id == department_id)
    if kind:
        stmt = stmt.where(m.Thing.kind == kind)
    return [_thing_read(t) for t in db.execute(stmt).scalars()]


def register_thing(
    db: Session,
    *,
    actor: Principal,
    code: str,
    name: str,
    kind: str,
    department_id: int,
    division_code: str | None,
    lon: float,
    lat: float,
    properties: dict[str, Any],
) -> ThingRead:
    """A device another domain keeps (a camera) as a SensorThings Thing with its Location, so one
    device list holds both; the same code twice is a conflict."""
    if db.execute(select(m.Thing.id).where(m.Thing.code == code)).first() is not None:
        raise Conflict(f"设备编码 {code} 已登记")
    thing = m.Thing(
        code=code,
        name=name,
        description="",
        properties=properties,
        kind=kind,
        department_id=department_id,
        division_code=division_code,
        lon=lon,
        lat=lat,
    )
    location = m.Location(
        name=name, encoding_type="application/geo+json", location={"type": "Point", "coordinates": [lon, lat]}
    )
    db.add_all([thing, location])
    db.flush()
    db.add(m.ThingLocation(thing_id=thing.id, location_id=location.id))
    db.flush()
    audit.record(db, actor=actor, action="sensing.thing.create", target_type="thing", target_id=thing.id)
    return _thing_read(thing)


def get_thing(db: Session, *, thing_id: int) -> dict[str, Any]:
    """A device with its datastreams (latest value, unit) and its recent rejects by reason."""
    thing = db.get(m.Thing, thing_id)
    if thing is None:
        raise NotFound("设备不存在")
    streams = db.execute(
        select(m.Datastream, m.ObservedProperty)
        .join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id)
        .where(m.Datastream.thing_id == thing_id)
        .order_by(m.Datastream.id)
    ).all()
    rejects = dict(
        db.execute(
            select(m.Reject.reason, func.count()).where(m.Reject.thing_id == thing_id).group_by(m.Reject.reason)
        ).all()
    )
    return {
        "thing": _thing_read(thing),
        "properties": thing.properties or {},
        "datastreams": [
            {
                "id": ds.id,
                "name": ds.name,
                "property": op.name,
                "code": op.code,
                "unit": (ds.unit_of_measurement or {}).get("symbol", ""),
                "last_value": ds.last_value,
                "last_time": ds.phenomenon_time_end,
            }
            for ds, op in streams
        ],
        "rejects": rejects,
    }


def series(
    db: Session, *, datastream_id: int, period: str, start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    """Raw ("raw") or rolled-up ("hour", "day") values of a datastream between two instants."""
    if end <= start:
        raise ValidationFailed("结束时间必须晚于开始时间")
    if period == "raw":
        if end - start > timedelta(days=31):
            raise ValidationFailed("原始数据一次最多查询31天")
        rows = db.execute(
            select(m.Observation.phenomenon_time, m.Observation.result)
            .where(
                m.Observation.datastream_id == datastream_id,
                m.Observation.phenomenon_time >= start,
                m.Observation.phenomenon_time < end,
                m.Observation.result.is_not(None),
            )
            .order_by(m.Observation.phenomenon_time)
        ).all()
        return [(t, v) for t, v in rows if v is not None]
    if period not in ("hour", "day"):
        raise ValidationFailed("period 只能是 raw、hour 或 day")
    rows = db.execute(
        select(m.Rollup.start, m.Rollup.mean)
        .where(
            m.Rollup.datastream_id == datastream_id,
            m.Rollup.period == period,
            m.Rollup.start >= start,
            m.Rollup.start < end,
        )
        .order_by(m.Rollup.start)
    ).all()
    return [(t, v) for t, v in rows]


# ---- device tokens ---------------------------------------------------------------------------------------


def create_device_token(db: Session, *, actor: Principal, thing_id: int, label: str = "device") -> tuple[int, str]:
    """Issue an ingest token bound to one device; the secret is shown once and stored as a hash."""
    thing = db.get(m.Thing, thing_id)
    if thing is None:
        raise NotFound("设备不存在")
    check_department_scope(actor, thing.department_id)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(24)
    row = m.DeviceToken(thing_id=thing_id, token_hash=token_digest(db, secret), label=label, created_at=utcnow())
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="sensing.device_token.create",
        target_type="thing",
        target_id=thing_id,
        details={"label": label, "token_id": row.id},
    )
    return row.id, secret


def device_for_token(db: Session, *, token: str) -> int | None:
    """The device a token belongs to, or None for an unknown or revoked token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.execute(
        select(m.DeviceToken.thing_id).where(
            m.DeviceToken.token_hash.in_(token_digests(db, token)), m.DeviceToken.revoked.is_(False)
        )
    ).scalar()
    return row


# ---- MQTT broker access ------------------------------------------------------------------------------------


def device_mqtt_username(thing_id: int) -> str:
    """The broker account of a device: one per Thing."""
    return f"thing-{thing_id}"


def broker_acl(db: Session, *, bridge_username: str, prefix: str = "") -> str:
    """A Mosquitto `acl_file`: each device may publish only to its own datastreams' observation topics;
    the bridge account may subscribe to them all. Regenerate it when devices or datastreams change."""
    lines = [
        "# yiwang 物联感知: generated by `yiwang sensing mqtt-acl`; devices publish only to their datastreams",
        f"user {bridge_username}",
        f"topic read {prefix}v1.1/+/Observations",
    ]
    streams: dict[int, list[int]] = defaultdict(list)
    for thing_id, ds_id in db.execute(select(m.Datastream.thing_id, m.Datastream.id).order_by(m.Datastream.id)):
        streams[thing_id].append(ds_id)
    for thing_id in sorted(streams):
        lines += ["", f"user {device_mqtt_username(thing_id)}"]
        lines += [f"topic write {prefix}v1.1/Datastreams({ds})/Observations" for ds in streams[thing_id]]
    return "\n".join(lines) + "\n"


# ---- AQI and water summaries -------------------------------------------------------------------------------


def aqi_days(db: Session, *, day: date) -> list[AqiDayRead]:
    """Every air station's daily AQI for a local day."""
    rows = db.execute(
        select(m.AqiDay, m.Thing.name)
        .join(m.Thing, m.Thing.id == m.AqiDay.thing_id)
        .where(m.AqiDay.day == day)
        .order_by(m.Thing.id)
    ).all()
    return [
        AqiDayRead(
            thing_id=a.thing_id,
            station=name,
            day=a.day,
            aqi=a.aqi,
            level=a.level,
            category=a.category,
            primary_pollutants=[code for code in a.primary_pollutants.split(",") if code],
            edition=a.edition,
        )
        for a, name in rows
    ]


def latest_aqi_day(db: Session) -> date | None:
    return db.execute(select(func.max(m.AqiDay.day)).where(m.AqiDay.aqi.is_not(None))).scalar()


def water_summary(db: Session) -> dict[str, Any]:
    """Latest water class per station and per river, as the API and the AQI page show it."""
    return water_quality(db).model_dump(by_alias=True)


# ---- alarms ----------------------------------------------------------------------------------------------


def create_alarm_rule(db: Session, *, actor: Principal, data: AlarmRuleCreate) -> m.AlarmRule:
    if data.kind == "aqi":  # judged on every air station's hourly AQI, not on one datastream
        if data.datastream_id or data.observed_property_code:
            raise ValidationFailed("AQI 规则作用于全部空气站点，不能指定数据流或观测属性")
    elif not data.datastream_id and not data.observed_property_code:
        raise ValidationFailed("告警规则须指定数据流或观测属性")
    if data.kind != "nodata" and data.threshold is None:
        raise ValidationFailed("阈值、变化率和 AQI 规则须指定 threshold")
    rule = m.AlarmRule(**data.model_dump(), active=True)
    db.add(rule)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="sensing.alarm_rule.create",
        target_type="alarm_rule",
        target_id=rule.id,
        details={"name": rule.name, "kind": rule.kind},
    )
    return rule


def list_alarm_rules(db: Session) -> list[m.AlarmRule]:
    return list(db.execute(select(m.AlarmRule).order_by(m.AlarmRule.id)).scalars())


def list_alarms(db: Session, *, state: str | None = None, limit: int = 200) -> list[m.Alarm]:
    stmt = select(m.Alarm).order_by(m.Alarm.id.desc()).limit(limit)
    if state:
        stmt = stmt.where(m.Alarm.state == state)
    return list(db.execute(stmt).scalars())


def act_on_alarm(db: Session, *, actor: Principal, alarm_id: int, action: str) -> m.Alarm:
    """Acknowledge, confirm (which may open a city event) or clear an alarm."""
    alarm = db.get(m.Alarm, alarm_id)
    if alarm is None:
        raise NotFound("告警不存在")
    thing = _alarm_thing(db, alarm)
    if not actor.has(p.ALARM_HANDLE_ALL):
        check_department_scope(actor, thing.department_id if thing is not None else None)
    if alarm.state == "cleared" and action != "confirm":
        raise Conflict("告警已消除")
    now = utcnow()
    if action == "acknowledge":
        if alarm.state == "acknowledged":
            raise Conflict("告警已确认收到")
        alarm.state, alarm.acknowledged_by, alarm.acknowledged_at = "acknowledged", actor.username, now
    elif action == "confirm":
        rule = db.get(m.AlarmRule, alarm.rule_id)
        assert rule is not None
        if alarm.confirmed:
            raise Conflict("告警已确认为真实事件")
        processing.confirm(db, alarm=alarm, rule=rule, thing=thing, by=actor.username)
    elif action == "clear":
        alarm.state, alarm.cleared_at, alarm.flapping = "cleared", now, False
    else:
        raise ValidationFailed("未知操作")
    audit.record(
        db,
        actor=actor,
        action=f"sensing.alarm.{action}",
        target_type="alarm",
        target_id=alarm.id,
        details={"state": alarm.state},
    )
    db.flush()
    return alarm


def _alarm_thing(db: Session, alarm: m.Alarm) -> m.Thing | None:
    """The device whose datastream raised the alarm: its department is the one that handles it."""
    stream = db.get(m.Datastream, alarm.datastream_id)
    return db.get(m.Thing, stream.thing_id if stream is not None else alarm.thing_id)


def may_handle_alarms(db: Session, *, actor: Principal, alarms: list[m.Alarm]) -> set[int]:
    """The ids of the alarms the actor may act on (a page shows buttons for those only)."""
    if not actor.has(p.ALARM_HANDLE):
        return set()
    if actor.has(p.ALARM_HANDLE_ALL):
        return {a.id for a in alarms}
    return {
        a.id for a in alarms if (t := _alarm_thing(db, a)) is not None and actor.can_reach_department(t.department_id)
    }


def rejects_by_device(db: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    """Devices with refused observations, most first, with counts per reason."""
    rows = db.execute(
        select(m.Reject.thing_id, m.Reject.reason, func.count()).group_by(m.Reject.thing_id, m.Reject.reason)
    ).all()
    per: dict[int | None, dict[str, int]] = defaultdict(dict)
    for thing_id, reason, n in rows:
        per[thing_id][reason] = n
    names = dict(db.execute(select(m.Thing.id, m.Thing.name)).all())
    ranked = sorted(per.items(), key=lambda item: -sum(item[1].values()))[:limit]
    return [
        {
            "thing_id": k,
            "name": names.get(k, "（未知设备）") if k else "（未知设备）",
            "reasons": v,
            "total": sum(v.values()),
        }
        for k, v in ranked
    ]


def run_processing(db: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """Rollups, AQI, alarms: what the worker job does each turn (also used by tests and the simulator)."""
    result: dict[str, Any] = {}
    for _ in range(50):
        step = processing.update_rollups(db)
        result["rollups"] = step
        if step["datastreams"] == 0:
            break
    result["alarms"] = processing.evaluate_alarms(db, now=now)
    result["aqi_alarms"] = aqi_alarms.evaluate(db, now=now)
    return result


def update_health(db: Session, *, now: datetime | None = None) -> dict[str, int]:
    return processing.update_health(db, now=now)
