"""A year of hourly AQI for 17 stations through the API (GET /api/sensing/aqi/hourly), vs a bare SQL read.

Builds 17 air stations with six pollutant datastreams, a year of hourly rollups (bulk insert), computes
the station AQI days once (as the rollup job keeps them), then times the API call.

    .venv/bin/python bench/aqi_year.py [--stations 17] [--repeat 7] [--database-url ...]
"""

import argparse
import json
import math
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensing_common import Platform, machine

POLLUTANTS = {"pm25": 40, "pm10": 65, "so2": 9, "no2": 30, "co": 0.7, "o3": 80}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=17)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    bench = Platform(args.database_url, packages=("yiwang.org", "yiwang.sensing"))
    try:
        from sqlalchemy import select, text

        from yiwang.sensing import models as m
        from yiwang.sensing import processing

        rng = random.Random(1)
        first_day, days = date(2025, 1, 1), 365
        start = datetime(2024, 12, 31, 16, tzinfo=UTC)  # local midnight of the first day
        t0 = time.perf_counter()
        with bench.runtime.db.unit_of_work() as db:
            codes = dict(db.execute(select(m.ObservedProperty.code, m.ObservedProperty.id)).all())
            sensor = db.execute(select(m.Sensor.id)).scalars().first()
            things = []
            for n in range(args.stations):
                thing = m.Thing(code=f"BENCH-AIR-{n}", name=f"压测空气站{n}", kind="air_station", lon=120.7, lat=31.6)
                db.add(thing)
                db.flush()
                things.append(thing.id)
                rows = []
                for code, base in POLLUTANTS.items():
                    ds = m.Datastream(
                        name=f"{n}-{code}",
                        thing_id=thing.id,
                        sensor_id=sensor,
                        observed_property_id=codes[code],
                        unit_of_measurement={"symbol": ""},
                    )
                    db.add(ds)
                    db.flush()
                    for h in range(days * 24):
                        v = max(0.01, base * (1 + 0.4 * math.sin(h / 24 * 2 * math.pi)) * rng.uniform(0.7, 1.3))
                        rows.append(
                            {
                                "datastream_id": ds.id,
                                "period": "hour",
                                "start": start + timedelta(hours=h),
                                "count": 1,
                                "total": v,
                                "minimum": v,
                                "maximum": v,
                                "mean": v,
                            }
                        )
                db.execute(m.Rollup.__table__.insert(), rows)
        build_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        all_days = [first_day + timedelta(days=d) for d in range(days)]
        for thing_id in things:
            with bench.runtime.db.unit_of_work() as db:
                processing.compute_station_days(db, thing_id=thing_id, days=all_days)
        compute_seconds = time.perf_counter() - t0
        client = httpx.Client(
            base_url=bench.url, headers={"Authorization": f"Bearer {bench.token('hbj_steward')}"}, timeout=60
        )
        ids = "&".join(f"station={t}" for t in things)
        url = f"/api/sensing/aqi/hourly?start={first_day}&end={all_days[-1]}&{ids}"
        client.get(url).raise_for_status()  # warm-up
        api_ms = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            body = client.get(url).json()
            api_ms.append((time.perf_counter() - t) * 1000)
        values = sum(sum(1 for v in s["aqi"] if v is not None) for s in body["stations"])
        bare_ms = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            with bench.runtime.db.engine.connect() as conn:
                rows = conn.execute(text("SELECT thing_id, day, hourly FROM sensing_aqi_day")).all()
            bare_ms.append((time.perf_counter() - t) * 1000)
        print(
            json.dumps(
                {
                    "benchmark": "aqi_year",
                    "database": "sqlite" if bench.runtime.db.is_sqlite else "postgresql",
                    "stations": len(body["stations"]),
                    "hours": body["hours"],
                    "hourly_values": values,
                    "api_ms_median": round(statistics.median(api_ms), 1),
                    "api_ms_max": round(max(api_ms), 1),
                    "bare_sql_read_ms_median": round(statistics.median(bare_ms), 1),
                    "bare_rows": len(rows),
                    "ratio": round(statistics.median(api_ms) / statistics.median(bare_ms), 2),
                    "setup_seconds": {"rollups": round(build_seconds, 1), "aqi_days": round(compute_seconds, 1)},
                    "targets": {"api_ms": 200},
                    "machine": machine(),
                },
                ensure_ascii=False,
            )
        )
    finally:
        bench.close()


if __name__ == "__main__":
    main()
