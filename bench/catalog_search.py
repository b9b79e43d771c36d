"""Catalog search at 10,000 entries through the API: p50/p95 per query (target p95 ≤ 30 ms), with the
same-run baselines of a trivial authenticated API call and of the bare SQL LIKE count.

    .venv/bin/python bench/catalog_search.py [--entries 10000] [--queries 300]
"""

import argparse
import json
import os
import platform as platform_info
import statistics
import tempfile
import time
from pathlib import Path

from data_setup import bearer, platform
from sqlalchemy import func, select

from yiwang.catalog import demo, service
from yiwang.catalog.models import CatalogEntry
from yiwang.catalog.schemas import EntryCreate

QUERIES = [
    {"q": "空气"},
    {"q": "许可"},
    {"q": "人口"},
    {"q": "统计", "department": "SPJ"},
    {"q": "监测数据"},
    {"q": "企业 名录"},
    {"sharing_type": "无条件共享"},
    {"q": "信用", "open_type": "无条件开放"},
    {"q": "不存在的词"},
    {"category": "基础信息资源", "page": 3},
]


def entries(count: int) -> list[tuple[str, EntryCreate]]:
    """The demo generator's entries, repeated with numbered names until there are `count`."""
    base = demo.entries("full")
    found, numbers = [], {}
    round_no = 0
    while len(found) < count:
        for code, data in base:
            if len(found) >= count:
                break
            department = code.rsplit("-", 1)[0]
            numbers[department] = numbers.get(department, 0) + 1
            name = data.name if round_no == 0 else f"{data.name}（{round_no + 1}）"
            found.append((f"{department}-{numbers[department]:05d}", data.model_copy(update={"name": name})))
        round_no += 1
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, client = platform(Path(tmp))
        runtime = app.state.runtime
        started = time.perf_counter()
        with runtime.db.unit_of_work() as db:
            service.bulk_load(db, actor=demo.demo_actor(), entries=entries(args.entries), publish=True)
        load_seconds = time.perf_counter() - started
        headers = bearer(client, "cgj_handler")
        for query in QUERIES:  # warm up
            client.get("/api/catalog/entries", params=query, headers=headers).raise_for_status()
        timings, totals = [], {}
        for n in range(args.queries):
            query = QUERIES[n % len(QUERIES)]
            started = time.perf_counter()
            response = client.get("/api/catalog/entries", params=query, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            totals[json.dumps(query, ensure_ascii=False)] = response.json()["total"]
        trivial = []
        for _ in range(args.queries):
            started = time.perf_counter()
            client.get("/api/auth/me", headers=headers).raise_for_status()
            trivial.append((time.perf_counter() - started) * 1000)
        bare = []
        with runtime.db.unit_of_work() as db:
            for _ in range(args.queries):
                started = time.perf_counter()
                like = CatalogEntry.search_text.contains("空气")
                db.execute(select(func.count()).where(like, CatalogEntry.status == "published")).scalar_one()
                bare.append((time.perf_counter() - started) * 1000)
        with runtime.db.unit_of_work() as db:
            stored = db.execute(select(func.count()).select_from(CatalogEntry)).scalar_one()
        print(
            json.dumps(
                {
                    "benchmark": "catalog_search",
                    "entries": stored,
                    "queries": args.queries,
                    "database": runtime.db.engine.dialect.name,
                    "load_seconds": round(load_seconds, 2),
                    "p50_ms": round(statistics.median(timings), 2),
                    "p95_ms": round(percentile(timings, 0.95), 2),
                    "max_ms": round(max(timings), 2),
                    "target_p95_ms": 30,
                    "baseline_trivial_api_p50_ms": round(statistics.median(trivial), 2),
                    "baseline_bare_like_count_p50_ms": round(statistics.median(bare), 2),
                    "ratio_p50_to_trivial_api": round(statistics.median(timings) / statistics.median(trivial), 2),
                    "matches": totals,
                    "platform": platform_info.platform(),
                    "cpu_count": os.cpu_count(),
                },
                ensure_ascii=False,
            )
        )


if __name__ == "__main__":
    main()
