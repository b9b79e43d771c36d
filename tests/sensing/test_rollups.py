"""Rollups kept current, station AQI from them, water summaries, device health, pages."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.conftest import bearer, page_login
from yiwang.core.timeutil import SHANGHAI
from yiwang.sensing import models as m
from yiwang.sensing import service


def _air_station(runtime):
    with runtime.db.unit_of_work() as db:
        thing = db.execute(select(m.Thing).where(m.Thing.kind == "air_station").order_by(m.Thing.id)).scalars().first()
        streams = dict(
            db.execute(
                select(m.ObservedProperty.code, m.Datastream.id)
                .join(m.Datastream, m.Datastream.observed_property_id == m.ObservedProperty.id)
                .where(m.Datastream.thing_id == thing.id)
            ).all()
        )
        return thing.id, streams


def test_rollups_and_station_aqi_are_kept_current(client, runtime):
    headers = bearer(client, "hbj_steward")
    thing_id, streams = _air_station(runtime)
    day = datetime(2026, 7, 15, tzinfo=SHANGHAI)  # a local day in the 2026 edition
    values = {"pm25": 75.0, "pm10": 180.0, "so2": 10.0, "no2": 40.0, "co": 1.0, "o3": 100.0}
    body = []
    for code, value in values.items():
        rows = [
            [
                (day + timedelta(hours=h, minutes=mm)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                value * (1.1 if mm else 0.9),
            ]
            for h in range(24)
            for mm in (0, 30)
        ]
        body.append(
            {"Datastream": {"@iot.id": streams[code]}, "components": ["phenomenonTime", "result"], "dataArray": rows}
        )
    assert client.post("/sta/v1.1/CreateObservations", json=body, headers=headers).status_code == 201
    with runtime.db.unit_of_work() as db:
        service.run_processing(db)
    series = client.get(
        f"/api/sensing/datastreams/{streams['pm25']}/series?period=hour"
        f"&start=2026-07-15T00:00:00%2B08:00&end=2026-07-16T00:00:00%2B08:00",
        headers=headers,
    ).json()
    assert len(series["points"]) == 24 and all(abs(v - 75.0) < 1e-9 for _, v in series["points"])
    daily = client.get(
        f"/api/sensing/datastreams/{streams['pm25']}/series?period=day"
        f"&start=2026-07-15T00:00:00%2B08:00&end=2026-07-16T00:00:00%2B08:00",
        headers=headers,
    ).json()
    assert len(daily["points"]) == 1 and abs(daily["points"][0][1] - 75.0) < 1e-9
    aqi_days = client.get("/api/sensing/aqi/daily?day=2026-07-15", headers=headers).json()
    mine = next(d for d in aqi_days if d["thing_id"] == thing_id)
    # daily: PM2.5 75 → 114 (2026), PM10 180 → 124 (2026), O3-8h 100 → 50
    assert mine["aqi"] == 124 and mine["primary_pollutants"] == ["pm10"] and mine["edition"] == "2026"
    hourly = client.get(
        f"/api/sensing/aqi/hourly?start=2026-07-15&end=2026-07-15&station={thing_id}", headers=headers
    ).json()
    station = hourly["stations"][0]
    assert station["id"] == thing_id and len(station["aqi"]) == 24 and set(station["aqi"]) == {124}
    # a late observation changes the hour's mean, and the rollup follows
    late = [
        {
            "Datastream": {"@iot.id": streams["pm25"]},
            "components": ["phenomenonTime", "result"],
            "dataArray": [
                [(day + timedelta(hours=3, minutes=45)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), 375.0]
            ],
        }
    ]
    client.post("/sta/v1.1/CreateObservations", json=late, headers=headers)
    with runtime.db.unit_of_work() as db:
        service.run_processing(db)
        points = service.series(
            db,
            datastream_id=streams["pm25"],
            period="hour",
            start=day.astimezone(UTC),
            end=(day + timedelta(days=1)).astimezone(UTC),
        )
    assert abs(points[3][1] - 175.0) < 1e-9


def test_aqi_hourly_bad_input(client):
    headers = bearer(client, "hbj_steward")
    assert client.get("/api/sensing/aqi/hourly?start=2026-01-01&end=2025-01-01", headers=headers).status_code == 422
    assert client.get("/api/sensing/aqi/hourly?start=2020-01-01&end=2026-01-01", headers=headers).status_code == 422
    assert client.get("/api/sensing/aqi/hourly?start=nope&end=2026-01-01", headers=headers).status_code == 422
    assert client.get("/api/sensing/datastreams/1/series?period=minute", headers=headers).status_code == 422


def test_water_summary_and_health(client, runtime):
    headers = bearer(client, "hbj_steward")
    water = client.get("/api/sensing/water", headers=headers).json()
    assert water["stations"] and all(s["class"] in ("I", "II", "III", "IV", "V", "劣V") for s in water["stations"])
    with runtime.db.unit_of_work() as db:
        thing = db.execute(select(m.Thing).where(m.Thing.kind == "gas_monitor")).scalars().first()
        thing.last_seen = datetime.now(UTC) - timedelta(hours=10)
    with runtime.db.unit_of_work() as db:
        service.update_health(db)
    things = client.get("/api/sensing/things?kind=gas_monitor", headers=headers).json()
    stale = next(t for t in things if t["id"] == thing.id)
    assert stale["online"] is False


def test_pages_render(client):
    page_login(client, "hbj_admin")
    for path in ("/sensing", "/sensing/aqi", "/sensing/alarms", "/sensing?kind=air_station&department=HBJ"):
        response = client.get(path, headers={"accept": "text/html"})
        assert response.status_code == 200, path
    thing_id = client.get("/api/sensing/things?kind=air_station").json()[0]["id"]
    page = client.get(f"/sensing/things/{thing_id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "ds-chart" in page.text
