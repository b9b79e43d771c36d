"""JSON API of 物联感知 under /api/sensing: calculators, device ingest, series, AQI, water, alarms."""

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query

from yiwang.core import audit
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError, NotAuthenticated, ValidationFailed
from yiwang.core.params import IdPath
from yiwang.core.security import CurrentUser, Principal, public, require
from yiwang.core.timeutil import SHANGHAI, local_today, utcnow
from yiwang.sensing import aqi, ingest, service, water
from yiwang.sensing import permissions as p
from yiwang.sensing.schemas import (
    AlarmAction,
    AlarmRead,
    AlarmRuleCreate,
    AlarmRuleRead,
    AqiCalcRead,
    AqiDayRead,
    DeviceIngest,
    DeviceTokenCreate,
    DeviceTokenRead,
    IngestResult,
    ThingRead,
    WaterClassRead,
)

router = APIRouter(prefix="/api/sensing", tags=["物联感知"])
Conc = Annotated[float | None, Query(ge=0, le=100000)]


@router.get("/aqi", response_model=AqiCalcRead)
@public
def aqi_calculator(
    kind: Literal["hourly", "daily"] = "hourly",
    date_: Annotated[date | None, Query(alias="date")] = None,
    pm25: Conc = None,
    pm10: Conc = None,
    so2: Conc = None,
    no2: Conc = None,
    co: Conc = None,
    o3: Conc = None,
) -> dict[str, Any]:
    """AQI per HJ 633 (edition by date; for daily, o3 is the 8-hour value). Public calculator."""
    values = {"pm25": pm25, "pm10": pm10, "so2": so2, "no2": no2, "co": co, "o3": o3}
    if all(v is None for v in values.values()):
        raise ValidationFailed("至少需要一种污染物的浓度")
    day = date_ or local_today()
    result = aqi.compute(values, kind=kind, day=day).as_dict()
    result.pop("colour")
    return result


@router.get("/water-class", response_model=WaterClassRead, response_model_by_alias=True)
@public
def water_class_calculator(
    water_body: Literal["river", "lake"] = "river",
    ph: Annotated[float | None, Query(ge=0, le=14)] = None,
    do: Conc = None,
    codmn: Conc = None,
    cod: Conc = None,
    bod5: Conc = None,
    nh3n: Conc = None,
    tp: Conc = None,
    tn: Conc = None,
) -> dict[str, Any]:
    """Surface water class per GB 3838-2002 by single-factor evaluation. Public calculator."""
    values = {"ph": ph, "do": do, "codmn": codmn, "cod": cod, "bod5": bod5, "nh3n": nh3n, "tp": tp, "tn": tn}
    try:
        result = water.classify(values, water_body=water_body)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    return {"class": result.water_class, "limiting": result.limiting}


@router.post("/ingest", response_model=IngestResult)
@public
def device_ingest(payload: DeviceIngest, db: DbSession, x_device_token: Annotated[str | None, Header()] = None) -> Any:
    """Observations from a device, authenticated by its own token (header X-Device-Token)."""
    thing_id = service.device_for_token(db, token=x_device_token or "")
    if thing_id is None:
        raise NotAuthenticated("设备令牌无效或已吊销", code="invalid_device_token")
    rows = [ingest.Incoming(o.datastream_id, o.phenomenon_time, o.result) for o in payload.observations]
    outcome = ingest.store(db, rows=rows, channel="http", device_thing_id=thing_id)
    device = Principal(user_id=None, username=f"device:{thing_id}", display_name="设备", kind="system")
    audit.record(
        db,
        actor=device,
        action="sensing.observations.ingest",
        target_type="thing",
        target_id=thing_id,
        details={"accepted": outcome.accepted, "rejected": outcome.rejected},
    )
    return IngestResult(
        **{k: getattr(outcome, k) for k in ("received", "accepted", "duplicates", "rejected", "reasons")}
    )


@router.post("/device-tokens", response_model=DeviceTokenRead, status_code=201)
def create_device_token(
    data: DeviceTokenCreate, db: DbSession, user: Annotated[Principal, Depends(require(p.WRITE))]
) -> Any:
    """Issue a per-device ingest token (shown once)."""
    token_id, secret = service.create_device_token(db, actor=user, thing_id=data.thing_id, label=data.label)
    return DeviceTokenRead(id=token_id, thing_id=data.thing_id, token=secret, label=data.label)


@router.get("/things", response_model=list[ThingRead])
def things(
    db: DbSession,
    user: Annotated[Principal, Depends(require(p.READ))],
    kind: str | None = None,
    department_id: int | None = None,
) -> Any:
    """Devices with health (last seen, rate, online, rejects)."""
    return service.list_things(db, department_id=department_id, kind=kind)


@router.get("/things/{thing_id}")
def thing(thing_id: IdPath, db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]) -> Any:
    """A device, its datastreams and its rejects by reason."""
    return service.get_thing(db, thing_id=thing_id)


@router.get("/datastreams/{datastream_id}/series")
def datastream_series(
    datastream_id: IdPath,
    db: DbSession,
    user: Annotated[Principal, Depends(require(p.READ))],
    period: Literal["raw", "hour", "day"] = "hour",
    start: datetime | None = None,
    end: datetime | None = None,
) -> Any:
    """Values of a datastream: raw, hourly or daily means."""
    end = _aware(end) or utcnow()
    start = _aware(start) or end - timedelta(days=7)
    points = service.series(db, datastream_id=datastream_id, period=period, start=start, end=end)
    return {
        "datastream_id": datastream_id,
        "period": period,
        "points": [[t.isoformat().replace("+00:00", "Z"), v] for t, v in points],
    }


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


@router.get("/aqi/hourly")
def aqi_hourly(
    db: DbSession,
    user: Annotated[Principal, Depends(require(p.READ))],
    start: date,
    end: date,
    station: Annotated[list[int] | None, Query()] = None,
) -> Any:
    """Hourly AQI of every (or the chosen) air station over local days, as aligned arrays."""
    return service.aqi_hourly(db, start=start, end=end, thing_ids=station)


@router.get("/aqi/daily", response_model=list[AqiDayRead])
def aqi_daily(db: DbSession, user: Annotated[Principal, Depends(require(p.READ))], day: date | None = None) -> Any:
    """Daily AQI of each air station for a local day (default: the latest computed)."""
    chosen = day or service.latest_aqi_day(db)
    return service.aqi_days(db, day=chosen) if chosen else []


@router.get("/water")
def water_summary(db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]) -> Any:
    """Latest water class per station and per river."""
    return service.water_summary(db)


@router.get("/alarm-rules", response_model=list[AlarmRuleRead])
def alarm_rules(db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]) -> Any:
    return service.list_alarm_rules(db)


@router.post("/alarm-rules", response_model=AlarmRuleRead, status_code=201)
def create_alarm_rule(
    data: AlarmRuleCreate, db: DbSession, user: Annotated[Principal, Depends(require(p.WRITE))]
) -> Any:
    """Create an alarm rule (threshold, rate of change, or no data)."""
    return service.create_alarm_rule(db, actor=user, data=data)


@router.get("/alarms", response_model=list[AlarmRead])
def alarms(
    db: DbSession,
    user: Annotated[Principal, Depends(require(p.READ))],
    state: Literal["active", "acknowledged", "cleared"] | None = None,
) -> Any:
    return service.list_alarms(db, state=state)


@router.post("/alarms/{alarm_id}/actions", response_model=AlarmRead)
def alarm_action(
    alarm_id: IdPath, data: AlarmAction, db: DbSession, user: Annotated[Principal, Depends(require(p.ALARM_HANDLE))]
) -> Any:
    """Acknowledge, confirm (opens a city event for kinds that have one) or clear an alarm."""
    return service.act_on_alarm(db, actor=user, alarm_id=alarm_id, action=data.action)


@router.get("/rejects")
def rejects(db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]) -> Any:
    """Refused observations counted per device and reason."""
    return service.rejects_by_device(db)


@router.get("/status")
def status(db: DbSession, user: CurrentUser) -> Any:
    """Device and alarm counts."""
    return service.counts(db)


__all__ = ["AppError", "router"]
