"""A process that dies between committing a confirmed alarm and delivering its event: after a restart
the city event is opened, once."""

import contextlib
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from tests.conftest import bearer
from tests.processes import Server, token
from tests.sensing.conftest import new_thing
from yiwang.cityops import service as cityops_service
from yiwang.core import events
from yiwang.core.events import CRASH_AFTER_COMMIT_ENV, OutboxMessage
from yiwang.demo.loader import DEMO_PASSWORD
from yiwang.sensing import service as sensing_service


def _unconfirmed_alarm(client, runtime) -> int:
    """A warning alarm of a kind with a city event category, waiting for a person to confirm it."""
    headers = bearer(client, "hbj_admin")
    ds = new_thing(client, headers)["datastreams"][0]
    rule = client.post(
        "/api/sensing/alarm-rules",
        headers=headers,
        json={
            "name": "PM2.5 重度污染",
            "kind": "threshold",
            "datastream_id": ds,
            "threshold": 150,
            "event_category": "HB01",
        },
    )
    assert rule.status_code == 201, rule.text
    at = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": [[at, 260]]}]
    assert client.post("/sta/v1.1/CreateObservations", json=body, headers=headers).status_code == 201
    with runtime.db.unit_of_work() as db:
        sensing_service.run_processing(db)
    alarm = next(a for a in client.get("/api/sensing/alarms", headers=headers).json() if a["datastream_id"] == ds)
    assert not alarm["confirmed"]
    return alarm["id"]


def _city_events_for(runtime, alarm_id: int) -> int:
    with runtime.db.unit_of_work() as db:
        return 1 if cityops_service.event_for_alarm(db, alarm_id=alarm_id) is not None else 0


def _outbox_rows(runtime, alarm_id: int) -> list[tuple[int, str]]:
    with runtime.db.unit_of_work() as db:
        rows = db.execute(
            select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.payload).where(
                OutboxMessage.name == "sensing.alarm_confirmed"
            )
        ).all()
    return [(row_id, status) for row_id, status, payload in rows if f'"alarm_id":{alarm_id},' in payload]


def _listed_events_for(client, alarm_id: int) -> int:
    dispatcher = bearer(client, "ldz_dispatcher")
    listed = client.get("/api/cityops/events?source=sensor&category=HB01&size=200", headers=dispatcher).json()["items"]
    return sum(1 for e in listed if f"告警编号 {alarm_id}" in e["description"])


@pytest.mark.slow
def test_killed_after_commit_the_alarm_still_opens_one_city_event(client, runtime, tmp_path):
    alarm_id = _unconfirmed_alarm(client, runtime)
    settings = runtime.settings

    crashing = Server(settings, tmp_path / "crash.log", **{CRASH_AFTER_COMMIT_ENV: "sensing.alarm_confirmed"})
    try:
        crashing.wait_ready()
        headers = {"Authorization": f"Bearer {token(crashing.url, 'hbj_admin', DEMO_PASSWORD)}"}
        with contextlib.suppress(httpx.HTTPError):  # the process dies under the request, as intended
            httpx.post(
                f"{crashing.url}/api/sensing/alarms/{alarm_id}/actions",
                json={"action": "confirm"},
                headers=headers,
                timeout=30,
            )
        assert crashing.process.wait(timeout=30) == 137
    finally:
        crashing.kill()

    # The confirmation committed, and its event with it; nothing delivered it.
    assert client.get("/api/sensing/alarms", headers=bearer(client, "hbj_admin")).status_code == 200
    rows = _outbox_rows(runtime, alarm_id)
    assert [status for _, status in rows] == ["pending"]
    assert _city_events_for(runtime, alarm_id) == 0

    restarted = Server(
        settings, tmp_path / "restart.log", YIWANG_RUN_JOBS_IN_PROCESS="true", YIWANG_EVENT_DELIVERY_SECONDS="1"
    )
    try:
        restarted.wait_ready()
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while _outbox_rows(runtime, alarm_id)[0][1] != "delivered":
            assert datetime.now(UTC) < deadline, "the restarted process did not deliver the event"
            restarted.process.poll()
            assert restarted.process.returncode is None
            time.sleep(0.3)
    finally:
        restarted.stop()
    assert _city_events_for(runtime, alarm_id) == 1
    assert _listed_events_for(client, alarm_id) == 1

    # At least once: the same event delivered again (a node that died after the handler but before
    # the commit would do this) still leaves one city event.
    row_id = rows[0][0]
    with runtime.db.unit_of_work() as db:
        db.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(status="pending", handlers_done="[]"))
    assert events.deliver_one(runtime.db.engine, row_id=row_id).delivered
    assert _listed_events_for(client, alarm_id) == 1
