"""Input and output shapes of 物联感知."""

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from yiwang.core.events import EventPayload


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceTokenCreate(Strict):
    thing_id: int = Field(ge=1)
    label: str = Field("device", max_length=100)


class DeviceTokenRead(BaseModel):
    id: int
    thing_id: int
    token: str
    label: str


class AlarmRuleCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["threshold", "rate", "nodata", "aqi"]
    observed_property_code: str | None = Field(None, max_length=40)
    datastream_id: int | None = Field(None, ge=1)
    operator: Literal[">", ">=", "<", "<="] = ">"
    threshold: float | None = None
    window_minutes: int = Field(60, ge=1, le=10080)
    severity: Literal["info", "warning", "critical"] = "warning"
    dedup_minutes: int = Field(30, ge=0, le=1440)
    flap_limit: int = Field(4, ge=2, le=100)
    flap_window_minutes: int = Field(60, ge=1, le=10080)
    event_category: str | None = Field(None, max_length=10)


class AlarmRuleRead(AlarmRuleCreate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: int
    active: bool


class AlarmRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    rule_id: int
    datastream_id: int
    thing_id: int
    state: str
    severity: str
    message: str
    value: float | None
    raised_at: datetime
    last_seen_at: datetime
    occurrences: int
    reopened: int
    flapping: bool
    confirmed: bool
    acknowledged_by: str | None
    cleared_at: datetime | None


class AlarmAction(Strict):
    action: Literal["acknowledge", "confirm", "clear"]


class ThingRead(BaseModel):
    id: int
    code: str | None
    name: str
    kind: str
    department_id: int | None
    division_code: str | None
    lon: float | None
    lat: float | None
    last_seen: datetime | None
    online: bool
    messages_total: int
    rejects_total: int
    rate_per_hour: float


class IngestResult(BaseModel):
    received: int
    accepted: int
    duplicates: int
    rejected: int
    reasons: list[str]


class DeviceObservation(Strict):
    datastream_id: int = Field(alias="datastream", ge=1)
    phenomenon_time: datetime = Field(alias="phenomenonTime")
    result: float | int | bool | str | None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DeviceIngest(Strict):
    observations: list[DeviceObservation] = Field(min_length=1, max_length=20000)


class AqiCalcRead(BaseModel):
    aqi: int | None
    iaqi: dict[str, int]
    level: str | None
    category: str | None
    primary_pollutants: list[str]
    edition: str


class WaterClassRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    water_class: str = Field(serialization_alias="class", alias="class")
    limiting: list[str]


class AqiDayRead(BaseModel):
    thing_id: int
    station: str
    day: date
    aqi: int | None
    level: str | None
    category: str | None
    primary_pollutants: list[str]
    edition: str


# ---- events other domains subscribe to (core.events outbox payloads) ----------------------------


class AlarmRaised(EventPayload):
    event_name: ClassVar[str] = "sensing.alarm_raised"

    alarm_id: int
    severity: str
    message: str


class AlarmConfirmed(EventPayload):
    """A confirmed alarm of a kind that has a city event category: 一网统管 opens one event for it."""

    event_name: ClassVar[str] = "sensing.alarm_confirmed"

    alarm_id: int
    category_code: str
    message: str
    severity: str
    thing_name: str | None = None
    division_code: str | None = None
    lon: float | None = None
    lat: float | None = None
    raised_at: datetime


# ---- the read model other domains use (sensing.reads) ---------------------------------------------


class StationHourlyAqi(BaseModel):
    id: int
    name: str
    aqi: list[int | None] = Field(description="one value per hour from the start, None where missing")


class HourlyAqi(BaseModel):
    start: datetime = Field(description="the first hour (local midnight of the first day), UTC")
    step_seconds: int
    hours: int
    stations: list[StationHourlyAqi]


class StationWaterClass(BaseModel):
    """A water quality station's latest single-factor class (None when its readings cannot be classed)."""

    id: int
    name: str
    river: str
    water_body: str
    values: dict[str, float]
    water_class: str | None = Field(serialization_alias="class")
    limiting: list[str]


class RiverWaterClass(BaseModel):
    """A river's class: its worst station's."""

    river: str
    water_class: str | None = Field(serialization_alias="class")
    stations: int


class WaterQuality(BaseModel):
    stations: list[StationWaterClass]
    rivers: list[RiverWaterClass]


class DeviceCounts(BaseModel):
    devices: int
    online: int
    active_alarms: int = Field(description="alarms active or acknowledged, not yet cleared")


class TimedValue(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    value: float
