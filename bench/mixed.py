"""A city's day in miniature: an open-loop mix of pages, APIs and device and citizen writes at a steady
rate, then twice the capacity and back down — per-kind latency, errors, server memory, shedding.

The platform runs as deployed, `yiwang serve` in its own process(es) with the full Changshu demo (loaded
on first start, which takes minutes; `--data-dir` keeps it for the next run). Logged-in sessions of a
citizen, a handler, a dispatcher, an administrator and a leader view pages of every domain; programs
search the catalog, read CKAN and DCAT, read SensorThings and post dataArray observations, post Open311
requests, submit onestop applications, page through the data API, refresh the cockpit.

Phases: warm-up (not counted); steady at `--rate` for `--seconds` (per-kind p50/p95/p99, errors, RSS
sampled after warm-up); a ramp to find the capacity (or `--capacity N`); `--overload-seconds` at twice
the capacity (goodput, error kinds: only 503 expected); `--recovery-seconds` at half of it (seconds
until p99 is back under 100 ms).

    # SQLite, one process (the embedded default):
    .venv/bin/python bench/mixed.py --data-dir var/bench-mixed
    # PostgreSQL, two uvicorn workers and a job worker:
    psql -h 127.0.0.1 -U postgres -c 'create database bench_mixed'
    .venv/bin/python bench/mixed.py --workers 2 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_mixed

Short development runs: `--seconds 30 --rate 50 --overload-seconds 20 --recovery-seconds 20`.
Prints one JSON line.
"""

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensing_common import machine, reset_postgres

from yiwang.demo.loader import DEMO_CLIENT_SECRET, DEMO_PASSWORD

ROLES = {
    "citizen": "zhangsan",
    "handler": "cgj_handler",
    "dispatcher": "ldz_dispatcher",
    "admin": "admin",
    "leader": "leader",
}
PAGES = {
    "citizen": ["/", "/onestop", "/onestop/me", "/cityops/mine", "/certs/wallet", "/opendata", "/cityops/report"],
    "handler": ["/workbench", "/onestop/tasks", "/cityops", "/catalog", "/exchange"],
    "dispatcher": ["/workbench", "/cityops", "/cityops/supervision", "/sensing", "/sensing/alarms"],
    "admin": ["/admin/users", "/admin/audit", "/catalog", "/governance", "/sensing/aqi", "/opendata/manage"],
    "leader": ["/brain", "/brain/cockpit", "/brain/indicators", "/brain/warnings", "/cityops/figures"],
}
# Share of each kind in the mix (they sum to 100); pages are split evenly between the five roles.
MIX = {
    "page": 30,
    "catalog_search": 8,
    "ckan": 8,
    "dcat": 4,
    "sta_read": 10,
    "sta_write": 8,
    "open311_post": 8,
    "onestop_apply": 4,
    "data_api": 6,
    "cockpit": 6,
    "opendata_rows": 8,
}
UPLOAD_KINDS = {"sta_write", "onestop_apply"}
SEARCH_WORDS = ["空气", "许可", "人口", "企业", "监测", "交通", "水质", "统计"]
REPORTS = ["小区门口垃圾桶满了好几天没人收", "路口红绿灯坏了一直闪黄灯", "楼下饭店油烟太大了", "河面上漂了很多垃圾"]
P99_TARGET_MS = 100.0


# ---------------------------------------------------------------- the server in its own process


class Server:
    """`yiwang serve` (and on PostgreSQL a `yiwang worker`) as separate processes, on a free port."""

    def __init__(self, *, data_dir: Path, database_url: str | None, workers: int, start_timeout: float) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "YIWANG_DATA_DIR": str(data_dir),
            "YIWANG_DEMO_ON_FIRST_START": "true",
            "YIWANG_DEMO_SIZE": "full",
            # The embedded default runs the jobs in `serve`; on PostgreSQL they run in the worker.
            "YIWANG_RUN_JOBS_IN_PROCESS": "false" if database_url else "true",
        }
        if database_url:
            env["YIWANG_DATABASE_URL"] = database_url
        self.log = open(data_dir / "bench-serve.log", "ab")  # noqa: SIM115 - lives as long as the server
        command = [sys.executable, "-m", "yiwang", "serve", "--port", str(self.port), "--workers", str(workers)]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.worker: subprocess.Popen[bytes] | None = None
        self._wait_until_ready(start_timeout)
        if database_url:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "yiwang", "worker"], env=env, stdout=self.log, stderr=subprocess.STDOUT
            )

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server ended with {self.process.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(1)
        raise RuntimeError("the server did not become ready in time")

    def rss_mb(self) -> float:
        """Resident memory of the server and its children (uvicorn's workers), in MB (Linux /proc)."""
        return round(sum(_rss_kb(pid) for pid in _process_tree(self.process.pid)) / 1024, 1)

    def cpu_seconds(self) -> float:
        return sum(_cpu_seconds(pid) for pid in _process_tree(self.process.pid))

    def close(self) -> None:
        for process in (self.worker, self.process):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.log.close()


def _process_tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                queue.extend(int(child) for child in children)
        except OSError:
            continue
    return pids


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- who calls what


@dataclass
class Fixture:
    """Everything the mix needs, discovered from the running platform before the clock starts."""

    sessions: dict[str, httpx.AsyncClient]
    api: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    catalog_codes: list[str]
    dataset_codes: list[str]
    datastreams: list[int]
    grants: list[int]
    onestop_item: dict[str, Any] | None
    open311_key: str
    open311_service: str
    counter: int = 0
    problems: list[str] = field(default_factory=list)


def _client(url: str, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(10.0), limits=limits)


async def _login(url: str, username: str) -> httpx.AsyncClient:
    """A browser-like session: the login form with its CSRF field, then the session cookie."""
    client = _client(url, 64)
    page = await client.get("/login", headers={"accept": "text/html"})
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"username": username, "password": DEMO_PASSWORD, "csrf_token": token, "next": "/"}
    response = await client.post("/login", data=form, headers={"accept": "text/html"})
    if response.status_code != 303:
        raise RuntimeError(f"login of {username} failed: {response.status_code}")
    return client


async def _bearer(api: httpx.AsyncClient, **form: str) -> dict[str, str]:
    response = await api.post("/api/auth/token", data=form)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def prepare(url: str) -> Fixture:
    api = _client(url, 256)
    sessions = {role: await _login(url, username) for role, username in ROLES.items()}
    headers = {
        name: await _bearer(api, grant_type="password", username=name, password=DEMO_PASSWORD)
        for name in ("admin", "leader", "hbj_steward", "zhangsan", "yushan_tech")
    }
    headers["exchange"] = await _bearer(
        api, grant_type="client_credentials", client_id="demo-exchange-client", client_secret=DEMO_CLIENT_SECRET
    )
    catalog = (await api.get("/api/catalog/entries", params={"size": 50}, headers=headers["admin"])).json()
    datasets = (await api.get("/api/3/action/package_list")).json().get("result", [])
    streams = (await api.get("/sta/v1.1/Datastreams", params={"$top": 50, "$select": "id"})).json()
    grants = (await api.get("/api/exchange/grants", headers=headers["exchange"])).json()
    key = (await api.post("/api/auth/api-keys", params={"label": "bench"}, headers=headers["zhangsan"])).json()
    open_key = (await api.post("/api/auth/api-keys", params={"label": "bench"}, headers=headers["yushan_tech"])).json()
    headers["open_key"] = {"X-API-Key": open_key["api_key"]}
    quota = (await api.get("/api/opendata/quota", headers=headers["open_key"])).json()
    await api.put(f"/api/opendata/limits/{quota['key']}", json={"per_minute": 100000}, headers=headers["admin"])
    services = (await api.get("/open311/v2/services.json")).json()
    fixture = Fixture(
        sessions=sessions,
        api=api,
        headers=headers,
        catalog_codes=[e["code"] for e in _items(catalog)],
        dataset_codes=list(datasets)[:50],
        datastreams=[s["@iot.id"] for s in streams.get("value", [])],
        grants=[g["id"] for g in _items(grants) if g.get("status", "active") == "active"],
        onestop_item=None,
        open311_key=key["api_key"],
        open311_service=services[0]["service_code"],
    )
    fixture.onestop_item = await _find_applicable_item(fixture)
    for name, values in (
        ("catalog entries", fixture.catalog_codes),
        ("open datasets", fixture.dataset_codes),
        ("datastreams", fixture.datastreams),
        ("sharing grants", fixture.grants),
    ):
        if not values:
            fixture.problems.append(f"no {name} in the demo")
    return fixture


def _items(body: Any) -> list[dict[str, Any]]:
    return body.get("items", []) if isinstance(body, dict) else body


async def _find_applicable_item(fixture: Fixture) -> dict[str, Any] | None:
    """An item a citizen can apply for with a form only (no uploads), as most applications start."""
    items = _items((await fixture.api.get("/api/onestop/items", params={"size": 100})).json())
    for item in items:
        body = {"item_code": item["code"], "consent": True, "form": {}}
        response = await fixture.api.post("/api/onestop/applications", json=body, headers=fixture.headers["zhangsan"])
        if response.status_code == 201:
            return body
        problems = response.json().get("error", {}).get("details")
        if response.status_code == 422 and isinstance(problems, list) and all("field" in p for p in problems):
            body["form"] = {p["field"]: _sample(p.get("message", "")) for p in problems}
            retry = await fixture.api.post("/api/onestop/applications", json=body, headers=fixture.headers["zhangsan"])
            if retry.status_code == 201:
                return body
    fixture.problems.append("no onestop item accepts an application without uploads")
    return None


def _sample(message: str) -> Any:
    return 1 if "数" in message else "压测"


# ---------------------------------------------------------------- the mix


Request = tuple[httpx.AsyncClient, str, str, dict[str, Any]]


def request_for(kind: str, fixture: Fixture, rnd: random.Random) -> tuple[str, Request]:
    """The (kind label, request) of one arrival of `kind`."""
    h = fixture.headers
    fixture.counter += 1
    n = fixture.counter
    if kind == "page":
        role = rnd.choice(list(ROLES))
        path = rnd.choice(PAGES[role])
        return f"page_{role}", (fixture.sessions[role], "GET", path, {"headers": {"accept": "text/html"}})
    if kind == "catalog_search":
        params = {"q": rnd.choice(SEARCH_WORDS), "size": 20}
        return kind, (fixture.api, "GET", "/api/catalog/entries", {"params": params, "headers": h["admin"]})
    if kind == "ckan":
        choice = rnd.random()
        if choice < 0.4 or not fixture.dataset_codes:
            params = {"q": rnd.choice(SEARCH_WORDS), "rows": 10}
            return kind, (fixture.api, "GET", "/api/3/action/package_search", {"params": params})
        if choice < 0.5:
            return kind, (fixture.api, "GET", "/api/3/action/package_list", {})
        params = {"id": rnd.choice(fixture.dataset_codes)}
        return kind, (fixture.api, "GET", "/api/3/action/package_show", {"params": params})
    if kind == "dcat":
        if rnd.random() < 0.2 or not fixture.dataset_codes:
            return kind, (fixture.api, "GET", rnd.choice(["/catalog.jsonld", "/catalog.ttl"]), {})
        return kind, (fixture.api, "GET", f"/dataset/{rnd.choice(fixture.dataset_codes)}.jsonld", {})
    if kind == "sta_read":
        stream = rnd.choice(fixture.datastreams)
        if rnd.random() < 0.3:
            return kind, (fixture.api, "GET", "/sta/v1.1/Things", {"params": {"$top": 20, "$expand": "Datastreams"}})
        params = {"$top": 50, "$orderby": "phenomenonTime desc"}
        return kind, (fixture.api, "GET", f"/sta/v1.1/Datastreams({stream})/Observations", {"params": params})
    if kind == "sta_write":
        now = datetime.now(UTC)
        body = [
            {
                "Datastream": {"@iot.id": rnd.choice(fixture.datastreams)},
                "components": ["phenomenonTime", "result"],
                "dataArray": [[now.isoformat(), round(rnd.uniform(10, 80), 1)]],
            }
        ]
        return kind, (fixture.api, "POST", "/sta/v1.1/CreateObservations", {"json": body, "headers": h["hbj_steward"]})
    if kind == "open311_post":
        form = {
            "api_key": fixture.open311_key,
            "service_code": fixture.open311_service,
            "lat": f"{31.60 + rnd.random() * 0.1:.5f}",
            "long": f"{120.68 + rnd.random() * 0.1:.5f}",
            "description": f"{rnd.choice(REPORTS)}（压测 {n}）",
        }
        return kind, (fixture.api, "POST", "/open311/v2/requests.json", {"data": form})
    if kind == "onestop_apply" and fixture.onestop_item:
        return kind, (
            fixture.api,
            "POST",
            "/api/onestop/applications",
            {"json": fixture.onestop_item, "headers": h["zhangsan"]},
        )
    if kind == "data_api" and fixture.grants:
        params = {"page": rnd.randint(1, 5), "size": 100}
        url = f"/api/exchange/data/{rnd.choice(fixture.grants)}"
        return kind, (fixture.api, "GET", url, {"params": params, "headers": h["exchange"]})
    if kind == "opendata_rows" and fixture.dataset_codes:
        url = f"/api/opendata/datasets/{rnd.choice(fixture.dataset_codes)}/rows"
        return kind, (fixture.api, "GET", url, {"params": {"page": 1, "size": 50}, "headers": h["open_key"]})
    if kind == "cockpit":
        return kind, (fixture.api, "GET", "/api/brain/cockpit", {"headers": h["leader"]})
    return "ckan", (fixture.api, "GET", "/api/3/action/package_list", {})


@dataclass
class Sample:
    kind: str
    sent: float  # seconds since the phase began
    status: int  # 0 when the request failed without an answer (time-out, connection)
    ms: float
    path: str


async def run_phase(
    fixture: Fixture, *, rate: float, seconds: float, seed: int, max_outstanding: int = 4000
) -> tuple[list[Sample], float]:
    """Open loop: one arrival every 1/rate s, whatever the answers; samples and the phase's length."""
    rnd = random.Random(seed)
    kinds, weights = list(MIX), list(MIX.values())
    samples: list[Sample] = []
    outstanding: set[asyncio.Task[None]] = set()
    began = time.perf_counter()

    async def one(kind: str, request: Request, sent: float) -> None:
        client, method, path, options = request
        t0 = time.perf_counter()
        try:
            response = await client.request(method, path, **options)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        samples.append(Sample(kind, sent, status, (time.perf_counter() - t0) * 1000, path))

    total = int(rate * seconds)
    skipped = 0
    for i in range(total):
        due = began + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(outstanding) >= max_outstanding:
            skipped += 1  # the generator's own bound; counted as errors below
            samples.append(Sample("generator_backlog", i / rate, 0, 0.0, ""))
            continue
        label, request = request_for(rnd.choices(kinds, weights)[0], fixture, rnd)
        task = asyncio.create_task(one(label, request, i / rate))
        outstanding.add(task)
        task.add_done_callback(outstanding.discard)
    if outstanding:
        await asyncio.wait(outstanding, timeout=15)
    return samples, time.perf_counter() - began


# ---------------------------------------------------------------- figures


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 1)


def ok(sample: Sample) -> bool:
    return 200 <= sample.status < 400


def per_kind(samples: list[Sample]) -> dict[str, dict[str, Any]]:
    grouped: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        grouped[sample.kind].append(sample)
    figures = {}
    for kind, group in sorted(grouped.items()):
        good = [s.ms for s in group if ok(s)]
        errors = Counter(str(s.status) for s in group if not ok(s))
        figures[kind] = {
            "n": len(group),
            "p50": pct(good, 0.5),
            "p95": pct(good, 0.95),
            "p99": pct(good, 0.99),
            "errors": dict(errors),
        }
    return figures


def slowest_paths(samples: list[Sample], count: int = 5) -> list[dict[str, Any]]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        if ok(sample):
            grouped[sample.path].append(sample.ms)
    ranked = sorted(((pct(v, 0.99), path, len(v)) for path, v in grouped.items() if len(v) >= 20), reverse=True)
    return [{"path": path, "p99": p99, "n": n} for p99, path, n in ranked[:count]]


def error_examples(samples: list[Sample]) -> dict[str, str]:
    examples: dict[str, str] = {}
    for sample in samples:
        if not ok(sample):
            examples.setdefault(f"{sample.kind}:{sample.status}", sample.path)
    return dict(list(examples.items())[:10])


def goodput(samples: list[Sample], seconds: float) -> float:
    return round(sum(1 for s in samples if ok(s)) / seconds, 1)


def seconds_until_p99_under(samples: list[Sample], target_ms: float, window: float = 1.0) -> float | None:
    """Seconds after the phase began from which every one-second window's p99 stays under the target."""
    windows: dict[int, list[float]] = defaultdict(list)
    for sample in samples:
        windows[int(sample.sent // window)].append(sample.ms if ok(sample) else float("inf"))
    recovered_from = None
    for index in sorted(windows):
        if pct(windows[index], 0.99) < target_ms:
            recovered_from = index if recovered_from is None else recovered_from
        else:
            recovered_from = None
    return None if recovered_from is None else recovered_from * window


async def find_capacity(fixture: Fixture, *, start: float, step_seconds: float) -> tuple[float, list[dict[str, Any]]]:
    """Raise the offered rate by half each step until requests are shed or slow; the best clean goodput."""
    rate, best, steps = start, 0.0, []
    for step in range(12):
        samples, elapsed = await run_phase(fixture, rate=rate, seconds=step_seconds, seed=1000 + step)
        good = goodput(samples, elapsed)
        failed = sum(1 for s in samples if not ok(s)) / max(len(samples), 1)
        p99 = pct([s.ms for s in samples if ok(s)], 0.99)
        steps.append({"offered": round(rate, 1), "goodput": good, "failed": round(failed, 3), "p99": p99})
        if failed > 0.01 or p99 > 1000:
            best = max(best, good)
            break
        best = max(best, good)
        rate *= 1.5
    return best, steps


# ---------------------------------------------------------------- main


async def measure(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    fixture = await prepare(server.url)
    rss: dict[str, Any] = {}
    await run_phase(fixture, rate=args.rate, seconds=args.warmup_seconds, seed=1)
    rss["after_warmup_mb"] = server.rss_mb()
    cpu_before, client_cpu_before = server.cpu_seconds(), time.process_time()
    sampler = asyncio.create_task(_sample_rss(server, rss.setdefault("samples_mb", []), every=30))
    steady, steady_seconds = await run_phase(fixture, rate=args.rate, seconds=args.seconds, seed=2)
    sampler.cancel()
    rss["end_mb"] = server.rss_mb()
    rss["growth"] = round(rss["end_mb"] / rss["after_warmup_mb"] - 1, 3)
    requests = max(len(steady), 1)
    result: dict[str, Any] = {
        "fixture_problems": fixture.problems,
        "steady": {
            "rate_per_s": args.rate,
            "seconds": round(steady_seconds, 1),
            "requests": len(steady),
            "goodput_per_s": goodput(steady, steady_seconds),
            "errors": sum(1 for s in steady if not ok(s)),
            "error_examples": error_examples(steady),
            "kinds": per_kind(steady),
            "slowest_paths": slowest_paths(steady),
            "server_cpu_ms_per_request": round((server.cpu_seconds() - cpu_before) / requests * 1000, 2),
            "client_cpu_ms_per_request": round((time.process_time() - client_cpu_before) / requests * 1000, 2),
        },
        "rss": rss,
    }
    if args.overload_seconds > 0:
        result["overload"] = await _overload(args, fixture)
    for client in [fixture.api, *fixture.sessions.values()]:
        await client.aclose()
    return result


async def _overload(args: argparse.Namespace, fixture: Fixture) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    capacity = args.capacity
    if not capacity:
        capacity, steps = await find_capacity(fixture, start=args.rate, step_seconds=args.ramp_step_seconds)
    over, over_seconds = await run_phase(fixture, rate=2 * capacity, seconds=args.overload_seconds, seed=3)
    under, under_seconds = await run_phase(fixture, rate=capacity / 2, seconds=args.recovery_seconds, seed=4)
    over_good = goodput(over, over_seconds)
    return {
        "capacity_per_s": capacity,
        "ramp": steps,
        "at_twice_capacity": {
            "offered_per_s": round(2 * capacity, 1),
            "goodput_per_s": over_good,
            "goodput_vs_capacity": round(over_good / capacity, 3),
            "errors": dict(Counter(str(s.status) for s in over if not ok(s))),
            "p99_admitted_ms": pct([s.ms for s in over if ok(s)], 0.99),
            "p99_rejected_ms": pct([s.ms for s in over if s.status == 503], 0.99),
        },
        "at_half_capacity": {
            "offered_per_s": round(capacity / 2, 1),
            "goodput_per_s": goodput(under, under_seconds),
            "errors": dict(Counter(str(s.status) for s in under if not ok(s))),
            "p99_ms": pct([s.ms for s in under if ok(s)], 0.99),
            "seconds_until_p99_under_100ms": seconds_until_p99_under(under, P99_TARGET_MS),
        },
    }


async def _sample_rss(server: Server, into: list[float], *, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        into.append(server.rss_mb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600, help="steady phase length")
    parser.add_argument("--rate", type=float, default=200, help="steady offered rate, requests/s")
    parser.add_argument("--warmup-seconds", type=float, default=30)
    parser.add_argument("--capacity", type=float, default=0, help="skip the ramp: capacity in requests/s")
    parser.add_argument("--ramp-step-seconds", type=float, default=15)
    parser.add_argument("--overload-seconds", type=float, default=120, help="0 skips the overload phases")
    parser.add_argument("--recovery-seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (PostgreSQL)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL of a database of the benchmark's own")
    parser.add_argument("--data-dir", default=None, help="kept between runs: the demo loads only once")
    parser.add_argument("--reset", action="store_true", help="empty the PostgreSQL database first")
    parser.add_argument("--start-timeout", type=float, default=3600, help="seconds to wait for the demo to load")
    args = parser.parse_args()
    if args.database_url and args.reset:
        reset_postgres(args.database_url)
    temporary = None if args.data_dir else tempfile.TemporaryDirectory(prefix="yiwang-mixed-")
    data_dir = Path(args.data_dir or temporary.name).resolve()  # type: ignore[union-attr]
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    server = Server(
        data_dir=data_dir, database_url=args.database_url, workers=args.workers, start_timeout=args.start_timeout
    )
    try:
        startup_seconds = round(time.perf_counter() - started, 1)
        result = asyncio.run(measure(args, server))
    finally:
        server.close()
        if temporary:
            temporary.cleanup()
    print(
        json.dumps(
            {
                "benchmark": "mixed",
                "database": "postgresql" if args.database_url else "sqlite",
                "workers": args.workers,
                "startup_seconds": startup_seconds,
                **result,
                "targets": {
                    "errors": 0,
                    "p99_ms_except_uploads": P99_TARGET_MS,
                    "upload_kinds": sorted(UPLOAD_KINDS),
                    "rss_growth_max": 0.10,
                    "goodput_vs_capacity_min": 0.9,
                    "recovery_seconds_max": 10,
                },
                "machine": machine(),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
