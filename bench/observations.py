"""HTTP CreateObservations (dataArray) ingest rate vs a bare executemany of the same rows, same table, same run.

The baseline is the simplest thing: `executemany` of a plain INSERT of the rows as stored (all eight value
columns, the FeatureOfInterest the server assigns included), one transaction per batch. The two are
interleaved batch by batch, so a change in the load of the shared machine hits both alike.

.venv/bin/python bench/observations.py [--total 300000] [--batch 10000] [--database-url postgresql+psycopg://...]
"""

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensing_common import Platform, machine

MEASURE = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def make_streams(client: httpx.Client, n: int, *, located: bool = True) -> list[int]:
    """A station with n datastreams (and a Location, so observations get a generated FeatureOfInterest)."""
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
    if located:
        body["Locations"] = [
            {
                "name": "bench-site",
                "description": "benchmark site",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [120.75, 31.65]},
            }
        ]
    response = client.post("/sta/v1.1/Things", json=body)
    response.raise_for_status()
    thing = response.json()["@iot.id"]
    value = client.get(f"/sta/v1.1/Things({thing})/Datastreams?$top=1000&$orderby=id").json()["value"]
    return [d["@iot.id"] for d in value]


def feature_of(bench: Platform, datastream: int) -> int | None:
    """The FeatureOfInterest the server gives this datastream's observations (generated here if need be)."""
    from yiwang.sensing import ingest

    with bench.runtime.db.unit_of_work() as db:
        return ingest.stream_info(db, {datastream})[datastream].feature_id


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
        feature = feature_of(bench, bare_streams[0])
        sqlite = bench.runtime.db.is_sqlite
        start = datetime(2025, 1, 1, tzinfo=UTC)
        per_stream = args.batch // half
        batches = args.total // args.batch
        bodies, bare_rows = [], []
        for b in range(batches):
            times = [start + timedelta(seconds=(b * per_stream + i) * 60) for i in range(per_stream)]
            stamps = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]
            values = [20.0 + (i % 50) * 0.5 for i in range(per_stream)]
            bodies.append(
                json.dumps(
                    [
                        {
                            "Datastream": {"@iot.id": ds},
                            "components": ["phenomenonTime", "result"],
                            "dataArray": [[s, v] for s, v in zip(stamps, values, strict=True)],
                        }
                        for ds in http_streams
                    ]
                ).encode()
            )
            db_times = [
                t.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else t.replace(tzinfo=None)
                for t in times
            ]
            bare_rows.append(
                [
                    (ds, db_times[i], None, values[i], None, None, None, feature)
                    for ds in bare_streams
                    for i in range(per_stream)
                ]
            )
        from yiwang.sensing.bulk import INSERT_COLUMNS

        marker = "?" if sqlite else "%s"
        sql = f"INSERT INTO sensing_observation ({INSERT_COLUMNS}) VALUES ({', '.join([marker] * 8)})"
        headers = {"content-type": "application/json"}
        bare_seconds = http_seconds = 0.0
        accepted = 0
        for rows, body in zip(bare_rows, bodies, strict=True):
            raw = bench.runtime.db.engine.raw_connection()  # the server's pool, its settings; returned below
            t0 = time.perf_counter()
            cursor = raw.cursor()
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(sql, rows)
            raw.commit()
            cursor.close()
            t1 = time.perf_counter()
            raw.close()
            response = client.post("/sta/v1.1/CreateObservations", content=body, headers=headers)
            response.raise_for_status()
            accepted += sum(1 for link in orjson.loads(response.content) if link != "error")
            t2 = time.perf_counter()
            bare_seconds += t1 - t0
            http_seconds += t2 - t1
        with bench.runtime.db.unit_of_work() as db:
            from sqlalchemy import func, select

            from yiwang.sensing import models as m

            with_feature = db.execute(
                select(func.count()).where(
                    m.Observation.datastream_id.in_(http_streams), m.Observation.feature_of_interest_id == feature
                )
            ).scalar_one()
        total = batches * per_stream * half
        http_rate, bare_rate = accepted / http_seconds, total / bare_seconds
        print(
            json.dumps(
                {
                    "benchmark": "observations",
                    "database": "sqlite" if sqlite else "postgresql",
                    "observations": total,
                    "accepted": accepted,
                    "batch": per_stream * half,
                    "feature_of_interest": feature,
                    "http_rows_with_that_feature": with_feature,
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
