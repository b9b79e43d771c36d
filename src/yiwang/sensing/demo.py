"""Changshu's demo devices (changshu.md), a few days of history, and the live simulator.

All values are demo data: diurnal patterns with noise, an occasional pollution episode, a rain event
that raises sluice water levels, and a gas leak.
"""

import math
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.org import service as org_service
from yiwang.sensing import ingest, service
from yiwang.sensing import models as m
from yiwang.sensing.schemas import AlarmRuleCreate

SYSTEM = Principal(
    user_id=None,
    username="system:demo",
    display_name="演示数据装载",
    kind="system",
    permissions=frozenset({SCOPE_ALL_DEPARTMENTS}),
)
MEASURE = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
PROPERTIES = {
    # code: (name, unit symbol, min, max)
    "pm25": ("PM2.5", "μg/m³", 0, 1000),
    "pm10": ("PM10", "μg/m³", 0, 2000),
    "so2": ("二氧化硫", "μg/m³", 0, 3000),
    "no2": ("二氧化氮", "μg/m³", 0, 4000),
    "co": ("一氧化碳", "mg/m³", 0, 200),
    "o3": ("臭氧", "μg/m³", 0, 1500),
    "ph": ("pH", "", 0, 14),
    "do": ("溶解氧", "mg/L", 0, 30),
    "codmn": ("高锰酸盐指数", "mg/L", 0, 100),
    "nh3n": ("氨氮", "mg/L", 0, 50),
    "tp": ("总磷", "mg/L", 0, 10),
    "water_level": ("水位", "m", -5, 15),
    "gas_lel": ("可燃气体浓度", "%LEL", 0, 100),
    "noise": ("噪声", "dB(A)", 20, 140),
    "temperature": ("气温", "°C", -30, 60),
}
# kind: (department, count full, count small, observed properties, label)
KINDS = {
    "air_station": ("HBJ", 17, 3, ("pm25", "pm10", "so2", "no2", "co", "o3"), "空气自动站"),
    "grid_air": ("HBJ", 30, 2, ("pm25", "pm10"), "网格化空气微站"),
    "water_station": ("HBJ", 75, 4, ("ph", "do", "codmn", "nh3n", "tp"), "地表水自动站"),
    "sluice": ("SWJ", 11, 2, ("water_level",), "智慧水闸"),
    "gas_monitor": ("ZJJ", 119, 3, ("gas_lel",), "燃气监测点"),
    "lamp_pole": ("CGJ", 46, 2, ("noise", "temperature"), "智慧灯杆"),
}
RIVERS = ("常浒河", "望虞河", "元和塘", "白茆塘", "张家港河", "尚湖", "昆承湖")
RULES = [
    AlarmRuleCreate(
        name="燃气浓度超限（疑似泄漏）",
        kind="threshold",
        observed_property_code="gas_lel",
        operator=">=",
        threshold=20,
        severity="critical",
        event_category="ZJ04",
    ),
    AlarmRuleCreate(
        name="水位超警戒",
        kind="threshold",
        observed_property_code="water_level",
        operator=">",
        threshold=3.8,
        severity="critical",
        event_category="SW01",
    ),
    AlarmRuleCreate(
        name="PM2.5 重度污染",
        kind="threshold",
        observed_property_code="pm25",
        operator=">",
        threshold=150,
        severity="warning",
        event_category="HB01",
    ),
    AlarmRuleCreate(
        name="空气重度污染（AQI 超过 200）",
        kind="aqi",
        operator=">",
        threshold=200,
        severity="critical",
        event_category="HB01",
    ),
    AlarmRuleCreate(
        name="水位上涨过快", kind="rate", observed_property_code="water_level", threshold=0.5, severity="warning"
    ),
]


def _value(code: str, when: datetime, rng: random.Random, *, episode: float = 0.0, rain: float = 0.0) -> float:
    hour = (when.hour + 8) % 24
    diurnal = math.sin((hour - 6) / 24 * 2 * math.pi)
    base = {
        "pm25": 38 - 12 * diurnal,
        "pm10": 62 - 15 * diurnal,
        "so2": 9,
        "no2": 32 - 10 * diurnal,
        "co": 0.7,
        "o3": 70 + 55 * diurnal,
        "ph": 7.4,
        "do": 6.8,
        "codmn": 4.2,
        "nh3n": 0.5,
        "tp": 0.14,
        "water_level": 2.9 + 0.1 * diurnal,
        "gas_lel": 1.5,
        "noise": 55 + 8 * diurnal,
        "temperature": 12 + 5 * diurnal,
    }[code]
    if code in ("pm25", "pm10", "no2", "co"):
        base *= 1 + episode
    if code == "water_level":
        base += rain
    noise = rng.gauss(0, abs(base) * 0.08 + 0.01)
    lo, hi = PROPERTIES[code][2], PROPERTIES[code][3]
    return round(min(max(base + noise, lo + 0.01 if code != "water_level" else lo), hi), 3)


def _division_points(db: Any) -> list[tuple[str, float, float]]:
    return [
        (d.code, d.lon, d.lat)
        for d in org_service.list_divisions(db)
        if d.level in ("town", "subdistrict") and d.lon is not None and d.lat is not None
    ]


def load(runtime: Runtime, console: Any = None) -> dict[str, int]:
    """Create the demo devices (once) and a few days of hourly history; returns counts."""
    small = runtime.settings.demo_size == "small"
    rng = random.Random(2026)
    with runtime.db.unit_of_work() as db:
        if db.execute(select(func.count(m.Thing.id)).where(m.Thing.code.like("DEMO-%"))).scalar_one():
            return {"things": 0, "observations": 0}
        divisions = _division_points(db)
        departments = {d.code: d.id for d in org_service.list_departments(db)}
        props = {}
        for code, (name, _unit, _lo, _hi) in PROPERTIES.items():
            op = m.ObservedProperty(code=code, name=name, definition=f"urn:yiwang:property:{code}", description=name)
            db.add(op)
            props[code] = op
        db.flush()
        things = 0
        for kind, (dept, full, few, codes, label) in KINDS.items():
            sensor = m.Sensor(
                name=f"{label}传感器",
                description=f"{label}（演示）",
                encoding_type="text/html",
                sensor_metadata="https://example.invalid/demo",
            )
            db.add(sensor)
            db.flush()
            for n in range(1, (few if small else full) + 1):
                division, lon, lat = divisions[(n * 7 + len(kind)) % len(divisions)]
                lon, lat = round(lon + rng.uniform(-0.02, 0.02), 5), round(lat + rng.uniform(-0.015, 0.015), 5)
                extra: dict[str, Any] = {"demo": True}
                if kind == "water_station":
                    extra["river"] = RIVERS[n % len(RIVERS)]
                    extra["water_body"] = "lake" if extra["river"].endswith("湖") else "river"
                thing = m.Thing(
                    code=f"DEMO-{kind}-{n:03d}",
                    name=f"{label}{n:02d}号（演示）",
                    description=f"{label}（演示数据）",
                    properties=extra,
                    kind=kind,
                    department_id=departments.get(dept),
                    division_code=division,
                    lon=lon,
                    lat=lat,
                    expected_interval_s=3600,
                )
                db.add(thing)
                location = m.Location(
                    name=thing.name,
                    description="安装位置",
                    encoding_type="application/geo+json",
                    location={"type": "Point", "coordinates": [lon, lat]},
                )
                db.add(location)
                db.flush()
                db.add(m.ThingLocation(thing_id=thing.id, location_id=location.id))
                for code in codes:
                    name, unit, lo, hi = PROPERTIES[code]
                    db.add(
                        m.Datastream(
                            name=f"{thing.name} {name}",
                            description=name,
                            observation_type=MEASURE,
                            unit_of_measurement={"name": name, "symbol": unit, "definition": ""},
                            thing_id=thing.id,
                            sensor_id=sensor.id,
                            observed_property_id=props[code].id,
                            min_valid=lo,
                            max_valid=hi,
                        )
                    )
                things += 1
        for rule in RULES:
            service.create_alarm_rule(db, actor=SYSTEM, data=rule)
    hours = 24 if small else 72
    count = history(runtime, hours=hours, seed=7)
    with runtime.db.unit_of_work() as db:
        service.run_processing(db)
        service.update_health(db)
    return {"things": things, "observations": count}


def history(runtime: Runtime, *, hours: int, seed: int = 1, end: datetime | None = None) -> int:
    """Hourly observations for every demo datastream over the past `hours`."""
    rng = random.Random(seed)
    end = (end or utcnow()).replace(minute=0, second=0, microsecond=0)
    total = 0
    with runtime.db.unit_of_work() as db:
        streams = [
            (ds, code)
            for ds, code in db.execute(
                select(m.Datastream.id, m.ObservedProperty.code)
                .join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id)
                .join(m.Thing, m.Thing.id == m.Datastream.thing_id)
                .where(m.ObservedProperty.code.in_(PROPERTIES), m.Thing.code.like("DEMO-%"))
            ).all()
            if code is not None
        ]
        rows: list[ingest.Incoming] = []
        for ds, code in streams:
            episode_at = rng.randrange(hours)
            for h in range(hours, 0, -1):
                when = end - timedelta(hours=h)
                episode = 1.8 * math.exp(-((((hours - h) - episode_at) / 6) ** 2))
                rows.append(ingest.Incoming(ds, when, _value(code, when, rng, episode=episode)))
        for i in range(0, len(rows), 20000):
            total += ingest.store(db, rows=rows[i : i + 20000], channel="http").accepted
    return total


def simulate(
    runtime: Runtime,
    *,
    seconds: float = 60,
    interval: float = 5,
    console: Any = None,
    on_tick: Callable[[random.Random], None] | None = None,
) -> dict[str, int]:
    """Stream live telemetry (diurnal, an episode, a rain event, a gas leak) and a trickle of reports."""
    rng = random.Random()
    started = time.monotonic()
    tick = 0
    stored = 0
    with runtime.db.unit_of_work() as db:
        streams = [
            (ds, code, thing)
            for ds, code, thing in db.execute(
                select(m.Datastream.id, m.ObservedProperty.code, m.Datastream.thing_id)
                .join(m.ObservedProperty, m.ObservedProperty.id == m.Datastream.observed_property_id)
                .join(m.Thing, m.Thing.id == m.Datastream.thing_id)
                .where(m.ObservedProperty.code.in_(PROPERTIES), m.Thing.code.like("DEMO-%"))
            ).all()
            if code is not None
        ]
    leak_stream = next((ds for ds, code, _ in streams if code == "gas_lel"), None)
    while time.monotonic() - started < seconds:
        now = utcnow().replace(microsecond=0)
        rain = 1.2 if tick % 12 in (4, 5, 6, 7) else 0.0
        episode = 2.5 if tick % 20 in (10, 11) else 0.0
        rows = []
        for ds, code, _thing in streams:
            value = _value(code, now, rng, episode=episode, rain=rain)
            if ds == leak_stream and tick % 15 == 8:
                value = 35.0  # the gas leak
            rows.append(ingest.Incoming(ds, now, value))
        with runtime.db.unit_of_work() as db:
            stored += ingest.store(db, rows=rows, channel="http").accepted
            service.run_processing(db)
            service.update_health(db)
        if on_tick is not None and rng.random() < 0.5:
            on_tick(rng)  # e.g. a citizen report through 一网统管 (wired by the CLI, not imported here)
        tick += 1
        if console:
            console.print(f"第 {tick} 轮：写入 {len(rows)} 条观测")
        time.sleep(max(0.0, interval - (time.monotonic() - started) % interval))
    return {"ticks": tick, "observations": stored}
