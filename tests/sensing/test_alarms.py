"""Alarms: threshold rules, de-duplication window, flapping suppression, lifecycle, and alarm → city event."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.conftest import bearer, page_login
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


# ---- rate and nodata rules, driven by a controllable clock ----------------------------------------------


def _rule(client, headers, **body) -> int:
    response = client.post("/api/sensing/alarm-rules", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _process_at(runtime, now):
    with runtime.db.unit_of_work() as db:
        service.run_processing(db, now=now)


def _rule_alarms(runtime, rule_id):
    with runtime.db.unit_of_work() as db:
        rows = db.execute(select(m.Alarm).where(m.Alarm.rule_id == rule_id).order_by(m.Alarm.id)).scalars().all()
        return [(a.state, a.occurrences, a.reopened, a.value) for a in rows]


def _recent_start() -> datetime:
    """A whole minute a day ago: late enough that every test point is in the past, so none is refused."""
    return datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)


def test_rate_rule_fires_on_a_rise_faster_than_the_limit(client, runtime):
    headers = bearer(client, "hbj_admin")
    fast, slow, falling = new_thing(client, headers, streams=("level_fast", "level_slow", "level_fall"))["datastreams"]
    rise = {"kind": "rate", "operator": ">", "threshold": 0.5, "dedup_minutes": 30, "flap_window_minutes": 180}
    fast_rule = _rule(client, headers, name="水位上涨过快", datastream_id=fast, **rise)
    slow_rule = _rule(client, headers, name="水位上涨过快", datastream_id=slow, **rise)
    rise_on_fall = _rule(client, headers, name="水位上涨过快", datastream_id=falling, **rise)
    fall_rule = _rule(
        client, headers, name="水位下降过快", kind="rate", datastream_id=falling, operator="<", threshold=-0.5
    )
    t0 = _recent_start()
    half_hour = timedelta(minutes=30)
    # the readings arrive one at a time, each in its own processing turn, as they do from a live station
    _post(client, headers, fast, [(t0, 3.0)])
    _post(client, headers, slow, [(t0, 3.0)])
    _post(client, headers, falling, [(t0, 3.4)])
    _process_at(runtime, t0 + timedelta(minutes=1))
    _post(client, headers, fast, [(t0 + half_hour, 3.4)])  # +0.8 m/h
    _post(client, headers, slow, [(t0 + half_hour, 3.2)])  # +0.4 m/h
    _post(client, headers, falling, [(t0 + half_hour, 3.0)])  # -0.8 m/h
    _process_at(runtime, t0 + half_hour + timedelta(minutes=1))
    assert _rule_alarms(runtime, fast_rule) == [("active", 1, 0, 3.4)]
    assert _rule_alarms(runtime, slow_rule) == []
    assert _rule_alarms(runtime, rise_on_fall) == []  # a fall is not a rise
    assert _rule_alarms(runtime, fall_rule) == [("active", 1, 0, 3.0)]
    # still rising fast: the repeat folds into the open alarm
    _post(client, headers, fast, [(t0 + 2 * half_hour, 3.8)])
    _process_at(runtime, t0 + 2 * half_hour + timedelta(minutes=1))
    assert _rule_alarms(runtime, fast_rule) == [("active", 2, 0, 3.8)]
    # the rise slows below the limit: the condition no longer holds and the alarm clears
    _post(client, headers, fast, [(t0 + 3 * half_hour, 3.85)])  # +0.1 m/h
    _process_at(runtime, t0 + 3 * half_hour + timedelta(minutes=1))
    assert _rule_alarms(runtime, fast_rule) == [("cleared", 2, 0, 3.8)]
    # rising fast again inside the de-duplication window re-opens the same alarm
    _post(client, headers, fast, [(t0 + 3 * half_hour + timedelta(minutes=10), 4.3)])  # +2.7 m/h
    _process_at(runtime, t0 + 3 * half_hour + timedelta(minutes=11))
    assert _rule_alarms(runtime, fast_rule) == [("active", 3, 1, 4.3)]
    # outside the window (a person cleared it long before), a new alarm is raised
    with runtime.db.unit_of_work() as db:
        alarm = db.execute(select(m.Alarm).where(m.Alarm.rule_id == fast_rule)).scalar_one()
        alarm.state, alarm.cleared_at = "cleared", t0 + 3 * half_hour + timedelta(minutes=12)
    _post(client, headers, fast, [(t0 + 6 * half_hour, 4.4), (t0 + 6 * half_hour + timedelta(minutes=6), 4.6)])
    _process_at(runtime, t0 + 6 * half_hour + timedelta(minutes=7))
    assert _rule_alarms(runtime, fast_rule) == [("cleared", 3, 1, 4.3), ("active", 1, 0, 4.6)]


def test_rate_needs_a_previous_reading(client, runtime):
    headers = bearer(client, "hbj_admin")
    ds = new_thing(client, headers, streams=("level_first",))["datastreams"][0]
    rule = _rule(client, headers, name="水位上涨过快", kind="rate", datastream_id=ds, threshold=0.5)
    _post(client, headers, ds, [(_recent_start(), 900.0)])  # a first reading has no rate, however high
    _process_at(runtime, _recent_start() + timedelta(minutes=1))
    assert _rule_alarms(runtime, rule) == []


def test_nodata_rule_fires_after_the_window_and_clears_when_data_returns(client, runtime):
    headers = bearer(client, "hbj_admin")
    ds = new_thing(client, headers, streams=("level_silent",))["datastreams"][0]
    rule = _rule(client, headers, name="数据中断", kind="nodata", datastream_id=ds, window_minutes=60, dedup_minutes=30)
    t0 = _recent_start()
    minutes = lambda n: t0 + timedelta(minutes=n)  # noqa: E731
    _post(client, headers, ds, [(t0, 1.0)])
    _process_at(runtime, minutes(59))
    assert _rule_alarms(runtime, rule) == []  # not yet: the window has not passed
    _process_at(runtime, minutes(61))
    assert _rule_alarms(runtime, rule) == [("active", 1, 0, None)]
    _process_at(runtime, minutes(75))
    assert _rule_alarms(runtime, rule) == [("active", 2, 0, None)]  # still silent: one alarm, counted again
    _post(client, headers, ds, [(minutes(80), 2.0)])
    _process_at(runtime, minutes(81))
    assert _rule_alarms(runtime, rule) == [("cleared", 2, 0, None)]  # data is back
    _process_at(runtime, minutes(139))
    assert _rule_alarms(runtime, rule) == [("cleared", 2, 0, None)]  # 59 minutes after the last value
    _process_at(runtime, minutes(141))
    # silent again, an hour after the clearing (beyond the 30-minute de-dup window): a new alarm
    assert _rule_alarms(runtime, rule) == [("cleared", 2, 0, None), ("active", 1, 0, None)]
    with runtime.db.unit_of_work() as db:
        alarms = db.execute(select(m.Alarm).where(m.Alarm.rule_id == rule).order_by(m.Alarm.id)).scalars().all()
        assert alarms[0].cleared_at == minutes(81) and alarms[1].raised_at == minutes(141)


def test_nodata_repeat_within_the_dedup_window_reopens_the_same_alarm(client, runtime):
    headers = bearer(client, "hbj_admin")
    ds = new_thing(client, headers, streams=("level_flaky",))["datastreams"][0]
    rule = _rule(client, headers, name="数据中断", kind="nodata", datastream_id=ds, window_minutes=10, dedup_minutes=60)
    t0 = _recent_start()
    minutes = lambda n: t0 + timedelta(minutes=n)  # noqa: E731
    _post(client, headers, ds, [(t0, 1.0)])
    _process_at(runtime, minutes(11))
    _post(client, headers, ds, [(minutes(12), 1.0)])
    _process_at(runtime, minutes(13))
    assert _rule_alarms(runtime, rule) == [("cleared", 1, 0, None)]
    _process_at(runtime, minutes(23))  # silent for 11 minutes, 10 minutes after the clearing
    assert _rule_alarms(runtime, rule) == [("active", 2, 1, None)]


def test_nodata_counts_a_new_silent_datastream_from_when_it_was_added(client, runtime):
    headers = bearer(client, "hbj_admin")
    ds = new_thing(client, headers, streams=("level_never",))["datastreams"][0]
    rule = _rule(client, headers, name="数据中断", kind="nodata", datastream_id=ds, window_minutes=60)
    with runtime.db.unit_of_work() as db:
        added = db.get(m.Datastream, ds).created_at
    assert added is not None
    _process_at(runtime, added + timedelta(minutes=30))
    assert _rule_alarms(runtime, rule) == []  # newly added and never reported: still within the window
    _process_at(runtime, added + timedelta(minutes=61))
    assert _rule_alarms(runtime, rule) == [("active", 1, 0, None)]  # an hour and nothing yet


# ---- AQI rules: a station's hourly AQI ------------------------------------------------------------------


def _air_station(client, runtime, headers) -> tuple[int, dict[str, int]]:
    """A new air station whose PM2.5 and PM10 datastreams observe the platform's pollutant properties."""
    with runtime.db.unit_of_work() as db:
        properties = dict(
            db.execute(
                select(m.ObservedProperty.code, m.ObservedProperty.id).where(
                    m.ObservedProperty.code.in_(("pm25", "pm10"))
                )
            ).all()
        )
    name = f"AQI 测试站 {datetime.now(UTC).timestamp()}"
    body = {
        "name": name,
        "description": "测试空气站",
        "properties": {"kind": "air_station"},
        "Datastreams": [
            {
                "name": f"{name}-{code}",
                "description": code,
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {"name": "ug/m3", "symbol": "μg/m³", "definition": ""},
                "Sensor": {
                    "name": f"{name}-{code}",
                    "description": "传感器",
                    "encodingType": "text/html",
                    "metadata": "-",
                },
                "ObservedProperty": {"@iot.id": op_id},
            }
            for code, op_id in properties.items()
        ],
    }
    created = client.post("/sta/v1.1/Things", json=body, headers=headers)
    assert created.status_code == 201, created.text
    thing_id = created.json()["@iot.id"]
    streams = client.get(
        f"/sta/v1.1/Things({thing_id})/Datastreams?$expand=ObservedProperty($select=id)", headers=headers
    ).json()["value"]
    by_property = {v: k for k, v in properties.items()}
    return thing_id, {by_property[s["ObservedProperty"]["@iot.id"]]: s["@iot.id"] for s in streams}


def test_aqi_above_200_raises_a_critical_alarm_that_opens_a_city_event(client, runtime):
    """The demo's rule: a station's hourly AQI above 200 (重度污染) opens an event for 环保局 at once."""
    headers = bearer(client, "hbj_admin")
    thing_id, streams = _air_station(client, runtime, headers)
    with runtime.db.unit_of_work() as db:
        rule = db.execute(select(m.AlarmRule).where(m.AlarmRule.kind == "aqi")).scalars().one()
        assert (rule.operator, rule.threshold, rule.severity, rule.event_category) == (">", 200, "critical", "HB01")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    hours = [now - timedelta(hours=n) for n in (5, 4, 3, 2)]
    # PM2.5 50 → AQI 69; 300 → 350 and 280 → 330 (严重 and 重度 pollution); 60 → 82
    for code, values in {"pm25": (50, 300, 280, 60), "pm10": (40, 60, 60, 40)}.items():
        _post(client, headers, streams[code], list(zip(hours, values, strict=True)))
    with runtime.db.unit_of_work() as db:
        result = service.run_processing(db)
    assert result["aqi_alarms"]["raised"] >= 1
    with runtime.db.unit_of_work() as db:
        alarms = db.execute(select(m.Alarm).where(m.Alarm.rule_id == rule.id, m.Alarm.thing_id == thing_id)).scalars()
        rows = [(a.state, a.occurrences, a.value, a.confirmed, a.raised_at, a.cleared_at) for a in alarms]
    # one alarm for the two polluted hours, confirmed at once, cleared by the clean hour after them
    assert rows == [("cleared", 2, 330, True, hours[1], hours[3])]
    dispatcher = bearer(client, "ldz_dispatcher")
    events = client.get("/api/cityops/events?source=sensor&category=HB01&size=100", headers=dispatcher).json()
    assert sum(1 for e in events["items"] if "AQI 超过 200" in e["title"] + e["description"]) >= 1
    # a later turn does not judge the same hours again
    with runtime.db.unit_of_work() as db:
        again = service.run_processing(db)
        occurrences = db.execute(
            select(m.Alarm.occurrences).where(m.Alarm.rule_id == rule.id, m.Alarm.thing_id == thing_id)
        ).scalar_one()
    assert occurrences == 2 and again["aqi_alarms"]["raised"] == 0


def test_aqi_rules_are_checked_on_creation(client):
    headers = bearer(client, "hbj_admin")
    scoped = client.post(
        "/api/sensing/alarm-rules",
        headers=headers,
        json={"name": "x", "kind": "aqi", "threshold": 200, "observed_property_code": "pm25"},
    )
    assert scoped.status_code == 422
    missing = client.post("/api/sensing/alarm-rules", headers=headers, json={"name": "x", "kind": "aqi"})
    assert missing.status_code == 422


def test_alarm_actions_are_limited_to_the_alarms_department(client, runtime):
    owner = bearer(client, "hbj_admin")
    ds = new_thing(client, owner)["datastreams"][0]
    client.post(
        "/api/sensing/alarm-rules",
        headers=owner,
        json={"name": "部门范围", "kind": "threshold", "datastream_id": ds, "threshold": 10},
    )
    _post(client, owner, ds, [(datetime(2026, 10, 3, tzinfo=UTC), 20)])
    _process(runtime)
    alarm = next(a for a in client.get("/api/sensing/alarms", headers=owner).json() if a["datastream_id"] == ds)
    url = f"/api/sensing/alarms/{alarm['id']}/actions"
    # staff of another department holding the alarm permission: refused, and the alarm is untouched
    outsider = bearer(client, "cgj_admin")
    for action in ("acknowledge", "confirm", "clear"):
        response = client.post(url, json={"action": action}, headers=outsider)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "department_scope"
    assert _alarms(runtime, ds) == [("active", 1, 0, False)]
    # the alarm console offers that outsider no buttons for it
    page_login(client, "cgj_admin")
    page = client.get("/sensing/alarms", headers={"accept": "text/html"}).text
    assert f'action="/sensing/alarms/{alarm["id"]}"' not in page
    # the owning department and the city-wide command centre may act
    assert client.post(url, json={"action": "acknowledge"}, headers=owner).status_code == 200
    dispatcher = bearer(client, "ldz_dispatcher")
    cleared = client.post(url, json={"action": "clear"}, headers=dispatcher)
    assert cleared.status_code == 200 and cleared.json()["state"] == "cleared"
