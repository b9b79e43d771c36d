"""Cockpit first render over a year of data: the server time of the cockpit page and every data
endpoint it calls on first load (one /api/brain/cockpit), cold (first request after start) and
warm; each endpoint separately; and a bare baseline of raw SQL counts for the same figures,
measured in the same run.

    .venv/bin/python bench/cockpit.py [--events-per-day 4] [--repeat 5]

Prints one JSON line. Target: first full render ≤ 1 s server time in total.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import brain_data
from fastapi.testclient import TestClient
from sqlalchemy import text

ENDPOINTS = [
    "/api/brain/indicators",
    "/api/brain/signs",
    "/api/brain/map",
    "/api/brain/trends",
    "/api/brain/warnings",
    "/api/brain/evaluation?kind=division",
    "/api/brain/evaluation?kind=department",
]

BASELINE_SQL = [
    "SELECT count(*) FROM cityops_event WHERE status NOT IN ('closed', 'rated', 'voided')",
    "SELECT department_id, count(*) FROM cityops_event GROUP BY department_id",
    "SELECT division_code, count(*) FROM cityops_event GROUP BY division_code",
    "SELECT sum(CASE WHEN closed_on_time THEN 1 ELSE 0 END), count(closed_on_time) FROM cityops_event",
    "SELECT ts, avg(value) FROM brain_series_point WHERE series >= 'aqiday:' AND series < 'aqiday;' GROUP BY ts",
    "SELECT ts, sum(value) FROM brain_series_point WHERE series >= 'events:' AND series < 'events;' GROUP BY ts",
    "SELECT count(*) FROM brain_warning",
    "SELECT * FROM brain_indicator_snapshot ORDER BY period DESC LIMIT 20",
    "SELECT * FROM brain_evaluation ORDER BY period DESC LIMIT 60",
    "SELECT count(*) FROM sensing_thing WHERE online",
]


def timed(client: TestClient, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code, response.text[:200])
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events-per-day", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="brain-cockpit-"))
    runtime, setup = brain_data.load_demos(tmp)
    t = time.perf_counter()
    setup["events"] = brain_data.year_of_events(runtime, args.events_per_day)
    setup["events_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    setup["series_points"] = brain_data.year_of_series(runtime)
    setup["series_s"] = round(time.perf_counter() - t, 1)
    setup |= brain_data.year_of_brain(runtime)

    from yiwang.app import create_app
    from yiwang.brain import evaluation, jobs, signs
    from yiwang.brain import service as svc

    with runtime.db.unit_of_work() as db:  # what the jobs keep current: this month's snapshots and scores
        svc.recompute_indicators(db, actor=jobs.JOB_ACTOR)
        evaluation.store(db, period=svc.current_period())
        t = time.perf_counter()
        signs.store_snapshot(db)
        setup["signs_snapshot_s"] = round(time.perf_counter() - t, 3)
    runtime.db.dispose()
    app = create_app(brain_data.settings(tmp, "full"))
    with TestClient(app) as client:
        token = client.post(
            "/api/auth/token", data={"grant_type": "password", "username": "leader", "password": "changshu2026"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        page_headers = headers | {"accept": "text/html"}
        cold_page = timed(client, "/brain/cockpit", page_headers)
        cold_data = timed(client, "/api/brain/cockpit", headers)
        warm = []
        for _ in range(args.repeat):
            warm.append(timed(client, "/brain/cockpit", page_headers) + timed(client, "/api/brain/cockpit", headers))
        each = {url: round(1000 * min(timed(client, url, headers) for _ in range(3)), 1) for url in ENDPOINTS}
        live = {
            url: round(1000 * min(timed(client, url, headers) for _ in range(3)), 1)
            for url in ("/api/brain/signs?live=true", "/api/brain/map?live=true", "/api/brain/indicators?live=true")
        }
        engine = app.state.runtime.db.engine
        baseline = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            with engine.connect() as conn:
                for sql in BASELINE_SQL:
                    conn.execute(text(sql)).all()
            baseline.append(time.perf_counter() - started)
        with engine.connect() as conn:
            points = conn.execute(text("SELECT count(*) FROM brain_series_point")).scalar_one()
            events = conn.execute(text("SELECT count(*) FROM cityops_event")).scalar_one()
    first = cold_page + cold_data
    warm_median = statistics.median(warm)
    base = statistics.median(baseline)
    print(
        json.dumps(
            {
                "benchmark": "cockpit",
                "first_render_cold_s": round(first, 3),
                "first_render_warm_median_s": round(warm_median, 3),
                "target_s": 1.0,
                "meets_target": first <= 1.0,
                "endpoints_ms": each,
                "live_recompute_ms": live,
                "baseline_raw_sql_s": round(base, 4),
                "ratio_warm_to_baseline": round(warm_median / base, 1) if base else None,
                "data": {"series_points": points, "events": events} | setup,
                "machine": brain_data.machine(),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
