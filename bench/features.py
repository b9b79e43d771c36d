"""OGC API – Features: the events layer with 100,000 events, a bbox query returning 1,000 features, p95 vs a
bare SQL query of the same rows in the same run.

The platform runs in its own process (one uvicorn worker), as deployed; the HTTP client and the bare query
run here, one request at a time.

.venv/bin/python bench/features.py [--events 100000] [--rounds 60] [--database-url ...]
"""

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensing_common import machine, reset_postgres
from server_process import ServerProcess

CITY = (120.55, 31.50, 121.00, 31.85)
# One hundredth of the city's box: about 1,000 of 100,000 evenly spread events.
BBOX = (120.70, 31.60, 120.745, 31.635)


def fill(database_url: str, count: int) -> int:
    """Bulk-insert `count` events spread over the city; returns how many fall in BBOX."""
    from yiwang.cityops.models import Event

    rng = random.Random(16)
    engine = create_engine(database_url)
    table = Event.__table__
    now = datetime.now(UTC)
    inside = 0
    with engine.begin() as conn:
        start = conn.execute(select(table.c.id).order_by(table.c.id.desc()).limit(1)).scalar() or 0
        batch = []
        for i in range(count):
            lon, lat = rng.uniform(CITY[0], CITY[2]), rng.uniform(CITY[1], CITY[3])
            inside += BBOX[0] <= lon <= BBOX[2] and BBOX[1] <= lat <= BBOX[3]
            batch.append(
                {
                    "number": f"SJ-BENCH-{start + i:07d}",
                    "category_code": "CG01",
                    "title": f"压测事件 {i}",
                    "description": "压测",
                    "source": "hotline",
                    "status": "dispatched",
                    "division_code": "320581001",
                    "lon": lon,
                    "lat": lat,
                    "address": "",
                    "created_at": now - timedelta(minutes=i),
                }
            )
            if len(batch) == 5000:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
    engine.dispose()
    return inside


def bare_query(database_url: str):
    """The same rows by plain SQL (same columns, order and limit), timed in ms per call."""
    from yiwang.cityops.models import Event

    engine = create_engine(database_url)
    t = Event.__table__
    stmt = (
        select(
            t.c.id,
            t.c.number,
            t.c.title,
            t.c.category_code,
            t.c.status,
            t.c.source,
            t.c.division_code,
            t.c.grid_code,
            t.c.lon,
            t.c.lat,
            t.c.created_at,
            t.c.deadline,
        )
        .where(t.c.lon.is_not(None), t.c.lon.between(BBOX[0], BBOX[2]), t.c.lat.between(BBOX[1], BBOX[3]))
        .order_by(t.c.id.desc())
        .limit(1000)
    )

    def run() -> tuple[float, int]:
        t0 = time.perf_counter()
        with engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return (time.perf_counter() - t0) * 1000, len(rows)

    return run, engine


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    if args.database_url:
        reset_postgres(args.database_url)
    data_dir = tempfile.TemporaryDirectory(prefix="yiwang-bench-")
    server = ServerProcess(
        data_dir.name,
        packages=("yiwang.org", "yiwang.geo", "yiwang.cityops"),
        database_url=args.database_url,
        api_key_for="ldz_dispatcher",
    )
    try:
        from yiwang.config import Settings

        url = args.database_url or Settings(data_dir=Path(data_dir.name)).resolved_database_url
        t0 = time.perf_counter()
        inside = fill(url, args.events)
        fill_s = time.perf_counter() - t0
        run_bare, engine = bare_query(url)
        client = httpx.Client(base_url=server.url, headers={"X-API-Key": server.info["api_key"]}, timeout=30)
        params = {"bbox": ",".join(map(str, BBOX)), "limit": "1000"}
        returned = matched = 0
        for _ in range(3):  # warm both paths
            body = client.get("/ogc/collections/events/items", params=params).json()
            returned, matched = body["numberReturned"], body["numberMatched"]
            run_bare()
        ogc_ms, bare_ms = [], []
        for _ in range(args.rounds):
            t1 = time.perf_counter()
            response = client.get("/ogc/collections/events/items", params=params)
            ogc_ms.append((time.perf_counter() - t1) * 1000)
            assert response.status_code == 200
            ms, rows = run_bare()
            bare_ms.append(ms)
        assert rows == returned
        engine.dispose()
        print(
            json.dumps(
                {
                    "benchmark": "ogc_features_events_bbox",
                    "database": "postgresql" if args.database_url else "sqlite",
                    "events": args.events,
                    "in_bbox": inside,
                    "number_matched": matched,
                    "features_returned": returned,
                    "rounds": args.rounds,
                    "fill_seconds": round(fill_s, 1),
                    "ogc_ms": {
                        "p50": pct(ogc_ms, 0.5),
                        "p95": pct(ogc_ms, 0.95),
                        "mean": round(statistics.mean(ogc_ms), 2),
                    },
                    "bare_sql_ms": {"p50": pct(bare_ms, 0.5), "p95": pct(bare_ms, 0.95)},
                    "ratio_p95": round(pct(ogc_ms, 0.95) / max(pct(bare_ms, 0.95), 0.01), 2),
                    "targets": {"p95_ms": 100},
                    "machine": machine(),
                },
                ensure_ascii=False,
            )
        )
    finally:
        server.close()
        data_dir.cleanup()


if __name__ == "__main__":
    main()
