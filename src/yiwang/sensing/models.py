"""Tables of 物联感知: the SensorThings 1.1 entities, rollups, device health, rejects and alarms."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime
from yiwang.core.timeutil import utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")


class Thing(Base):
    __tablename__ = "sensing_thing"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(40), default="device", index=True)
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    division_code: Mapped[str | None] = mapped_column(String(20), index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    messages_total: Mapped[int] = mapped_column(BigInteger, default=0)
    rejects_total: Mapped[int] = mapped_column(BigInteger, default=0)
    rate_per_hour: Mapped[float] = mapped_column(Float, default=0)
    expected_interval_s: Mapped[int] = mapped_column(Integer, default=3600)
    online: Mapped[bool] = mapped_column(Boolean, default=False)


class Location(Base):
    __tablename__ = "sensing_location"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100), default="application/geo+json")
    location: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The FeatureOfInterest generated from this Location for observations that name none; cleared when
    # the Location changes, so the next observation gets a new one.
    feature_of_interest_id: Mapped[int | None] = mapped_column(Integer)


class ThingLocation(Base):
    __tablename__ = "sensing_thing_location"
    thing_id: Mapped[int] = mapped_column(ForeignKey("sensing_thing.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("sensing_location.id", ondelete="CASCADE"), primary_key=True)


class HistoricalLocation(Base):
    __tablename__ = "sensing_historical_location"
    id: Mapped[int] = mapped_column(primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sensing_thing.id", ondelete="CASCADE"), index=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)


class HistoricalLocationLocation(Base):
    __tablename__ = "sensing_historical_location_location"
    historical_location_id: Mapped[int] = mapped_column(
        ForeignKey("sensing_historical_location.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(ForeignKey("sensing_location.id", ondelete="CASCADE"), primary_key=True)


class Sensor(Base):
    __tablename__ = "sensing_sensor"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100), default="text/html")
    sensor_metadata: Mapped[str] = mapped_column("metadata", Text, default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ObservedProperty(Base):
    __tablename__ = "sensing_observed_property"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Datastream(Base):
    __tablename__ = "sensing_datastream"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    observation_type: Mapped[str] = mapped_column(
        String(200), default="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
    )
    unit_of_measurement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    observed_area: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sensing_thing.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sensing_sensor.id"), index=True)
    observed_property_id: Mapped[int] = mapped_column(ForeignKey("sensing_observed_property.id"), index=True)
    min_valid: Mapped[float | None] = mapped_column(Float)
    max_valid: Mapped[float | None] = mapped_column(Float)
    phenomenon_time_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phenomenon_time_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_value: Mapped[float | None] = mapped_column(Float)
    # When the platform learnt of it: a no-data rule counts the silence of a new datastream from here.
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)


class FeatureOfInterest(Base):
    __tablename__ = "sensing_feature_of_interest"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100), default="application/geo+json")
    feature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Observation(Base):
    __tablename__ = "sensing_observation"
    __table_args__ = (UniqueConstraint("datastream_id", "phenomenon_time", name="uq_sensing_observation_ds_time"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    datastream_id: Mapped[int] = mapped_column(ForeignKey("sensing_datastream.id", ondelete="CASCADE"))
    phenomenon_time: Mapped[datetime] = mapped_column(UTCDateTime)
    result_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[float | None] = mapped_column(Float)
    result_json: Mapped[Any] = mapped_column(JSON, nullable=True)
    result_quality: Mapped[str | None] = mapped_column(String(100))
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    feature_of_interest_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Rollup(Base):
    """Hourly ("hour") and local-day ("day") aggregates of a datastream."""

    __tablename__ = "sensing_rollup"
    __table_args__ = (UniqueConstraint("datastream_id", "period", "start", name="uq_sensing_rollup_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    datastream_id: Mapped[int] = mapped_column(ForeignKey("sensing_datastream.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    minimum: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float] = mapped_column(Float)
    mean: Mapped[float] = mapped_column(Float)


class AqiDay(Base):
    """A station's AQI for one local day: the daily AQI and the 24 hourly values, packed for fast reads."""

    __tablename__ = "sensing_aqi_day"
    __table_args__ = (UniqueConstraint("thing_id", "day", name="uq_sensing_aqi_day_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sensing_thing.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    edition: Mapped[str] = mapped_column(String(8))
    aqi: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str | None] = mapped_column(String(8))
    category: Mapped[str | None] = mapped_column(String(20))
    primary_pollutants: Mapped[str] = mapped_column(String(60), default="")
    hourly: Mapped[list[Any]] = mapped_column(JSON)  # 24 values (local hours 0..23), None where missing


class Cursor(Base):
    """Progress markers of background work (rollups, alarm evaluation), by name."""

    __tablename__ = "sensing_cursor"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeviceToken(Base):
    """A per-device ingest token (stored only as its MAC under the token key), bound to one Thing."""

    __tablename__ = "sensing_device_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sensing_thing.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Reject(Base):
    """A refused observation: counted per device and kept with its reason (never silently dropped)."""

    __tablename__ = "sensing_reject"
    __table_args__ = (Index("ix_sensing_reject_thing_time", "thing_id", "received_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    thing_id: Mapped[int | None] = mapped_column(Integer)
    datastream_id: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(10))  # http | mqtt
    reason: Mapped[str] = mapped_column(String(40))  # unknown_datastream | wrong_type | out_of_range | future_time
    detail: Mapped[str] = mapped_column(String(500), default="")
    payload: Mapped[str] = mapped_column(Text, default="")


class AlarmRule(Base):
    __tablename__ = "sensing_alarm_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # threshold | rate | nodata | aqi (a station's hourly AQI)
    observed_property_code: Mapped[str | None] = mapped_column(String(40), index=True)
    datastream_id: Mapped[int | None] = mapped_column(Integer, index=True)
    operator: Mapped[str] = mapped_column(String(2), default=">")
    threshold: Mapped[float | None] = mapped_column(Float)
    window_minutes: Mapped[int] = mapped_column(Integer, default=60)
    severity: Mapped[str] = mapped_column(String(20), default="warning")  # info | warning | critical
    dedup_minutes: Mapped[int] = mapped_column(Integer, default=30)
    flap_limit: Mapped[int] = mapped_column(Integer, default=4)  # raises within flap_window → suppressed
    flap_window_minutes: Mapped[int] = mapped_column(Integer, default=60)
    event_category: Mapped[str | None] = mapped_column(String(10))  # a cityops category opened on confirm
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Alarm(Base):
    __tablename__ = "sensing_alarm"
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("sensing_alarm_rule.id", ondelete="CASCADE"), index=True)
    datastream_id: Mapped[int] = mapped_column(Integer, index=True)
    thing_id: Mapped[int] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)  # active | acknowledged | cleared
    severity: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(String(500))
    value: Mapped[float | None] = mapped_column(Float)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_number: Mapped[str | None] = mapped_column(String(40))
