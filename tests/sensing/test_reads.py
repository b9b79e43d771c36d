"""The read model other domains use: typed device counts, hourly AQI, water quality, alarms and hourly
means, consistent with what the sensing API and pages show."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.conftest import bearer
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.sensing import models as m
from yiwang.sensing import service
from yiwang.sensing.schemas import AlarmRead, DeviceCounts, HourlyAqi, TimedValue, WaterQuality


def test_counts_are_typed_and_the_status_api_shows_them(client, runtime):
    with runtime.db.read_only() as db:
        counts = service.counts(db)
        things = db.execute(select(m.Thing.online)).scalars().all()
    assert isinstance(counts, DeviceCounts)
    assert (counts.devices, counts.online) == (len(things), sum(things))
    shown = client.get("/api/sensing/status", headers=bearer(client, "hbj_steward")).json()
    assert shown == counts.model_dump()


def test_hourly_aqi_is_aligned_from_local_midnight(client, runtime):
    today = utcnow().astimezone(SHANGHAI).date()
    with runtime.db.read_only() as db:
        hourly = service.aqi_hourly(db, start=today - timedelta(days=1), end=today)
    assert isinstance(hourly, HourlyAqi) and hourly.hours == 48 and hourly.step_seconds == 3600
    assert hourly.start == datetime(today.year, today.month, today.day, tzinfo=SHANGHAI) - timedelta(days=1)
    assert hourly.stations and all(len(s.aqi) == 48 for s in hourly.stations)
    shown = client.get(
        f"/api/sensing/aqi/hourly?start={today - timedelta(days=1)}&end={today}", headers=bearer(client, "hbj_steward")
    ).json()
    assert shown["start"] == hourly.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert shown["stations"] == [s.model_dump() for s in hourly.stations]


def test_water_quality_classes_stations_and_rivers(client, runtime):
    with runtime.db.read_only() as db:
        quality = service.water_quality(db)
        summary = service.water_summary(db)
    assert isinstance(quality, WaterQuality) and quality.stations
    assert [s.id for s in quality.stations] == sorted(s.id for s in quality.stations)
    order = ["I", "II", "III", "IV", "V", "劣V"]
    for river in quality.rivers:
        classes = [s.water_class for s in quality.stations if s.river == river.river and s.water_class]
        assert river.stations == len(classes) and river.water_class == max(classes, key=order.index)
    # the API and the AQI page show the same, with the class under "class"
    assert summary == quality.model_dump(by_alias=True)
    assert summary["stations"][0]["class"] == quality.stations[0].water_class
    assert client.get("/api/sensing/water", headers=bearer(client, "hbj_steward")).json()["rivers"] == summary["rivers"]


def test_recent_alarms_are_typed_newest_first(runtime):
    with runtime.db.read_only() as db:
        alarms = service.recent_alarms(db, limit=5)
        newest = db.execute(select(m.Alarm.id).order_by(m.Alarm.id.desc()).limit(5)).scalars().all()
    assert all(isinstance(a, AlarmRead) for a in alarms)
    assert [a.id for a in alarms] == newest


def test_property_hourly_means_follow_the_rollups(runtime):
    with runtime.db.read_only() as db:
        sluice, stream = db.execute(
            select(m.Datastream.thing_id, m.Datastream.id)
            .join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id)
            .where(m.ObservedProperty.code == "water_level")
            .order_by(m.Datastream.id)
        ).first()
        end = utcnow()
        start = end - timedelta(days=2)
        means = service.property_hourly_means(db, thing_id=sluice, property_code="water_level", start=start, end=end)
        rollups = service.series(db, datastream_id=stream, period="hour", start=start, end=end)
        missing = service.property_hourly_means(db, thing_id=sluice, property_code="pm25", start=start, end=end)
    assert means and all(isinstance(p, TimedValue) for p in means)
    assert [(p.at, p.value) for p in means] == rollups
    assert missing is None  # the sluice measures no PM2.5
