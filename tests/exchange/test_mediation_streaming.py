"""A 200 MB body each way through a real `yiwang serve` process: it arrives whole and unchanged, its
Content-Digest is right, and the process's peak memory grows by far less than the body — the body
passes through a temporary file, never through memory."""

import base64
import hashlib
from pathlib import Path

import httpx
import pytest

from tests.conftest import bearer
from tests.exchange import signature_profile
from tests.exchange.mediation_helpers import CONSUMER_USER, grant, register
from tests.exchange.provider import Provider
from tests.processes import Server

SIZE = 200 * 1024 * 1024
BLOCK = bytes(range(256)) * 4096  # 1 MiB
MEMORY_LIMIT = 64 * 1024 * 1024  # the growth of peak memory allowed for 200 MB each way


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_a_200_mb_body_streams_both_ways_without_being_held_in_memory(client, settings, live_url, tmp_path):
    provider = Provider().start()
    provider.load_keys(live_url)
    code = register(client, f"{provider.url}/v1", read_timeout_s=120)
    grant(client, code, operations=("upload", "download"))
    consumer = bearer(client, CONSUMER_USER)
    server = Server(settings, tmp_path / "serve.log").wait_ready()
    try:
        with httpx.Client(base_url=server.url, timeout=300) as http:
            assert http.get(f"/x/{code}/download", params={"size": 1024}, headers=consumer).status_code == 200
            baseline = _peak_rss(server.process.pid)

            def body():
                for _ in range(SIZE // len(BLOCK)):
                    yield BLOCK

            expected = hashlib.sha256()
            for _ in range(SIZE // len(BLOCK)):
                expected.update(BLOCK)
            uploaded = http.put(f"/x/{code}/upload", content=body(), headers=consumer)
            assert uploaded.status_code == 200, uploaded.text
            assert uploaded.json() == {"size": SIZE, "sha256": expected.hexdigest()}
            assert provider.seen[-1].headers["content-length"] == str(SIZE)

            received = hashlib.new(signature_profile.HASH)
            size = 0
            with http.stream("GET", f"/x/{code}/download", params={"size": SIZE}, headers=consumer) as answer:
                assert answer.status_code == 200
                for chunk in answer.iter_raw():
                    received.update(chunk)
                    size += len(chunk)
                digest = answer.headers["content-digest"]
            assert size == SIZE
            assert digest == f"{signature_profile.DIGEST_LABEL}=:{base64.b64encode(received.digest()).decode()}:"
            growth = _peak_rss(server.process.pid) - baseline
            assert growth < MEMORY_LIMIT, f"peak memory grew by {growth / 2**20:.0f} MiB"
    finally:
        server.stop()
        provider.stop()
