"""The message log's group commit under a kill: a live `yiwang serve` answers mediated calls from several
clients at once and is killed with SIGKILL in the middle. Every call that was answered is in the log
after the kill, the chain verifies, and the stored quota counted at least every answered call."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import bearer
from tests.exchange.mediation_helpers import CONSUMER_USER, grant, register
from tests.exchange.provider import Provider
from tests.processes import Server
from yiwang.exchange import message_log
from yiwang.exchange.message_keys import MessageKeys
from yiwang.exchange.models import MessageRecord, ServiceCounter


@pytest.mark.slow
def test_every_answered_call_is_in_the_log_after_a_kill(client, runtime, tmp_path):
    server = Server(runtime.settings, tmp_path / "serve.log").wait_ready()
    provider = Provider().start()
    try:
        provider.load_keys(server.url)
        code = register(client, f"{provider.url}/v1")
        grant_id = grant(client, code, operations=("getPerson",), rate_per_second=10_000, daily_quota=1_000_000)
        consumer = bearer(client, CONSUMER_USER)
        answered: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def call_until_killed(worker: int) -> None:
            with httpx.Client(base_url=server.url, timeout=10) as http:
                n = 0
                while not stop.is_set():
                    n += 1
                    try:
                        response = http.get(f"/x/{code}/persons/{worker}-{n}", headers=consumer)
                    except httpx.HTTPError:
                        return  # the server is gone
                    if response.status_code == 200:
                        with lock:
                            answered.append(response.headers["x-yiwang-call"])

        with ThreadPoolExecutor(max_workers=8) as pool:
            for worker in range(8):
                pool.submit(call_until_killed, worker)
            deadline = time.monotonic() + 30
            while len(answered) < 150 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.kill() == -9  # under load, with calls in flight
            stop.set()
        assert len(answered) >= 150
    finally:
        server.kill()
        provider.stop()

    with runtime.db.sessions() as db:
        logged = set(db.execute(select(MessageRecord.call_id).where(MessageRecord.call_id.in_(answered))).scalars())
        assert set(answered) <= logged, f"{len(set(answered) - logged)} answered calls are not in the log"
        stored = db.execute(
            select(ServiceCounter.calls).where(ServiceCounter.grant_id == grant_id, ServiceCounter.window.like("d%"))
        ).scalar_one()
        assert stored >= len(answered)
        check = message_log.verify(db, keys=MessageKeys(runtime.keyring))
    assert check.ok, check.reason
