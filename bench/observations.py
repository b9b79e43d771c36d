"""HTTP CreateObservations (dataArray) ingest rate vs a bare executemany of the same rows, same table, same run.

.venv/bin/python bench/observations.py [--total 300000] [--batch 10000] [--database-url postgresql+psycopg://...]
"""

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensing_common import Platform, machine

MEASURE = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def make_streams(client: httpx.Client, n: int) -> list[int]:
    body = {
        "name": "bench-station",
        "description": "benchmark",
        "properties": {"kind": "bench"},
        "Datastreams": [
            {
                "name": f"bench-{i}",
                "description": "x",
                "observationType": MEASURE,
                "unitOfMeasurement": {"name": "u", "symbol": "u", "definition": ""},
                "Sensor": {"name": "s", "description": "s", "encodingType": "text/html", "metadata": "m"},
                "ObservedProperty": {"name": "p", "definition": "urn:p", "description": "p"},
            }
            for i in range(n)
        ],
    }
    thing = client.post("/sta/v1.1/Things", json=body).json()["@iot.id"]
    value = client.get(f"/sta/v1.1/Things({thing})/Datastreams?$top=1000&$orderby=id").json()["value"]
    return [d["@iot.id"] for d in value]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    bench = Platform(args.database_url, packages=("yiwang.org", "yiwang.sensing"))
    try:
        client = httpx.Client(
            base_url=bench.url, headers={"Authorization": f"Bearer {bench.token('hbj_steward')}"}, timeout=120
        )
        streams = make_streams(client, 20)
        half = len(streams) // 2
        http_streams, bare_streams = streams[:half], streams[half:]
        start = datetime(2025, 1, 1, tzinfo=UTC)
        per_stream = args.batch // half
        batches = args.total // args.batch
        bodies, bare_rows = [], []
        for b in range(batches):
            times = [start + timedelta(seconds=(b * per_stream + i) * 60) for i in range(per_stream)]
            stamps = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]
            bodies.append(
                json.dumps(
                    [
                        {
                            "Datastream": {"@iot.id": ds},
                            "components": ["phenomenonTime", "result"],
                            "dataArray": [[s, 20.0 + (i % 50) * 0.5] for i, s in enumerate(stamps)],
                        }
                        for ds in http_streams
                    ]
                ).encode()
            )
            sqlite = bench.runtime.db.is_sqlite
            db_times = [
                t.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else t.replace(tzinfo=None)
                for t in times
            ]
            bare_rows.append(
                [
                    (ds, db_times[i], None, 20.0 + (i % 50) * 0.5, None, None, None, None)
                    for ds in bare_streams
                    for i in range(per_stream)
                ]
            )
        # bare executemany of the same rows into the same table, one transaction per batch
        from yiwang.sensing.ingest import INSERT_COLUMNS

        marker = "?" if bench.runtime.db.is_sqlite else "%s"
        sql = f"INSERT INTO sensing_observation ({INSERT_COLUMNS}) VALUES ({', '.join([marker] * 8)})"
        raw = bench.runtime.db.engine.raw_connection()
        t0 = time.perf_counter()
        for rows in bare_rows:
            cursor = raw.cursor()
            if bench.runtime.db.is_sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(sql, rows)
            raw.commit()
            cursor.close()
        bare_seconds = time.perf_counter() - t0
        raw.close()
        accepted = 0
        t0 = time.perf_counter()
        for body in bodies:
            response = client.post(
                "/sta/v1.1/CreateObservations", content=body, headers={"content-type": "application/json"}
            )
            response.raise_for_status()
            accepted += sum(1 for link in response.json() if link != "error")
        http_seconds = time.perf_counter() - t0
        total = batches * per_stream * half
        http_rate, bare_rate = accepted / http_seconds, total / bare_seconds
        print(
            json.dumps(
                {
                    "benchmark": "observations",
                    "database": "sqlite" if bench.runtime.db.is_sqlite else "postgresql",
                    "observations": total,
                    "accepted": accepted,
                    "batch": per_stream * half,
                    "http_create_observations_per_s": round(http_rate),
                    "bare_executemany_per_s": round(bare_rate),
                    "ratio": round(http_rate / bare_rate, 3),
                    "targets": {"per_s": 50000, "ratio": 0.5},
                    "machine": machine(),
                },
                ensure_ascii=False,
            )
        )
    finally:
        bench.close()


if __name__ == "__main__":
    main()
