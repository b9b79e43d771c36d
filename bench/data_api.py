"""Data API throughput: a 100,000-row paged read of a sharing grant with masking (name, ID number,
mobile, birth date → year), through HTTP with the consumer's client token, against the same-run
baseline of reading the same Parquet snapshot with DuckDB into Polars (no masking, no HTTP).

    .venv/bin/python bench/data_api.py [--rows 100000] [--page-size 5000]
"""

import argparse
import hashlib
import io
import json
import os
import platform as platform_info
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
from data_setup import platform
from ingest import ITEMS, person_frame

from yiwang.catalog import demo
from yiwang.catalog import service as catalog_service
from yiwang.catalog.schemas import EntryCreate
from yiwang.core.timeutil import local_today
from yiwang.demo.loader import DEMO_CLIENT_SECRET
from yiwang.exchange import service as exchange_service
from yiwang.exchange.schemas import ApplicationCreate
from yiwang.governance import service as governance_service
from yiwang.org import service as org_service


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, client = platform(Path(tmp))
        runtime = app.state.runtime
        actor = demo.demo_actor()
        data = EntryCreate(
            name="人员信息（基准）", department_code="GAJ", items=ITEMS, sharing_type="无条件共享", data_grade="3"
        )
        with runtime.db.unit_of_work() as db:
            catalog_service.bulk_load(db, actor=actor, entries=[("GAJ-00001", data)], publish=True)
        buffer = io.BytesIO()
        person_frame(args.rows, invalid_share=0.0).write_csv(buffer)
        with runtime.db.unit_of_work() as db:
            version = governance_service.ingest(
                db,
                actor=actor,
                data_dir=runtime.settings.data_dir,
                entry_code="GAJ-00001",
                content=buffer.getvalue(),
                filename="persons.csv",
            )
            dsj = org_service.get_department_by_code(db, code="DSJ")
        consumer = actor.__class__(
            **{**actor.__dict__, "department_id": dsj.id, "scope_department_ids": frozenset({dsj.id})}
        )
        fields = ["person_id", "name", "id_number", "gender", "birth_date", "mobile", "division_code", "household_size"]
        with runtime.db.unit_of_work() as db:
            application = exchange_service.apply(
                db,
                actor=consumer,
                data=ApplicationCreate(
                    entry_code="GAJ-00001",
                    fields=fields,
                    purpose="基准测试",
                    period_end=local_today() + timedelta(days=30),
                ),
            )
        token = client.post(
            "/api/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "demo-exchange-client",
                "client_secret": DEMO_CLIENT_SECRET,
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        pages = -(-version.rows_out // args.page_size)
        started = time.perf_counter()
        received, verified = 0, True
        for page in range(1, pages + 1):
            response = client.get(
                f"/api/exchange/data/{application.grant_id}",
                params={"page": page, "size": args.page_size},
                headers=headers,
            )
            response.raise_for_status()
            verified &= hashlib.sha256(response.content).hexdigest() == response.headers["x-content-sha256"]
            received += len(response.json()["rows"])
        api_seconds = time.perf_counter() - started
        sample = client.get(f"/api/exchange/data/{application.grant_id}", params={"size": 1}, headers=headers).json()
        parquet = next((runtime.settings.data_dir / "governance" / "GAJ-00001").glob("*/data.parquet"))
        started = time.perf_counter()
        columns = ", ".join(fields)
        with duckdb.connect() as con:
            for page in range(pages):
                pl.from_arrow(
                    con.sql(
                        f"SELECT {columns} FROM read_parquet('{parquet}') LIMIT {args.page_size} "
                        f"OFFSET {page * args.page_size}"
                    ).to_arrow_table()
                )
        bare_seconds = time.perf_counter() - started
        print(
            json.dumps(
                {
                    "benchmark": "data_api",
                    "rows": received,
                    "page_size": args.page_size,
                    "pages": pages,
                    "fields": len(fields),
                    "masked_fields": ["name", "id_number", "birth_date", "mobile"],
                    "api_seconds": round(api_seconds, 3),
                    "rows_per_second": round(received / api_seconds),
                    "baseline_duckdb_read_seconds": round(bare_seconds, 3),
                    "baseline_rows_per_second": round(received / bare_seconds),
                    "ratio_to_baseline": round(api_seconds / bare_seconds, 2),
                    "sha256_headers_verified": verified,
                    "sample_row": sample["rows"][0],
                    "database": runtime.db.engine.dialect.name,
                    "platform": platform_info.platform(),
                    "cpu_count": os.cpu_count(),
                },
                ensure_ascii=False,
            )
        )


if __name__ == "__main__":
    main()
