"""Builds the data the city-brain benchmarks measure, in a temp dir: every domain's demo (city size
where it is quick; onestop's small demo, whose service items are the same), a year of city events
through the cityops service, and a year of the brain's own hourly/daily sign series, monthly
indicator snapshots and evaluation scores (bulk-inserted into brain's tables)."""

import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np
from sqlalchemy import insert, text

from yiwang import bootstrap, domains
from yiwang.config import Settings
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS, registry
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.demo import loader

STATIONS, SLUICES = 17, 11


def settings(data_dir: Path, size: str) -> Settings:
    return Settings(data_dir=data_dir, run_jobs_in_process=False, demo=True, demo_on_first_start=False, demo_size=size)


def load_demos(data_dir: Path) -> tuple[Runtime, dict[str, Any]]:
    full = Runtime.build(settings(data_dir, "full"))
    small = Runtime.build(settings(data_dir, "small"))
    bootstrap.prepare(full)
    timings: dict[str, Any] = {}
    started = time.perf_counter()
    loader.load(full)
    for plugin in domains.plugins():
        if plugin.demo and plugin.name != "brain":
            t = time.perf_counter()
            try:
                plugin.demo(small if plugin.name == "onestop" else full, None)
            except Exception as exc:  # another domain's demo failing must not hide the brain's figures
                timings[f"{plugin.name}_demo_error"] = repr(exc)[:200]
            timings[f"{plugin.name}_demo_s"] = round(time.perf_counter() - t, 1)
    timings["demos_s"] = round(time.perf_counter() - started, 1)
    small.db.dispose()
    return full, timings


def _actor(db: Any, department: str) -> Principal:
    from yiwang.org import service as org_service

    dept = org_service.get_department_by_code(db, code=department)
    return Principal(
        user_id=None,
        username=f"bench:{department}",
        display_name="基准",
        kind="system",
        department_id=dept.id,
        department_code=department,
        scope_department_ids=frozenset({dept.id}),
        permissions=frozenset(registry.permissions) | {SCOPE_ALL_DEPARTMENTS},
    )


def year_of_events(runtime: Runtime, per_day: int, seed: int = 7) -> int:
    """Events over the last 365 days through cityops' service; most are handled and closed."""
    from yiwang.cityops import service as cityops
    from yiwang.cityops.schemas import EventAction, EventCreate
    from yiwang.org import service as org_service

    rng = random.Random(seed)
    now = utcnow()
    with runtime.db.unit_of_work() as db:
        categories = [c for c in cityops.list_categories(db)]
        divisions = [d for d in org_service.list_divisions(db) if d.level in ("town", "subdistrict")]
        centre = _actor(db, "LDZ")
    made = 0
    for day in range(365, 0, -1):
        with runtime.db.unit_of_work() as db:
            for _ in range(per_day):
                category = rng.choice(categories)
                division = rng.choice(divisions)
                start = now - timedelta(days=day) + timedelta(hours=rng.uniform(0, 24))
                event = cityops.create_event(
                    db,
                    actor=centre,
                    cipher=runtime.cipher,
                    now=start,
                    data=EventCreate(
                        description=f"{division.name}{category.name}，请尽快处理（基准数据）",
                        category_code=category.code,
                        source="hotline",
                        division_code=division.code,
                        lon=round(division.lon + rng.uniform(-0.01, 0.01), 5),
                        lat=round(division.lat + rng.uniform(-0.01, 0.01), 5),
                    ),
                )
                made += 1
                if event.status != "dispatched" or (day < 2 and rng.random() < 0.5):
                    continue
                late = rng.random() < 0.08
                t = event.deadline + timedelta(hours=1) if late else start + timedelta(hours=rng.uniform(0.5, 6))
                if t > now:
                    continue
                for action, note in (("sign", None), ("reply", "已处置"), ("verify", None), ("close", None)):
                    cityops.act(
                        db, actor=centre, number=event.number, data=EventAction(action=action, note=note), now=t
                    )
    return made


def year_of_series(runtime: Runtime) -> int:
    """Hourly AQI for 17 stations and water level for 11 sluices, daily AQI and events per category,
    for 366 days, in brain's series tables (bulk insert)."""
    from yiwang.brain import models as m
    from yiwang.brain import signs, synthetic
    from yiwang.cityops import service as cityops
    from yiwang.org import service as org_service

    end = signs.hour_floor(utcnow())
    hours = 366 * 24
    start = end - timedelta(hours=hours - 1)
    times = [start + timedelta(hours=i) for i in range(hours)]
    rows = 0
    with runtime.db.unit_of_work() as db:
        divisions = [d for d in org_service.list_divisions(db) if d.level in ("town", "subdistrict")]
        categories = [c.code for c in cityops.list_categories(db)]
        now = utcnow()
        for kind, count, label in (("aqi", STATIONS, "空气自动站"), ("level", SLUICES, "智慧水闸")):
            for n in range(count):
                d = divisions[n % len(divisions)]
                key = f"{kind}:bench{n:02d}"
                db.add(
                    m.SeriesMeta(
                        key=key,
                        label=f"{label}{n + 1:02d}号（基准）",
                        kind=kind,
                        step="hour",
                        unit="m" if kind == "level" else "",
                        department_code="HBJ" if kind == "aqi" else "SWJ",
                        division_code=d.code,
                        lon=d.lon,
                        lat=d.lat,
                        updated_at=now,
                    )
                )
                values = (
                    synthetic.aqi_series(hours, seed=n, start_day_of_year=start.timetuple().tm_yday)
                    if kind == "aqi"
                    else synthetic.water_level_series(hours, seed=n)
                )
                batch = [{"series": key, "ts": t, "value": float(v)} for t, v in zip(times, values, strict=True)]
                for i in range(0, len(batch), 20000):
                    db.execute(insert(m.SeriesPoint), batch[i : i + 20000])
                rows += len(batch)
                if kind == "aqi":
                    daily = np.asarray(values[: (hours // 24) * 24]).reshape(-1, 24).mean(axis=1)
                    day_rows = [
                        {
                            "series": f"aqiday:bench{n:02d}",
                            "ts": signs.local_midnight_utc((start + timedelta(days=i)).date()),
                            "value": round(float(v)),
                        }
                        for i, v in enumerate(daily)
                    ]
                    db.execute(insert(m.SeriesPoint), day_rows)
                    rows += len(day_rows)
        today = utcnow().date()
        for n, code in enumerate(categories):
            key = f"events:{code}"
            if db.get(m.SeriesMeta, key) is None:
                db.add(
                    m.SeriesMeta(
                        key=key, label=f"{code} 日事件量", kind="events", step="day", unit="件", updated_at=now
                    )
                )
            values = synthetic.daily_counts(366, mean=2 + n % 9, seed=n)
            day_rows = [
                {"series": key, "ts": signs.local_midnight_utc(today - timedelta(days=365 - i)), "value": float(v)}
                for i, v in enumerate(values)
            ]
            db.execute(text("DELETE FROM brain_series_point WHERE series = :s"), {"s": key})
            db.execute(insert(m.SeriesPoint), day_rows)
            rows += len(day_rows)
    return rows


def year_of_brain(runtime: Runtime) -> dict[str, Any]:
    """Registries, snapshots and scores for the last twelve months; then the current month live."""
    from yiwang.brain import demo as brain_demo
    from yiwang.brain import diagnosis, evaluation
    from yiwang.brain import service as svc

    out: dict[str, Any] = {}
    t = time.perf_counter()
    with runtime.db.unit_of_work() as db:
        out["registry_rows"] = brain_demo.load_registries(db)
        out["indicator_history"] = brain_demo.backfill_indicator_history(db, now=utcnow())
    with runtime.db.unit_of_work() as db:
        period = svc.current_period()
        for _ in range(12):
            period = svc.previous_period(period)
            evaluation.store(db, period=period, origin="bench")
    with runtime.db.unit_of_work() as db:
        out["warnings"] = diagnosis.detect_warnings(db, lookback=24 * 14)["stored"]
    out["brain_year_s"] = round(time.perf_counter() - t, 1)
    return out


def machine() -> dict[str, Any]:
    import os
    import platform

    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}


def today() -> date:
    return datetime.now(UTC).date()
