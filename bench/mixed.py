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
    # PostgreSQL, two uvicorn workers and a job worker (the database's own, never `test`):
    psql -h 127.0.0.1 -U postgres -c 'create database bench_mixed'
    .venv/bin/python bench/mixed.py --workers 2 --data-dir var/bench-mixed-pg \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_mixed

The data directory holds the field-encryption key the demo's personal data was written with: keep it
with its database, and pass `--reset` (empties the PostgreSQL database) when starting over with a new
one. `--skip ckan,dcat` leaves kinds out of the mix (to tell which one a failure comes from).

Short development runs: `--seconds 30 --rate 10 --warmup-seconds 10 --ramp-step-seconds 10
--overload-seconds 20 --recovery-seconds 20`.
Prints one JSON line.
"""

import argparse
import asyncio
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensing_common import machine, reset_postgres

from yiwang.demo.loader import DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_TOTP_SECRET
from yiwang.org import totp

ROLES = {
    "citizen": "zhangsan",
    "handler": "cgj_handler",
    "dispatcher": "ldz_dispatcher",
    "admin": "admin",
    "leader": "leader",
}
PAGES = {
    "citizen": ["/", "/onestop", "/onestop/me", "/cityops/mine", "/certs/wallet", "/opendata", "/cityops/report"],
    "handler": ["/workbench", "/onestop/tasks", "/cityops", "/catalog", "/cityops/mine"],
    "dispatcher": ["/workbench", "/cityops", "/cityops/supervision", "/sensing", "/sensing/alarms"],
    "admin": ["/admin/users", "/admin/roles", "/catalog", "/governance", "/sensing/aqi", "/opendata/manage"],
    "leader": ["/brain", "/brain/cockpit", "/brain/indicators", "/brain/warnings", "/cityops/figures"],
}
# Share of each kind in the mix (in per cent); pages are split evenly between the five roles.
MIX = {
    "page": 30,
    "catalog_search": 8,
    "ckan": 8,
    "dcat": 4,
    # Harvesters fetch the whole catalog a few times a day, not with every visit: a small share.
    "dcat_catalog": 0.05,
    "sta_read": 10,
    "sta_write": 8,
    "open311_post": 8,
    "onestop": 4,  # an upload, then the application
    "data_api": 6,
    "cockpit": 6,
    "opendata_rows": 8,
}
UPLOAD_KINDS = {"onestop_upload"}
SEARCH_WORDS = ["空气", "许可", "人口", "企业", "监测", "交通", "水质", "统计"]
REPORTS = ["小区门口垃圾桶满了好几天没人收", "路口红绿灯坏了一直闪黄灯", "楼下饭店油烟太大了", "河面上漂了很多垃圾"]
P99_TARGET_MS = 100.0
REQUEST_TIMEOUT = 10.0  # seconds; an answer later than this counts as an error (ReadTimeout)
SETUP_TIMEOUT = 120.0  # the first requests after start may wait for start-up work


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
            "YIWANG_DEMO": "true",  # the demo's published passwords exist only in demo mode
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
    skip: frozenset[str] = frozenset()
    problems: list[str] = field(default_factory=list)


def _client(
    url: str, connections: int, transport: httpx.AsyncBaseTransport | None = None, timeout: float = REQUEST_TIMEOUT
) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, transport=transport)


_STEPS_USED: dict[tuple[str, str], int] = {}


def _demo_code(url: str, username: str) -> str:
    """A code of the demo administrators' published TOTP secret for a step not used yet on this server
    (each step is accepted once per account); waits for the next step when both are spent."""
    while True:
        step = int(time.time()) // totp.PERIOD_SECONDS
        for candidate in (step, step + 1):
            if candidate > _STEPS_USED.get((url, username), -1):
                _STEPS_USED[(url, username)] = candidate
                return totp.code_at(DEMO_TOTP_SECRET, datetime.fromtimestamp(candidate * totp.PERIOD_SECONDS, UTC))
        time.sleep(totp.PERIOD_SECONDS - time.time() % totp.PERIOD_SECONDS + 0.05)


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


async def _login(url: str, username: str) -> httpx.AsyncClient:
    """A browser-like session: the login form with its CSRF field (and the second step for the
    administrators, who log in with a code), then the session cookie."""
    client = _client(url, 64)
    page = await client.get("/login", headers={"accept": "text/html"}, timeout=SETUP_TIMEOUT)
    form = {"username": username, "password": DEMO_PASSWORD, "csrf_token": _csrf(page.text), "next": "/"}
    response = await client.post("/login", data=form, headers={"accept": "text/html"}, timeout=SETUP_TIMEOUT)
    if response.status_code == 303 and response.headers["location"] == "/login/second-factor":
        step = await client.get("/login/second-factor", headers={"accept": "text/html"}, timeout=SETUP_TIMEOUT)
        form = {"code": _demo_code(url, username), "csrf_token": _csrf(step.text)}
        response = await client.post(
            "/login/second-factor", data=form, headers={"accept": "text/html"}, timeout=SETUP_TIMEOUT
        )
    if response.status_code != 303:
        raise RuntimeError(f"login of {username} failed: {response.status_code}")
    return client


async def _bearer(api: httpx.AsyncClient, **form: str) -> dict[str, str]:
    response = await api.post("/api/auth/token", data=form)
    if response.status_code == 401 and response.json()["error"]["code"] == "mfa_required":
        form["otp"] = _demo_code(str(api.base_url).rstrip("/"), form["username"])
        response = await api.post("/api/auth/token", data=form)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def prepare(url: str, *, skip: frozenset[str] = frozenset()) -> Fixture:
    api = _client(url, 256)
    setup = _client(url, 8, transport=RetryWhenShed(), timeout=SETUP_TIMEOUT)
    sessions = {role: await _login(url, username) for role, username in ROLES.items()}
    headers = {
        name: await _bearer(setup, grant_type="password", username=name, password=DEMO_PASSWORD)
        for name in ("admin", "leader", "hbj_steward", "zhangsan", "yushan_tech")
    }
    headers["exchange"] = await _bearer(
        api, grant_type="client_credentials", client_id="demo-exchange-client", client_secret=DEMO_CLIENT_SECRET
    )
    catalog = (await setup.get("/api/catalog/entries", params={"size": 50}, headers=headers["admin"])).json()
    datasets = (await setup.get("/api/3/action/package_list")).json().get("result", [])
    streams = (
        await setup.get("/sta/v1.1/Datastreams", params={"$top": 50, "$select": "id"}, headers=headers["hbj_steward"])
    ).json()
    grants = (await setup.get("/api/exchange/grants", headers=headers["admin"])).json()
    key = (await setup.post("/api/auth/api-keys", params={"label": "bench"}, headers=headers["zhangsan"])).json()
    open_key = (
        await setup.post("/api/auth/api-keys", params={"label": "bench"}, headers=headers["yushan_tech"])
    ).json()
    headers["open_key"] = {"X-API-Key": open_key["api_key"]}
    quota = (await setup.get("/api/opendata/quota", headers=headers["open_key"])).json()
    await setup.put(f"/api/opendata/limits/{quota['key']}", json={"per_minute": 100000}, headers=headers["admin"])
    services = (await setup.get("/open311/v2/services.json")).json()
    fixture = Fixture(
        sessions=sessions,
        api=api,
        headers=headers,
        catalog_codes=[e["code"] for e in _items(catalog)],
        dataset_codes=list(datasets)[:50],
        datastreams=[s["@iot.id"] for s in streams.get("value", [])],
        grants=[g["id"] for g in _items(grants) if g.get("active")],
        onestop_item=None,
        open311_key=key["api_key"],
        open311_service=services[0]["service_code"],
        skip=skip,
    )
    fixture.dataset_codes = [
        code
        for code in fixture.dataset_codes
        if await _readable(setup, f"/api/opendata/datasets/{code}/rows", headers["open_key"])
    ]
    fixture.grants = [
        g for g in fixture.grants if await _readable(setup, f"/api/exchange/data/{g}", headers["exchange"])
    ]
    fixture.onestop_item = await _find_applicable_item(fixture, setup)
    await setup.aclose()
    for kinds, values in (
        (("catalog_search",), fixture.catalog_codes),
        (("opendata_rows", "dcat"), fixture.dataset_codes),
        (("sta_read", "sta_write"), fixture.datastreams),
        (("data_api",), fixture.grants),
        (("onestop",), [fixture.onestop_item] if fixture.onestop_item else []),
    ):
        if not values:
            fixture.problems.append(f"the demo has nothing for {', '.join(kinds)}: left out")
            fixture.skip |= frozenset(kinds)
    return fixture


class RetryWhenShed(httpx.AsyncHTTPTransport):
    """Setting up must not fail because the server is still busy: a 503 is retried after Retry-After."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(30):
            response = await super().handle_async_request(request)
            if response.status_code != 503:
                return response
            await response.aread()
            await response.aclose()
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        return response


def _items(body: Any) -> list[dict[str, Any]]:
    return body.get("items", []) if isinstance(body, dict) else body


async def _readable(api: httpx.AsyncClient, path: str, headers: dict[str, str]) -> bool:
    return (await api.get(path, params={"size": 1}, headers=headers)).status_code == 200


async def _find_applicable_item(fixture: Fixture, setup: httpx.AsyncClient) -> dict[str, Any] | None:
    """A citizen item whose materials the citizen's e-certificates and one uploaded PDF can meet."""
    citizen = fixture.headers["zhangsan"]
    items = _items((await setup.get("/api/onestop/items", params={"size": 100}, headers=citizen)).json())
    for item in items:
        if item["audience"] == "enterprise" or not item["online"]:
            continue
        prefill = (await setup.get("/api/onestop/prefill", params={"item": item["code"]}, headers=citizen)).json()
        materials = prefill.get("materials", [])
        uploads = [m["key"] for m in materials if m["required"] and m["available"] == "upload"]
        if any(m["required"] and m["available"] not in ("upload", "certificate") for m in materials):
            continue
        form = dict(prefill["values"])
        for spec in prefill["form"]:
            if spec["required"] and spec["name"] not in form:
                if spec["type"] != "text":
                    break
                form[spec["name"]] = "常熟市虞山街道书院街1号"
        else:
            candidate = {"item_code": item["code"], "form": form, "uploads": uploads}
            if await _apply(fixture, candidate, client=setup) == (201, 201):
                return candidate
    fixture.problems.append("no onestop item a citizen can apply for with certificates and uploads")
    return None


def _pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


PDF = _pdf()


async def _apply(
    fixture: Fixture,
    item: dict[str, Any],
    record: Callable[..., None] | None = None,
    client: httpx.AsyncClient | None = None,
) -> tuple[int, int]:
    """Upload the item's required files, then submit the application; the two statuses."""
    citizen = fixture.headers["zhangsan"]
    client = client or fixture.api
    attachments, upload_status = {}, 201
    for material in item["uploads"]:
        t0 = time.perf_counter()
        try:
            response = await client.post(
                "/api/onestop/attachments",
                headers=citizen,
                data={"material": material, "item": item["item_code"]},
                files={"file": ("申请书.pdf", PDF, "application/pdf")},
            )
            upload_status, failure = response.status_code, ""
        except httpx.HTTPError as exc:
            upload_status, failure = 0, type(exc).__name__
        if record:
            record("onestop_upload", upload_status, t0, "/api/onestop/attachments", failure)
        if upload_status != 201:
            return upload_status, 0
        attachments[material] = response.json()["id"]
    body = {"item_code": item["item_code"], "form": item["form"], "consent": True, "attachments": attachments}
    t0 = time.perf_counter()
    try:
        status, failure = (
            (await client.post("/api/onestop/applications", json=body, headers=citizen)).status_code,
            "",
        )
    except httpx.HTTPError as exc:
        status, failure = 0, type(exc).__name__
    if record:
        record("onestop_apply", status, t0, "/api/onestop/applications", failure)
    return upload_status, status


# ---------------------------------------------------------------- the mix


Request = tuple[httpx.AsyncClient, str, str, dict[str, Any]]


def request_for(kind: str, fixture: Fixture, rnd: random.Random) -> tuple[str, Request | None]:
    """The (kind label, request) of one arrival of `kind`; no request for the two-step onestop kind."""
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
        return kind, (fixture.api, "GET", f"/dataset/{rnd.choice(fixture.dataset_codes)}.jsonld", {})
    if kind == "dcat_catalog":
        return kind, (fixture.api, "GET", rnd.choice(["/catalog.jsonld", "/catalog.ttl"]), {})
    if kind == "sta_read":
        stream = rnd.choice(fixture.datastreams)
        if rnd.random() < 0.3:
            params = {"$top": 20, "$expand": "Datastreams"}
            return kind, (fixture.api, "GET", "/sta/v1.1/Things", {"params": params, "headers": h["hbj_steward"]})
        params = {"$top": 50, "$orderby": "phenomenonTime desc"}
        path = f"/sta/v1.1/Datastreams({stream})/Observations"
        return kind, (fixture.api, "GET", path, {"params": params, "headers": h["hbj_steward"]})
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
    if kind == "onestop" and fixture.onestop_item:
        return kind, None
    if kind == "data_api" and fixture.grants:
        params = {"page": rnd.randint(1, 5), "size": 100}
        url = f"/api/exchange/data/{rnd.choice(fixture.grants)}"
        return kind, (fixture.api, "GET", url, {"params": params, "headers": h["exchange"]})
    if kind == "opendata_rows" and fixture.dataset_codes:
        url = f"/api/opendata/datasets/{rnd.choice(fixture.dataset_codes)}/rows"
        return kind, (fixture.api, "GET", url, {"params": {"page": 1, "size": 50}, "headers": h["open_key"]})
    if kind == "cockpit":
        return kind, (fixture.api, "GET", "/api/brain/cockpit", {"headers": h["leader"]})
    raise LookupError(f"nothing to request for {kind}")


@dataclass
class Sample:
    kind: str
    sent: float  # seconds since the phase began
    status: int  # 0 when the request failed without an answer: `failure` says how
    ms: float
    path: str
    failure: str = ""


@dataclass
class Phase:
    samples: list[Sample]
    seconds: float  # the offered window; answers to its last requests may come after it
    late_ms_p99: float  # how late the generator sent its arrivals: above a few ms it is the bottleneck


async def run_phase(fixture: Fixture, *, rate: float, seconds: float, seed: int, max_outstanding: int = 4000) -> Phase:
    """Open loop: one arrival every 1/rate s, whatever the answers."""
    rnd = random.Random(seed)
    mix = {kind: share for kind, share in MIX.items() if kind not in fixture.skip}
    kinds, weights = list(mix), list(mix.values())
    samples: list[Sample] = []
    outstanding: set[asyncio.Task[None]] = set()
    began = time.perf_counter()

    async def one(kind: str, request: Request | None, sent: float) -> None:
        def record(label: str, status: int, t0: float, path: str, failure: str = "") -> None:
            samples.append(Sample(label, sent, status, (time.perf_counter() - t0) * 1000, path, failure))

        if request is None:
            await _apply(fixture, fixture.onestop_item or {}, record)
            return
        client, method, path, options = request
        t0 = time.perf_counter()
        try:
            status = (await client.request(method, path, **options)).status_code
        except httpx.HTTPError as exc:
            record(kind, 0, t0, path, type(exc).__name__)
            return
        record(kind, status, t0, path)

    total = int(rate * seconds)
    late: list[float] = []
    for i in range(total):
        due = began + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        late.append((time.perf_counter() - due) * 1000)
        if len(outstanding) >= max_outstanding:
            # The generator's own bound on requests in the air; counted as an error.
            samples.append(Sample("generator_backlog", i / rate, 0, 0.0, "", "generator_backlog"))
            continue
        label, request = request_for(rnd.choices(kinds, weights)[0], fixture, rnd)
        task = asyncio.create_task(one(label, request, i / rate))
        outstanding.add(task)
        task.add_done_callback(outstanding.discard)
    if outstanding:
        await asyncio.wait(outstanding, timeout=REQUEST_TIMEOUT + 5)
    return Phase(samples, seconds, pct(late, 0.99))


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
        errors = Counter(s.failure or str(s.status) for s in group if not ok(s))
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
            examples.setdefault(f"{sample.kind}:{sample.failure or sample.status}", sample.path)
    return dict(list(examples.items())[:10])


def goodput(samples: list[Sample], seconds: float) -> float:
    """Requests answered successfully per second of the offered window."""
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
    """Raise the offered rate by half each step until the server sheds requests: with admission control
    its goodput then is its capacity. The best goodput seen."""
    rate, best, steps = start, 0.0, []
    for step in range(12):
        phase = await run_phase(fixture, rate=rate, seconds=step_seconds, seed=1000 + step)
        good = goodput(phase.samples, phase.seconds)
        failed = sum(1 for s in phase.samples if not ok(s)) / max(len(phase.samples), 1)
        p99 = pct([s.ms for s in phase.samples if ok(s)], 0.99)
        steps.append({"offered": round(rate, 1), "goodput": good, "failed": round(failed, 3), "p99": p99})
        best = max(best, good)
        if failed > 0.05:  # clearly shedding, not a stray refusal
            break
        rate *= 1.5
    return best, steps


# ---------------------------------------------------------------- main


async def measure(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    fixture = await prepare(server.url, skip=frozenset(filter(None, args.skip.split(","))))
    rss: dict[str, Any] = {}
    await run_phase(fixture, rate=args.rate, seconds=args.warmup_seconds, seed=1)
    rss["after_warmup_mb"] = server.rss_mb()
    cpu_before, client_cpu_before = server.cpu_seconds(), time.process_time()
    sampler = asyncio.create_task(_sample_rss(server, rss.setdefault("samples_mb", []), every=30))
    phase = await run_phase(fixture, rate=args.rate, seconds=args.seconds, seed=2)
    steady, steady_seconds = phase.samples, phase.seconds
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
            "generator_late_ms_p99": phase.late_ms_p99,
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
    if capacity <= 0:
        return {"capacity_per_s": 0, "ramp": steps}
    over_phase = await run_phase(fixture, rate=2 * capacity, seconds=args.overload_seconds, seed=3)
    under_phase = await run_phase(fixture, rate=capacity / 2, seconds=args.recovery_seconds, seed=4)
    over, over_seconds = over_phase.samples, over_phase.seconds
    under, under_seconds = under_phase.samples, under_phase.seconds
    over_good = goodput(over, over_seconds)
    return {
        "capacity_per_s": capacity,
        "ramp": steps,
        "at_twice_capacity": {
            "offered_per_s": round(2 * capacity, 1),
            "goodput_per_s": over_good,
            "goodput_vs_capacity": round(over_good / capacity, 3),
            "generator_late_ms_p99": over_phase.late_ms_p99,
            "errors": dict(Counter(s.failure or str(s.status) for s in over if not ok(s))),
            "p99_admitted_ms": pct([s.ms for s in over if ok(s)], 0.99),
            "p99_rejected_ms": pct([s.ms for s in over if s.status == 503], 0.99),
        },
        "at_half_capacity": {
            "offered_per_s": round(capacity / 2, 1),
            "goodput_per_s": goodput(under, under_seconds),
            "errors": dict(Counter(s.failure or str(s.status) for s in under if not ok(s))),
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
    parser.add_argument("--warmup-seconds", type=float, default=60, help="not counted; caches fill")
    parser.add_argument("--capacity", type=float, default=0, help="skip the ramp: capacity in requests/s")
    parser.add_argument("--ramp-step-seconds", type=float, default=15)
    parser.add_argument("--overload-seconds", type=float, default=120, help="0 skips the overload phases")
    parser.add_argument("--recovery-seconds", type=float, default=120)
    parser.add_argument("--skip", default="", help=f"kinds left out of the mix, comma-separated: {', '.join(MIX)}")
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
