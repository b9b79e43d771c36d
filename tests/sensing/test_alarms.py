"""Alarms: threshold rules, de-duplication window, flapping suppression, lifecycle, and alarm → city event."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.conftest import bearer
from tests.sensing.conftest import new_thing
from yiwang.sensing import models as m
from yiwang.sensing import service


def _post(client, headers, ds, points):
    body = [
        {
            "Datastream": {"@iot.id": ds},
            "components": ["phenomenonTime", "result"],
            "dataArray": [[t.strftime("%Y-%m-%dT%H:%M:%SZ"), v] for t, v in points],
        }
    ]
    assert client.post("/sta/v1.1/CreateObservations", json=body, headers=headers).status_code == 201


def _process(runtime):
    with runtime.db.unit_of_work() as db:
        service.run_processing(db)


def _alarms(runtime, ds):
    with runtime.db.unit_of_work() as db:
        rows = db.execute(select(m.Alarm).where(m.Alarm.datastream_id == ds).order_by(m.Alarm.id)).scalars().all()
        return [(a.state, a.occurrences, a.reopened, a.flapping) for a in rows]


def test_dedup_window_and_flapping(client, runtime):
    headers = bearer(client, "hbj_admin")
    ds = new_thing(client, headers)["datastreams"][0]
    rule = client.post(
        "/api/sensing/alarm-rules",
        headers=headers,
        json={
            "name": "测试阈值",
            "kind": "threshold",
            "datastream_id": ds,
            "operator": ">",
            "threshold": 100,
            "dedup_minutes": 30,
            "flap_limit": 3,
            "flap_window_minutes": 120,
        },
    )
    assert rule.status_code == 201, rule.text
    t0 = datetime(2026, 10, 1, 8, tzinfo=UTC)
    minute = timedelta(minutes=1)
    _post(client, headers, ds, [(t0, 50), (t0 + minute, 150), (t0 + 2 * minute, 160)])
    _process(runtime)
    assert _alarms(runtime, ds) == [("active", 2, 0, False)]  # the repeat folded into the open alarm
    _post(client, headers, ds, [(t0 + 3 * minute, 50)])
    _process(runtime)
    assert _alarms(runtime, ds) == [("cleared", 2, 0, False)]
    # back above the threshold within the de-dup window: the same alarm again, not a new one
    _post(
        client,
        headers,
        ds,
        [(t0 + 10 * minute, 170), (t0 + 11 * minute, 50), (t0 + 12 * minute, 180), (t0 + 13 * minute, 50)],
    )
    _process(runtime)
    assert _alarms(runtime, ds) == [("cleared", 4, 2, False)]
    _post(client, headers, ds, [(t0 + 14 * minute, 190), (t0 + 15 * minute, 50)])
    _process(runtime)
    # the third re-open inside the flap window marks it flapping: it stays open and is not auto-cleared
    assert _alarms(runtime, ds) == [("active", 5, 3, True)]
    # outside the de-dup window after a person clears it, a new alarm is raised
    alarm_id = client.get("/api/sensing/alarms?state=active", headers=headers).json()
    mine = next(a for a in alarm_id if a["datastream_id"] == ds)
    cleared = client.post(f"/api/sensing/alarms/{mine['id']}/actions", json={"action": "clear"}, headers=headers)
    assert cleared.status_code == 200 and cleared.json()["state"] == "cleared"
    _post(client, headers, ds, [(t0 + timedelta(hours=5), 200)])
    _process(runtime)
    states = _alarms(runtime, ds)
    assert len(states) == 2 and states[1] == ("active", 1, 0, False)


def test_alarm_lifecycle_and_bad_actions(client, runtime):
    headers = bearer(client, "hbj_admin")
    ds = new_thing(client, headers)["datastreams"][0]
    client.post(
        "/api/sensing/alarm-rules",
        headers=headers,
        json={"name": "生命周期", "kind": "threshold", "datastream_id": ds, "threshold": 10},
    )
    _post(client, headers, ds, [(datetime(2026, 10, 2, tzinfo=UTC), 20)])
    _process(runtime)
    alarm = next(a for a in client.get("/api/sensing/alarms", headers=headers).json() if a["datastream_id"] == ds)
    ack = client.post(f"/api/sensing/alarms/{alarm['id']}/actions", json={"action": "acknowledge"}, headers=headers)
    assert ack.json()["state"] == "acknowledged"
    again = client.post(f"/api/sensing/alarms/{alarm['id']}/actions", json={"action": "acknowledge"}, headers=headers)
    assert again.status_code == 409
    assert (
        client.post(
            f"/api/sensing/alarms/{alarm['id']}/actions", json={"action": "explode"}, headers=headers
        ).status_code
        == 422
    )
    assert (
        client.post("/api/sensing/alarms/999999/actions", json={"action": "clear"}, headers=headers).status_code == 404
    )
    citizen = bearer(client, "zhangsan")
    assert (
        client.post(f"/api/sensing/alarms/{alarm['id']}/actions", json={"action": "clear"}, headers=citizen).status_code
        == 403
    )
    bad_rule = client.post("/api/sensing/alarm-rules", headers=headers, json={"name": "x", "kind": "threshold"})
    assert bad_rule.status_code == 422
    assert (
        client.post("/api/sensing/alarm-rules", headers=headers, json={"name": "x", "kind": "magic"}).status_code == 422
    )


def test_gas_leak_alarm_opens_a_city_event(client, runtime):
    headers = bearer(client, "hbj_admin")
    ds = new_thing(client, headers, max_valid=100)["datastreams"][0]
    client.post(
        "/api/sensing/alarm-rules",
        headers=headers,
        json={
            "name": "燃气泄漏",
            "kind": "threshold",
            "datastream_id": ds,
            "threshold": 20,
            "operator": ">=",
            "severity": "critical",
            "event_category": "ZJ04",
        },
    )
    _post(client, headers, ds, [(datetime.now(UTC) - timedelta(minutes=5), 35)])
    _process(runtime)  # critical alarms of a kind with a category are confirmed at once → event after commit
    dispatcher = bearer(client, "ldz_dispatcher")
    events = client.get("/api/cityops/events?source=sensor&size=50", headers=dispatcher).json()["items"]
    mine = [e for e in events if "燃气泄漏" in e["title"] and e["category_code"] == "ZJ04"]
    assert mine, events
    assert mine[0]["department_code"] == "ZJJ" and mine[0]["status"] == "dispatched"
    # a warning alarm is confirmed by a person; the event opens once only
    ds2 = new_thing(client, headers)["datastreams"][0]
    client.post(
        "/api/sensing/alarm-rules",
        headers=headers,
        json={
            "name": "PM2.5 重度污染",
            "kind": "threshold",
            "datastream_id": ds2,
            "threshold": 150,
            "event_category": "HB01",
        },
    )
    _post(client, headers, ds2, [(datetime.now(UTC) - timedelta(minutes=5), 260)])
    _process(runtime)
    alarm = next(a for a in client.get("/api/sensing/alarms", headers=headers).json() if a["datastream_id"] == ds2)
    assert not alarm["confirmed"]
    confirmed = client.post(f"/api/sensing/alarms/{alarm['id']}/actions", json={"action": "confirm"}, headers=headers)
    assert confirmed.status_code == 200 and confirmed.json()["confirmed"]
    assert (
        client.post(
            f"/api/sensing/alarms/{alarm['id']}/actions", json={"action": "confirm"}, headers=headers
        ).status_code
        == 409
    )
    events = client.get("/api/cityops/events?source=sensor&category=HB01&size=50", headers=dispatcher).json()["items"]
    assert sum(1 for e in events if f"告警编号 {alarm['id']}" in e["description"]) == 1
