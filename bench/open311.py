"""Open311 POST requests.json latency at a fixed rate: p50/p95/p99 vs GET /healthz at the same rate, same run.

.venv/bin/python bench/open311.py [--seconds 60] [--rate 100] [--database-url ...]
"""

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensing_common import Platform, machine

TEXTS = [
    "小区门口垃圾桶满了好几天没人收",
    "路口红绿灯坏了一直闪黄灯",
    "楼下饭店油烟太大了",
    "河面上漂了很多垃圾",
    "晚上工地还在施工吵得睡不着",
    "有车长期停在人行道上",
]


def run_at_rate(send, rate: float, seconds: float) -> tuple[list[float], int]:
    """Fire `send` at a fixed rate from a small pool; latencies in ms, and the number of failures."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    local = threading.local()

    def one(i: int) -> None:
        nonlocal failures
        if not hasattr(local, "client"):
            local.client = None
        t0 = time.perf_counter()
        ok = send(i, local)
        elapsed = (time.perf_counter() - t0) * 1000
        with lock:
            latencies.append(elapsed)
            failures += 0 if ok else 1

    total = int(rate * seconds)
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for i in range(total):
            wait = began + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            pool.submit(one, i)
    return latencies, failures


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    bench = Platform(args.database_url, packages=("yiwang.org", "yiwang.cityops"))
    try:
        from yiwang.org import accounts, auth

        with bench.runtime.db.unit_of_work() as db:
            user = accounts.get_user_by_username(db, username="zhangsan")
            key, _ = auth.issue_api_key(
                db, actor=bench_actor(), user=user, settings=bench.runtime.settings, label="bench"
            )
        url = bench.url

        def client_for(local) -> httpx.Client:
            if local.client is None:
                local.client = httpx.Client(base_url=url, timeout=10)
            return local.client

        def post(i: int, local) -> bool:
            response = client_for(local).post(
                "/open311/v2/requests.json",
                data={
                    "api_key": key,
                    "service_code": "CG01",
                    "lat": "31.66",
                    "long": "120.74",
                    "description": TEXTS[i % len(TEXTS)] + f"（压测 {i}）",
                },
            )
            return response.status_code == 201

        def health(i: int, local) -> bool:
            return client_for(local).get("/healthz").status_code == 200

        base_lat, base_fail = run_at_rate(health, args.rate, min(args.seconds, 10))
        lat, fail = run_at_rate(post, args.rate, args.seconds)
        print(
            json.dumps(
                {
                    "benchmark": "open311",
                    "database": "sqlite" if bench.runtime.db.is_sqlite else "postgresql",
                    "rate_per_s": args.rate,
                    "seconds": args.seconds,
                    "requests": len(lat),
                    "failures": fail,
                    "post_ms": {
                        "p50": pct(lat, 0.5),
                        "p95": pct(lat, 0.95),
                        "p99": pct(lat, 0.99),
                        "max": round(max(lat), 2),
                        "mean": round(statistics.mean(lat), 2),
                    },
                    "baseline_healthz_ms": {
                        "p50": pct(base_lat, 0.5),
                        "p99": pct(base_lat, 0.99),
                        "failures": base_fail,
                    },
                    "ratio_p99": round(pct(lat, 0.99) / max(pct(base_lat, 0.99), 0.01), 2),
                    "targets": {"p99_ms": 50},
                    "machine": machine(),
                },
                ensure_ascii=False,
            )
        )
    finally:
        bench.close()


def bench_actor():
    from yiwang.core.security import Principal

    return Principal(user_id=None, username="system:bench", display_name="压测", kind="system")


if __name__ == "__main__":
    main()
