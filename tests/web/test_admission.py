"""Admission control under a real uvicorn server: the excess is shed at once with 503, the rest is served."""

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import free_port
from yiwang.app import create_app
from yiwang.web.admission import AdmissionLimits, AdmissionMiddleware


def run_in_own_loop(coroutine):
    """asyncio.run on a thread of its own: the session's Playwright browser keeps a loop on this one."""
    result: list = []

    def target() -> None:
        result.append(asyncio.run(coroutine))

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    assert result, "the coroutine raised; see the thread's traceback above"
    return result[0]


@contextmanager
def served(app) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def slow_app(*, work_seconds: float, limits: AdmissionLimits) -> FastAPI:
    """Each request holds a worker thread for `work_seconds`, as a page waiting on the database does."""
    app = FastAPI()
    app.state.started = threading.Semaphore(0)

    @app.get("/work")
    def work() -> dict[str, str]:
        app.state.started.release()
        time.sleep(work_seconds)
        return {"done": "yes"}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(AdmissionMiddleware, limits=limits)
    return app


def slow_app_from_environment() -> FastAPI:
    return slow_app(work_seconds=float(os.environ["SLOW_APP_WORK_SECONDS"]), limits=LIMITS)


@contextmanager
def served_apart(work_seconds: float) -> Iterator[str]:
    """The slow app in a uvicorn process of its own, so the load generator does not share its GIL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "SLOW_APP_WORK_SECONDS": str(work_seconds)}
    command = [sys.executable, "-m", "uvicorn", "--factory", f"{__name__}:slow_app_from_environment"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def first_shed(url: str, *, within: float = 10) -> httpx.Response:
    """Ask until the slow request has reached the server and the excess is refused (on a loaded machine
    the slow request may take a moment to arrive)."""
    deadline = time.monotonic() + within
    while True:
        response = httpx.get(url, timeout=10)
        if response.status_code == 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


LIMITS = AdmissionLimits(max_in_flight=2, max_queue=2, queue_ms=100, retry_after_seconds=1)


def test_excess_is_answered_at_once_with_503_and_retry_after():
    app = slow_app(work_seconds=3.0, limits=LIMITS)
    with served(app) as url:
        busy = [threading.Thread(target=httpx.get, args=(f"{url}/work",), kwargs={"timeout": 10}) for _ in range(2)]
        for thread in busy:
            thread.start()
        for _ in busy:
            assert app.state.started.acquire(timeout=10), "both slots are taken"
        began = time.perf_counter()
        shed = httpx.get(f"{url}/work", timeout=10)
        elapsed = time.perf_counter() - began
        assert shed.status_code == 503
        # At most the head of the queue's wait (10 × 100 ms), not until a busy request ends.
        assert elapsed < 2.0, "the excess must not queue for the busy requests"
        assert shed.headers["retry-after"] == "1"
        assert shed.json() == {"error": {"code": "overloaded", "message": "系统繁忙，请稍后再试", "details": None}}

        page = httpx.get(f"{url}/work", headers={"Accept": "text/html"}, timeout=10)
        assert page.status_code == 503 and page.headers["retry-after"] == "1"
        assert page.headers["content-type"].startswith("text/html") and "系统繁忙" in page.text

        health = httpx.get(f"{url}/healthz", timeout=10)
        assert health.status_code == 200, "health checks are never shed"

        for thread in busy:
            thread.join()
        assert httpx.get(f"{url}/work", timeout=10).status_code == 200, "a free slot serves again"


def test_a_short_wait_is_admitted_when_a_slot_frees_within_the_queue_time():
    with served(slow_app(work_seconds=0.05, limits=LIMITS)) as url:

        async def three_at_once() -> list[int]:
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                responses = await asyncio.gather(*(client.get("/work") for _ in range(3)))
            return [r.status_code for r in responses]

        assert run_in_own_loop(three_at_once()) == [200, 200, 200]


def test_the_next_in_line_waits_for_a_slow_request_so_the_slot_does_not_idle():
    app = slow_app(
        work_seconds=0.3, limits=AdmissionLimits(max_in_flight=1, max_queue=2, queue_ms=50, retry_after_seconds=1)
    )
    with served(app) as url:
        first = threading.Thread(target=httpx.get, args=(f"{url}/work",), kwargs={"timeout": 10})
        first.start()
        assert app.state.started.acquire(timeout=10)
        # Slots free up less often than every 50 ms here: the head of the queue waits on.
        assert httpx.get(f"{url}/work", timeout=10).status_code == 200
        first.join()


async def offer(url: str, *, rate: float, seconds: float) -> tuple[list[tuple[int, float]], float]:
    """Open-loop load: one request every 1/rate s whatever the answers; (status, latency) of each."""
    results: list[tuple[int, float]] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:

        async def one() -> None:
            began = time.perf_counter()
            response = await client.get("/work")
            results.append((response.status_code, time.perf_counter() - began))

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        return results, time.perf_counter() - start


@pytest.mark.slow
@pytest.mark.serial
def test_goodput_holds_at_twice_capacity_and_it_recovers_when_the_load_drops():
    # 2 slots of 100 ms: a capacity of 20 requests/s. Compared with what the same server serves when
    # offered exactly that, in the same run, so a busy machine slows both alike.
    with served_apart(work_seconds=0.1) as url:
        at_capacity, _ = run_in_own_loop(offer(url, rate=20, seconds=3))
        overload, _ = run_in_own_loop(offer(url, rate=40, seconds=3))
        served_at_capacity = sum(1 for status, _ in at_capacity if status == 200)
        served_in_overload = sum(1 for status, _ in overload if status == 200)
        statuses = {status for status, _ in overload}
        assert statuses <= {200, 503}, f"only 503s are expected past capacity, got {statuses}"
        assert served_in_overload >= 0.8 * served_at_capacity, (served_in_overload, served_at_capacity)
        slowest_shed = max(latency for status, latency in overload if status == 503)
        assert slowest_shed < 1.0, "rejections are immediate, not after a long queue"

        after, _ = run_in_own_loop(offer(url, rate=5, seconds=2))
        assert {status for status, _ in after} == {200}
        assert max(latency for _, latency in after) < 0.5


@pytest.fixture
def one_slot_app(settings, runtime):
    """The whole platform on the test database, serving one request at a time."""
    return create_app(
        settings.model_copy(update={"admission_max_in_flight": 1, "admission_queue_ms": 50}), runtime=runtime
    )


def test_the_platform_sheds_requests_while_a_slow_upload_holds_its_only_slot(one_slot_app):
    with served(one_slot_app) as url:
        body_sent = threading.Event()
        release = threading.Event()

        def trickle() -> Iterator[bytes]:
            yield b"service_code=CG01&"
            body_sent.set()
            release.wait(10)
            yield b"description=x"

        slow = threading.Thread(
            target=httpx.post,
            args=(f"{url}/open311/v2/requests.json",),
            kwargs={
                "content": trickle(),
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "timeout": 20,
            },
        )
        slow.start()
        assert body_sent.wait(10)
        try:
            shed = first_shed(f"{url}/open311/v2/services.json")
            assert shed.status_code == 503 and shed.json()["error"]["code"] == "overloaded"
            assert shed.headers["retry-after"] == "1"
            assert shed.headers["x-frame-options"] == "DENY", "the platform's headers come with the 503"
            page = httpx.get(f"{url}/login", headers={"Accept": "text/html"}, timeout=10)
            assert page.status_code == 503 and "系统繁忙" in page.text
            assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
            assert httpx.get(f"{url}/static/app.css", timeout=10).status_code != 503
        finally:
            release.set()
            slow.join()
        assert httpx.get(f"{url}/open311/v2/services.json", timeout=10).status_code == 200
