"""The done-when of collection: a steward schedules a MariaDB source and a real `yiwang worker` loads it
every interval; the worker killed with SIGKILL in the middle of a run leaves the previous version
current and no half version, and the next worker's run succeeds and marks the killed run interrupted."""

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.collect.helpers import create_source, needs_mariadb, people_table, person_entry, source_url, versions
from tests.conftest import bearer
from tests.processes import process_env, yiwang

LEASE_SECONDS = "3"
ROWS = [(f"W{n}", f"计划{n}", None, None, None, "梅李镇", n, None) for n in range(40)]


def _worker(settings, log: Path) -> subprocess.Popen:
    env = process_env(settings, YIWANG_COLLECT_POLL_SECONDS="1", YIWANG_COLLECT_LEASE_SECONDS=LEASE_SECONDS)
    with log.open("ab") as out:
        return subprocess.Popen(yiwang("worker"), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _runs(client, code: str) -> list[dict]:
    response = client.get(
        f"/api/collect/sources/{code}/runs", params={"size": 200}, headers=bearer(client, "hbj_steward")
    )
    return response.json()["items"]


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _update(client, source: dict, **changes) -> None:
    fields = {"name", "entry_code", "kind", "location", "table_name", "query", "api", "mapping", "mode"}
    fields |= {"watermark_column", "key_check_every", "schedule", "enabled"}
    body = {k: v for k, v in source.items() if k in fields} | changes
    response = client.put(f"/api/collect/sources/{source['code']}", json=body, headers=bearer(client, "hbj_steward"))
    assert response.status_code == 200, response.text


def _stop(process: subprocess.Popen, sig: int) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    process.wait(timeout=30)


@needs_mariadb
def test_a_scheduled_source_loads_every_interval_and_survives_a_killed_worker(client, settings, tmp_path):
    entry = person_entry(client)
    table = people_table("mariadb", ROWS)
    fast = f"SELECT person_id, name, town, score FROM {table}"  # noqa: S608
    # SLEEP per row: a run that takes a few seconds, long enough to kill the worker in the middle of it
    slow = f"SELECT person_id, name, town, score FROM {table} WHERE SLEEP(0.1) = 0"  # noqa: S608
    source = create_source(
        client, entry_code=entry, kind="database", location=source_url("mariadb"), query=fast, schedule="*/2 * * * * *"
    )
    code = source["code"]
    log = tmp_path / "worker.log"
    worker = _worker(settings, log)
    try:
        _wait(lambda: len([r for r in _runs(client, code) if r["status"] == "succeeded"]) >= 3, 120, "three runs")
        done = [r for r in _runs(client, code) if r["status"] == "succeeded"]
        assert all(r["trigger"] == "schedule" and r["rows_loaded"] == 40 for r in done)
        starts = sorted(r["started_at"] for r in done)
        assert len(set(starts)) == len(starts)  # one run per tick, each its own version
        assert sorted(r["version"] for r in done) == list(range(1, len(done) + 1))

        _update(client, source, query=slow)
        _wait(
            lambda: any(r["status"] == "running" and r["rows_read"] == 0 for r in _runs(client, code)[:1]),
            60,
            "a slow run",
        )
        before = [v["version"] for v in versions(client, entry) if v["current"]]
        time.sleep(1)  # in the middle of reading
        _stop(worker, signal.SIGKILL)
    finally:
        _stop(worker, signal.SIGKILL)
    after_kill = versions(client, entry)
    assert [v["version"] for v in after_kill if v["current"]] == before
    assert max(v["version"] for v in after_kill) == before[0]  # no half version
    assert _runs(client, code)[0]["status"] == "running"  # its worker died with it

    _update(client, source, query=fast, schedule="")
    client.post(f"/api/collect/sources/{code}/run", headers=bearer(client, "hbj_steward"))
    # the test client's own attempt finds the dead worker's lease still held; the new worker runs the
    # requested source once that lease has expired
    worker = _worker(settings, log)
    try:
        _wait(lambda: _runs(client, code)[0]["status"] in ("succeeded", "failed"), 120, "the next run")
    finally:
        _stop(worker, signal.SIGTERM)
    latest, killed = _runs(client, code)[0], _runs(client, code)[1]
    assert latest["status"] == "succeeded" and latest["version"] == before[0] + 1, latest
    assert killed["status"] == "interrupted" and "中断" in killed["error"]
    assert [v["version"] for v in versions(client, entry) if v["current"]] == [before[0] + 1]
