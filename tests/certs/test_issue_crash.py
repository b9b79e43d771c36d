"""A server killed with SIGKILL in the middle of a burst of certificate issuance: after a restart the
transparency log recomputes to its signed checkpoint, every acknowledged certificate is included and
verifies, `yiwang audit verify` passes, and no serial or log index was used twice."""

import base64
import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from tests.processes import Server, process_env, token, yiwang
from yiwang.certs import verifier
from yiwang.demo.loader import DEMO_PASSWORD

CALLERS = 12
KILL_AFTER_ISSUED = 40


def _burst(url: str, headers: dict[str, str], type_code: str, department: str, stop: threading.Event) -> list[dict]:
    """Issue certificates one after another until stopped or the server is gone; returns those acknowledged."""
    acknowledged = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as session:
        n = 0
        while not stop.is_set():
            n += 1
            body = {"type_code": type_code, "department_code": department, "holder_username": "lisi", "data": {"n": n}}
            try:
                response = session.post("/api/certs/issue", json=body)
            except httpx.HTTPError:
                return acknowledged  # the server died under this request
            if response.status_code == 503 and response.json()["error"]["code"] == "overloaded":
                continue  # refused before any work (more callers than the server admits at once): not issued
            assert response.status_code == 201, response.text
            acknowledged.append(response.json())
    return acknowledged


def _whole_log(client) -> tuple[int, bytes, list[bytes], str]:
    body = client.get("/api/transparency/checkpoint").json()
    lines = body["checkpoint"].split("\n")
    size, root = int(lines[1]), base64.b64decode(lines[2])
    leaves: list[bytes] = []
    for start in range(0, size, 1000):
        page = client.get("/api/transparency/entries", params={"start": start, "end": min(size, start + 1000)}).json()
        leaves += [base64.b64decode(e["leaf_input"]) for e in page["entries"]]
    return size, root, leaves, body["algorithms"]["hash"]


def _issued_count(runtime) -> int:
    return _duplicates(runtime, "SELECT count(*) FROM certs_certificate")[0][0]


def _duplicates(runtime, sql: str) -> list:
    with runtime.db.unit_of_work() as db:
        return db.execute(text(sql)).all()


@pytest.mark.slow
def test_killed_mid_burst_the_log_proofs_and_audit_chain_still_verify(client, anon, runtime, tmp_path):
    settings = runtime.settings
    # A department that has never issued: the burst's first requests race to create its signing key.
    department = _duplicates(
        runtime,
        "SELECT code FROM org_department WHERE active AND code NOT IN"
        " (SELECT department_code FROM certs_issuer_key) ORDER BY code LIMIT 1",
    )[0][0]
    before = _issued_count(runtime)
    server = Server(settings, tmp_path / "burst.log")
    stop = threading.Event()
    try:
        server.wait_ready()
        headers = {"Authorization": f"Bearer {token(server.url, 'admin', DEMO_PASSWORD)}"}
        # Only a type's issuing department may issue it: a new type names the fresh department.
        existing = {t["code"] for t in httpx.get(f"{server.url}/api/certs/types", headers=headers).json()}
        ministry = sorted(existing)[0][:18]  # a valid unified credit code of a ministry
        type_code = next(f"{ministry}{n:03d}" for n in range(999, 0, -1) if f"{ministry}{n:03d}" not in existing)
        created = httpx.post(
            f"{server.url}/api/certs/types",
            headers=headers,
            json={"code": type_code, "name": "压测证明", "ministry": "测试部", "issuer_department_code": department},
        )
        assert created.status_code == 201, created.text
        with ThreadPoolExecutor(CALLERS) as pool:
            args = (server.url, headers, type_code, department, stop)
            futures = [pool.submit(_burst, *args) for _ in range(CALLERS)]
            deadline = time.monotonic() + 120
            while server.process.poll() is None:
                if _issued_count(runtime) - before >= KILL_AFTER_ISSUED or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            killed_with = server.kill()  # while every caller has a request in flight
            stop.set()
            acknowledged = [cert for future in futures for cert in future.result()]
    finally:
        stop.set()
        server.kill()
    assert killed_with == -9
    assert acknowledged, "the burst issued nothing before the kill"

    restarted = Server(settings, tmp_path / "restart.log")
    try:
        restarted.wait_ready()
        size, root, leaves, hash_name = _whole_log(anon)
        assert len(leaves) == size
        assert verifier.root_of(leaves, hash_name) == root  # the signed checkpoint covers the whole log
        for cert in acknowledged:
            assert json.loads(leaves[cert["log_index"]])["identifier"] == cert["identifier"]
            result = httpx.get(f"{restarted.url}/api/certs/{cert['identifier']}/verify").json()
            assert result["ok"], result
        sample = acknowledged[-1]
        proof = anon.get("/api/transparency/proof/inclusion", params={"index": sample["log_index"], "tree_size": size})
        verifier.verify_inclusion(
            leaf=leaves[sample["log_index"]],
            index=sample["log_index"],
            tree_size=size,
            path=[bytes.fromhex(h) for h in proof.json()["audit_path"]],
            root=root,
            hash_name=hash_name,
        )
        # issuing goes on after the restart, with fresh serials and log indexes
        headers = {"Authorization": f"Bearer {token(restarted.url, 'admin', DEMO_PASSWORD)}"}
        after = httpx.post(
            f"{restarted.url}/api/certs/issue",
            headers=headers,
            json={
                "type_code": sample["type_code"],
                "department_code": department,
                "holder_username": "lisi",
                "data": {},
            },
            timeout=30,
        )
        assert after.status_code == 201, after.text
        assert after.json()["log_index"] == size
    finally:
        restarted.stop()

    assert (
        _duplicates(runtime, "SELECT identifier FROM certs_certificate GROUP BY identifier HAVING count(*) > 1") == []
    )
    assert (
        _duplicates(
            runtime, "SELECT type_id, serial FROM certs_certificate GROUP BY type_id, serial HAVING count(*) > 1"
        )
        == []
    )
    assert (
        _duplicates(
            runtime, "SELECT log_id, log_index FROM certs_certificate GROUP BY log_id, log_index HAVING count(*) > 1"
        )
        == []
    )
    assert _duplicates(runtime, "SELECT log_id, idx FROM certs_log_leaf GROUP BY log_id, idx HAVING count(*) > 1") == []
    audit = subprocess.run(yiwang("audit", "verify"), env=process_env(settings), capture_output=True, timeout=300)
    assert audit.returncode == 0, audit.stdout.decode() + audit.stderr.decode()
    assert "审计链完整" in audit.stdout.decode()
    print(f"\n{len(acknowledged)} certificates acknowledged by {CALLERS} callers before SIGKILL; log size {size}")
