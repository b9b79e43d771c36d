"""Collection routes under concurrent load with other routes, against a real server: no request fails
or stalls, and runs asked for at once never overlap — each makes its own version, in order."""

import itertools
import threading
import time

import httpx
import pytest

from tests.collect.helpers import create_source, needs_postgres, people_table, person_entry, source_url, versions
from tests.conftest import bearer, page_login

THREADS = 6
SECONDS = 12
SLOW_SECONDS = 10.0


@pytest.mark.slow
@pytest.mark.serial
@needs_postgres
def test_collect_routes_under_concurrent_load_with_other_routes(live_url, client):
    entry = person_entry(client)
    table = people_table("postgresql", [(f"K{n}", f"并发{n}", None, None, None, "海虞镇", n, None) for n in range(20)])
    query = f"SELECT person_id, name, town, score FROM {table}"  # noqa: S608
    source = create_source(client, entry_code=entry, kind="database", location=source_url("postgresql"), query=query)
    code, token = source["code"], bearer(client, "hbj_steward")
    update = {k: source[k] for k in ("name", "entry_code", "kind", "location", "query", "mode")}
    with httpx.Client(base_url=live_url, timeout=30) as login_client:
        page_login(login_client, "hbj_steward")
        cookies = login_client.cookies
    kinds = [
        ("run", lambda c: c.post(f"/api/collect/sources/{code}/run", headers=token)),
        ("sources", lambda c: c.get("/api/collect/sources", headers=token)),
        ("runs", lambda c: c.get(f"/api/collect/sources/{code}/runs", headers=token)),
        ("update", lambda c: c.put(f"/api/collect/sources/{code}", json=update, headers=token)),
        ("page /collect", lambda c: c.get("/collect", headers={"accept": "text/html"})),
        ("page source", lambda c: c.get(f"/collect/sources/{code}", headers={"accept": "text/html"})),
        ("catalog", lambda c: c.get("/api/catalog/entries", headers=token)),
        ("versions", lambda c: c.get(f"/api/governance/resources/{entry}/versions", headers=token)),
        ("page /governance", lambda c: c.get("/governance", headers={"accept": "text/html"})),
        ("home", lambda c: c.get("/", headers={"accept": "text/html"})),
    ]
    outcomes: list[tuple[str, int, float]] = []
    until = time.monotonic() + SECONDS

    def work(offset: int) -> None:
        with httpx.Client(base_url=live_url, timeout=SLOW_SECONDS * 3, cookies=cookies) as http:
            for name, call in itertools.islice(itertools.cycle(kinds), offset, None):
                if time.monotonic() > until:
                    return
                started = time.perf_counter()
                try:
                    status = call(http).status_code
                except httpx.HTTPError:
                    status = 0
                outcomes.append((name, status, time.perf_counter() - started))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 90)
    bad = [o for o in outcomes if not 200 <= o[1] < 300 or o[2] > SLOW_SECONDS]
    assert not bad, f"{len(bad)} of {len(outcomes)} failed or were slow: {bad[:5]}"
    assert {name for name, _ in kinds} <= {o[0] for o in outcomes}

    time.sleep(1)  # the last background run finishes
    runs = client.get(f"/api/collect/sources/{code}/runs", params={"size": 200}, headers=token).json()["items"]
    done = sorted((r for r in runs if r["status"] == "succeeded"), key=lambda r: r["started_at"])
    assert done and all(r["rows_loaded"] == 20 for r in done)
    for earlier, later in itertools.pairwise(done):
        assert earlier["finished_at"] <= later["started_at"], (earlier, later)  # never two at once
    assert sorted(v["version"] for v in versions(client, entry)) == list(range(1, len(done) + 1))
