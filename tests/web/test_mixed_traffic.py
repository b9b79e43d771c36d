"""Mixed traffic against a real server: CKAN reads, page loads and writes from several threads at once.

The reliability report: with one browser loading /opendata, every CKAN action hung for 30 s and
answered 500, stalling every other request meanwhile. Here eight clients mix those calls with logged-in
page loads and writes (Open311, SensorThings) for a while; no request may take over 5 s or fail.
"""

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import bearer, page_login, run_cli
from tests.sensing.conftest import new_thing

THREADS = 8
SECONDS = 20
SLOW_SECONDS = 5.0


@dataclass(frozen=True)
class Outcome:
    kind: str
    status: int
    seconds: float
    error: str = ""


def _open311_key(runtime) -> str:
    result = run_cli(runtime, "apikey", "create", "--username", "lisi", "--label", "mixed-traffic")
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


def _requests(open311_key: str, sta_headers: dict[str, str], datastream: int) -> list[tuple[str, Callable]]:
    """Each kind of request as (name, call(client, session_client))."""

    def ckan(action: str, **params: str) -> Callable:
        return lambda anon, _staff: anon.get(f"/api/3/action/{action}", params=params)

    def page(path: str, *, logged_in: bool = False) -> Callable:
        return lambda anon, staff: (staff if logged_in else anon).get(path, headers={"accept": "text/html"})

    def open311(anon: httpx.Client, _staff: httpx.Client) -> httpx.Response:
        return anon.post(
            "/open311/v2/requests.json",
            data={
                "api_key": open311_key,
                "service_code": "CG01",
                "lat": "31.65",
                "long": "120.75",
                "description": "路边垃圾桶满了，没人清运",
            },
        )

    def observation(anon: httpx.Client, _staff: httpx.Client) -> httpx.Response:
        body = {
            "Datastream": {"@iot.id": datastream},
            "phenomenonTime": datetime.now(UTC).isoformat(),
            "result": 35.5,
        }
        return anon.post("/sta/v1.1/Observations", json=body, headers=sta_headers)

    return [
        ("ckan package_search", ckan("package_search", q="", rows="10")),
        ("ckan package_list", ckan("package_list")),
        ("ckan tag_list", ckan("tag_list")),
        ("ckan organization_list", ckan("organization_list")),
        ("page /opendata", page("/opendata")),
        ("page /catalog", page("/catalog", logged_in=True)),
        ("page /", page("/")),
        ("open311 post", open311),
        ("sta observation post", observation),
    ]


def _worker(live_url: str, staff_cookies: httpx.Cookies, kinds, offset: int, until: float, out: list) -> None:
    timeout = httpx.Timeout(SLOW_SECONDS * 3)
    # Idle connections are dropped well before uvicorn's 5 s keep-alive timeout, as a well-behaved client
    # does: otherwise a request sent just as the server closes an idle connection is reset (not a stall).
    limits = httpx.Limits(keepalive_expiry=1.0)
    with (
        httpx.Client(base_url=live_url, timeout=timeout, limits=limits) as anon,
        httpx.Client(base_url=live_url, timeout=timeout, limits=limits, cookies=staff_cookies) as staff,
    ):
        for name, call in itertools.islice(itertools.cycle(kinds), offset, None):
            if time.monotonic() > until:
                return
            started = time.perf_counter()
            try:
                response = call(anon, staff)
                out.append(Outcome(name, response.status_code, time.perf_counter() - started))
            except httpx.HTTPError as exc:
                out.append(Outcome(name, 0, time.perf_counter() - started, repr(exc)))


@pytest.mark.slow
@pytest.mark.serial
def test_mixed_traffic_never_stalls_or_fails(live_url, client, runtime):
    steward = bearer(client, "hbj_steward")
    datastream = new_thing(client, steward)["datastreams"][0]
    key = _open311_key(runtime)
    with httpx.Client(base_url=live_url, timeout=30) as login_client:
        page_login(login_client, "admin")
        staff_cookies = login_client.cookies
    kinds = _requests(key, steward, datastream)

    outcomes: list[Outcome] = []
    until = time.monotonic() + SECONDS
    threads = [
        threading.Thread(target=_worker, args=(live_url, staff_cookies, kinds, n, until, outcomes))
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)

    ms = sorted(o.seconds * 1000 for o in outcomes)
    print(
        f"\nmixed traffic: {len(outcomes)} requests in {SECONDS} s from {THREADS} threads; "
        f"p50 {ms[len(ms) // 2]:.0f} ms, p99 {ms[int(len(ms) * 0.99)]:.0f} ms, max {ms[-1]:.0f} ms"
    )
    bad = [o for o in outcomes if o.status == 0 or o.status >= 500 or o.seconds > SLOW_SECONDS]
    never_ok = {name for name, _ in kinds} - {o.kind for o in outcomes if 200 <= o.status < 300}
    slowest = max(outcomes, key=lambda o: o.seconds)
    assert not bad, f"{len(bad)} of {len(outcomes)} failed or were slow, e.g. {bad[:5]}"
    assert not never_ok, f"never succeeded: {never_ok}"
    assert len(outcomes) > 100, f"only {len(outcomes)} requests completed; slowest {slowest}"
