"""Open311 POST requests.json latency at a fixed rate: p50/p95/p99 vs GET /healthz at the same rate, same run.

The platform runs in its own process (as deployed, one uvicorn worker); the load comes from this one.

.venv/bin/python bench/open311.py [--seconds 60] [--rate 100] [--database-url ...]
"""

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensing_common import machine, reset_postgres
from server_process import ServerProcess

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
    if args.database_url:
        reset_postgres(args.database_url)
    data_dir = tempfile.TemporaryDirectory(prefix="yiwang-bench-")
    server = ServerProcess(
        data_dir.name,
        packages=("yiwang.org", "yiwang.cityops"),
        database_url=args.database_url,
        api_key_for="zhangsan",
    )
    try:
        key, url = server.info["api_key"], server.url

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
        cpu_before = server.cpu_seconds()
        lat, fail = run_at_rate(post, args.rate, args.seconds)
        cpu_per_post_ms = (server.cpu_seconds() - cpu_before) / max(len(lat), 1) * 1000
        print(
            json.dumps(
                {
                    "benchmark": "open311",
                    "database": "postgresql" if args.database_url else "sqlite",
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
                    "server_cpu_ms_per_post": round(cpu_per_post_ms, 2),
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
        server.close()
        data_dir.cleanup()


if __name__ == "__main__":
    main()
