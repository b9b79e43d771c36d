"""SensorThings API 1.1: entities, deep insert, query options, paging, dataArray, idempotency, rejects."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import bearer
from tests.sensing.conftest import new_thing


@pytest.fixture
def steward(client):
    return bearer(client, "hbj_steward")


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _load(client, headers, ds: int, values: list[float], start: datetime) -> list:
    body = [
        {
            "Datastream": {"@iot.id": ds},
            "components": ["phenomenonTime", "result"],
            "dataArray": [[_iso(start + timedelta(hours=i)), v] for i, v in enumerate(values)],
        }
    ]
    response = client.post("/sta/v1.1/CreateObservations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_service_root_lists_entity_sets(client, steward):
    body = client.get("/sta/v1.1/", headers=steward).json()
    assert {v["name"] for v in body["value"]} == {
        "Things",
        "Locations",
        "HistoricalLocations",
        "Datastreams",
        "Sensors",
        "ObservedProperties",
        "Observations",
        "FeaturesOfInterest",
    }
    assert any("data-array" in c for c in body["serverSettings"]["conformance"])


def test_deep_insert_creates_the_graph_and_navigation_works(client, steward):
    thing = new_thing(client, steward, streams=("pm25", "no2"))
    tid = thing["thing_id"]
    got = client.get(f"/sta/v1.1/Things({tid})", headers=steward).json()
    assert got["name"] == thing["name"] and got["@iot.selfLink"].endswith(f"/Things({tid})")
    assert got["Datastreams@iot.navigationLink"].endswith(f"/Things({tid})/Datastreams")
    locations = client.get(f"/sta/v1.1/Things({tid})/Locations", headers=steward).json()["value"]
    assert locations[0]["location"]["coordinates"] == [120.75, 31.65]
    hist = client.get(f"/sta/v1.1/Things({tid})/HistoricalLocations?$expand=Locations", headers=steward).json()
    assert len(hist["value"]) == 1 and hist["value"][0]["Locations"][0]["name"].endswith("-loc")
    ds = thing["datastreams"][0]
    op = client.get(f"/sta/v1.1/Datastreams({ds})/ObservedProperty", headers=steward).json()
    assert op["name"] == "pm25"
    name = client.get(f"/sta/v1.1/Things({tid})/name/$value", headers=steward)
    assert name.text == thing["name"]
    assert client.get(f"/sta/v1.1/Things({tid})/name", headers=steward).json() == {"name": thing["name"]}
    # the Thing took the creator's department, so a steward of another department cannot change it
    other = bearer(client, "dsj_steward")
    response = client.patch(f"/sta/v1.1/Things({tid})", json={"description": "x"}, headers=other)
    assert response.status_code == 403


def test_query_options_filter_orderby_top_skip_count_select_expand(client, steward):
    thing = new_thing(client, steward)
    ds = thing["datastreams"][0]
    start = datetime(2026, 5, 1, tzinfo=UTC)
    _load(client, steward, ds, [float(v) for v in range(10)], start)
    base = f"/sta/v1.1/Datastreams({ds})/Observations"
    get = lambda q: client.get(base + q, headers=steward)  # noqa: E731
    body = get("?$filter=result gt 6&$orderby=result desc").json()
    assert [o["result"] for o in body["value"]] == [9, 8, 7]
    body = get("?$filter=result ge 2 and result lt 5 or result eq 9&$orderby=result").json()
    assert [o["result"] for o in body["value"]] == [2, 3, 4, 9]
    body = get("?$filter=not (result le 7)&$orderby=result").json()
    assert [o["result"] for o in body["value"]] == [8, 9]
    body = get("?$filter=result mul 2 add 1 eq 7").json()  # arithmetic
    assert [o["result"] for o in body["value"]] == [3]
    body = get("?$filter=result mod 4 eq 1 and result sub 1 ge 4&$orderby=result").json()
    assert [o["result"] for o in body["value"]] == [5, 9]
    body = get(
        "?$filter=hour(phenomenonTime) eq 3 and year(phenomenonTime) eq 2026 and month(phenomenonTime) eq 5"
    ).json()
    assert [o["result"] for o in body["value"]] == [3]
    body = get(f"?$filter=phenomenonTime ge {_iso(start + timedelta(hours=8))}&$orderby=phenomenonTime").json()
    assert [o["result"] for o in body["value"]] == [8, 9]
    body = get("?$orderby=result&$top=3&$skip=2&$count=true").json()
    assert body["@iot.count"] == 10 and [o["result"] for o in body["value"]] == [2, 3, 4]
    assert "$skip=5" in body["@iot.nextLink"]
    next_page = client.get(body["@iot.nextLink"].replace("http://testserver", ""), headers=steward).json()
    assert [o["result"] for o in next_page["value"]] == [5, 6, 7]
    body = get("?$select=result,phenomenonTime&$top=1&$orderby=result").json()
    assert set(body["value"][0]) == {"result", "phenomenonTime"}
    # string functions over names, and through a navigation path
    name = thing["name"]
    things = client.get(
        f"/sta/v1.1/Things?$filter=substringof('{name[6:]}', name) and startswith(name, 'thing-') "
        f"and endswith(name, '{name[-3:]}') and length(name) eq {len(name)} and tolower(toupper(name)) eq '{name}'"
        f" and indexof(name, '-') eq 5 and substring(name, 6) eq '{name[6:]}' and trim(name) eq '{name}'"
        f" and concat(name, 'x') eq '{name}x'",
        headers=steward,
    ).json()
    assert [t["name"] for t in things["value"]] == [name]
    obs = client.get(
        f"/sta/v1.1/Observations?$filter=Datastream/Thing/name eq '{name}' and result eq 4", headers=steward
    ).json()
    assert [o["result"] for o in obs["value"]] == [4]
    props = client.get(f"/sta/v1.1/Things?$filter=properties/owner eq 'test' and name eq '{name}'", headers=steward)
    assert len(props.json()["value"]) == 1
    maths = client.get(
        f"/sta/v1.1/Datastreams({ds})/Observations?$filter=round(result div 4) eq 1 and floor(result div 4)"
        " eq 1 and ceiling(result div 4) eq 2&$orderby=result",
        headers=steward,
    ).json()
    assert [o["result"] for o in maths["value"]] == [5]
    # $expand with nested options
    body = client.get(
        f"/sta/v1.1/Things({thing['thing_id']})?$expand=Datastreams($select=name;$expand=Observations($top=2;"
        "$orderby=result desc;$filter=result lt 9)),Locations",
        headers=steward,
    ).json()
    expanded = body["Datastreams"][0]
    assert set(expanded) >= {"name", "Observations"} and "description" not in expanded
    assert [o["result"] for o in expanded["Observations"]] == [8, 7]
    assert "Observations@iot.nextLink" in expanded
    assert body["Locations"][0]["encodingType"] == "application/geo+json"
    # dataArray result format
    arr = get("?$resultFormat=dataArray&$orderby=result&$top=2").json()
    assert arr["value"][0]["components"][:3] == ["id", "phenomenonTime", "result"]
    assert [row[2] for row in arr["value"][0]["dataArray"]] == [0, 1]


@pytest.mark.parametrize(
    "query",
    [
        "$filter=result gt",
        "$filter=result eq 'x",
        "$filter=nosuch eq 1",
        "$filter=frobnicate(result) eq 1",
        "$top=-1",
        "$skip=abc",
        "$count=maybe",
        "$orderby=",
        "$expand=Nope",
        "$select=bad name",
        "$foo=1",
        "$filter=(result gt 1",
        "$filter=Datastreams/name eq 'x'",
    ],
)
def test_malformed_query_options_are_400(client, steward, query):
    response = client.get(f"/sta/v1.1/Observations?{query}", headers=steward)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_query"


def test_data_array_idempotent_resend_and_rejects(client, steward):
    thing = new_thing(client, steward, max_valid=500)
    ds = thing["datastreams"][0]
    start = datetime(2026, 6, 1, tzinfo=UTC)
    links = _load(client, steward, ds, [10.0, 11.0, 12.0], start)
    assert all(link.startswith("http://testserver/sta/v1.1/Observations(") for link in links)
    again = _load(client, steward, ds, [10.0, 11.0, 12.0], start)
    assert again == links  # same datastream and phenomenon time → the same observations, nothing new
    count = client.get(f"/sta/v1.1/Datastreams({ds})/Observations?$count=true&$top=0", headers=steward).json()
    assert count["@iot.count"] == 3
    future = _iso(datetime.now(UTC) + timedelta(days=2))
    body = [
        {
            "Datastream": {"@iot.id": ds},
            "components": ["phenomenonTime", "result"],
            "dataArray": [
                [_iso(start + timedelta(hours=5)), "high"],
                [_iso(start + timedelta(hours=6)), 9999],
                [future, 1.0],
                [_iso(start + timedelta(hours=7)), 13.0],
            ],
        },
        {
            "Datastream": {"@iot.id": 999999999},
            "components": ["phenomenonTime", "result"],
            "dataArray": [[_iso(start), 1.0]],
        },
    ]
    response = client.post("/sta/v1.1/CreateObservations", json=body, headers=steward)
    assert response.status_code == 201
    links = response.json()
    assert links[:3] == ["error", "error", "error"] and links[3].startswith("http") and links[4] == "error"
    detail = client.get(f"/api/sensing/things/{thing['thing_id']}", headers=steward).json()
    assert detail["rejects"] == {"wrong_type": 1, "out_of_range": 1, "future_time": 1}
    assert (
        detail["thing"]["rejects_total"] == 3 and detail["thing"]["messages_total"] == 7
    )  # valid messages, re-sends included


def test_single_observation_create_update_delete(client, steward):
    thing = new_thing(client, steward)
    ds = thing["datastreams"][0]
    response = client.post(
        f"/sta/v1.1/Datastreams({ds})/Observations",
        json={"phenomenonTime": "2026-07-01T00:00:00Z", "result": 21.5},
        headers=steward,
    )
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    obs_id = response.json()["@iot.id"]
    assert location.endswith(f"/Observations({obs_id})")
    bad = client.post(
        "/sta/v1.1/Observations",
        json={"Datastream": {"@iot.id": ds}, "result": "x", "phenomenonTime": "2026-07-01T01:00:00Z"},
        headers=steward,
    )
    assert bad.status_code == 422
    patched = client.patch(f"/sta/v1.1/Observations({obs_id})", json={"result": 30}, headers=steward)
    assert patched.status_code == 200 and patched.json()["result"] == 30
    assert client.delete(f"/sta/v1.1/Observations({obs_id})", headers=steward).status_code == 200
    assert client.get(f"/sta/v1.1/Observations({obs_id})", headers=steward).status_code == 404
    assert client.delete(f"/sta/v1.1/Things({thing['thing_id']})", headers=steward).status_code == 200
    assert client.get(f"/sta/v1.1/Datastreams({ds})", headers=steward).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/sta/v1.1/Things", {"description": "no name"}, 422),
        ("/sta/v1.1/Things", {"name": "x", "colour": "red"}, 422),
        ("/sta/v1.1/Things", [1, 2], 422),
        ("/sta/v1.1/Things", {"name": 5}, 422),
        ("/sta/v1.1/Datastreams", {"name": "x", "observationType": "t", "unitOfMeasurement": {}}, 422),
        ("/sta/v1.1/Nope", {"name": "x"}, 404),
        ("/sta/v1.1/Things(1)", {"name": "x"}, 405),
        ("/sta/v1.1/CreateObservations", {"not": "a list"}, 422),
        (
            "/sta/v1.1/CreateObservations",
            [{"Datastream": {"@iot.id": 1}, "components": ["result"], "dataArray": []}],
            422,
        ),
        (
            "/sta/v1.1/CreateObservations",
            [
                {
                    "Datastream": {"@iot.id": 1},
                    "components": ["phenomenonTime", "result"],
                    "dataArray": [["yesterday", 1]],
                }
            ],
            422,
        ),
    ],
)
def test_bad_payloads_are_4xx(client, steward, path, body, status):
    response = client.post(path, json=body, headers=steward)
    assert response.status_code == status, response.text
    assert "error" in response.json()


def test_malformed_json_body(client, steward):
    response = client.post(
        "/sta/v1.1/Things", content=b"{not json", headers={**steward, "content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_json"


def test_http_basic_and_anonymous(client):
    basic = {"Authorization": "Basic " + base64.b64encode(b"hbj_steward:changshu2026").decode()}
    assert client.get("/sta/v1.1/Things?$top=1", headers=basic).status_code == 200
    wrong = {"Authorization": "Basic " + base64.b64encode(b"hbj_steward:nope").decode()}
    assert client.get("/sta/v1.1/Things", headers=wrong).status_code == 401
    assert client.get("/sta/v1.1/Things").status_code == 401
    citizen = bearer(client, "zhangsan")
    assert client.get("/sta/v1.1/Things", headers=citizen).status_code == 403


def test_device_token_ingest(client, steward):
    thing = new_thing(client, steward)
    other = new_thing(client, steward)
    ds = thing["datastreams"][0]
    token = client.post("/api/sensing/device-tokens", json={"thing_id": thing["thing_id"]}, headers=steward).json()
    headers = {"X-Device-Token": token["token"]}
    payload = {
        "observations": [
            {"datastream": ds, "phenomenonTime": "2026-08-01T00:00:00Z", "result": 5},
            {"datastream": ds, "phenomenonTime": "2026-08-01T01:00:00Z", "result": 6},
            {"datastream": other["datastreams"][0], "phenomenonTime": "2026-08-01T01:00:00Z", "result": 6},
        ]
    }
    result = client.post("/api/sensing/ingest", json=payload, headers=headers).json()
    assert result["accepted"] == 2 and result["rejected"] == 1  # not its own datastream
    again = client.post("/api/sensing/ingest", json=payload, headers=headers).json()
    assert again["accepted"] == 0 and again["duplicates"] == 2
    assert client.post("/api/sensing/ingest", json=payload, headers={"X-Device-Token": "dev_nope"}).status_code == 401
    assert client.post("/api/sensing/ingest", json={"observations": []}, headers=headers).status_code == 422
    assert client.post("/api/sensing/ingest", content=b"[", headers=headers).status_code == 422


def _hour_rollups(runtime, ds: int) -> dict[str, tuple[int, float]]:
    from sqlalchemy import select

    from yiwang.sensing import models as m

    with runtime.db.unit_of_work() as db:
        rows = db.execute(
            select(m.Rollup).where(m.Rollup.datastream_id == ds, m.Rollup.period == "hour").order_by(m.Rollup.start)
        ).scalars()
        return {r.start.strftime("%H:%M"): (r.count, r.mean) for r in rows}


def test_corrected_and_deleted_observations_keep_the_rollups_right(client, runtime, steward):
    from yiwang.sensing import service

    ds, other = new_thing(client, steward, streams=("fix_a", "fix_b"))["datastreams"]
    ids = [
        client.post(
            f"/sta/v1.1/Datastreams({ds})/Observations",
            json={"phenomenonTime": f"2026-06-01T08:{minute:02d}:00Z", "result": value},
            headers=steward,
        ).json()["@iot.id"]
        for minute, value in ((0, 10.0), (30, 20.0))
    ]
    with runtime.db.unit_of_work() as db:
        service.run_processing(db)
    assert _hour_rollups(runtime, ds) == {"08:00": (2, 15.0)}
    corrected = client.patch(f"/sta/v1.1/Observations({ids[1]})", json={"result": 40.0}, headers=steward)
    assert corrected.status_code == 200
    assert _hour_rollups(runtime, ds) == {"08:00": (2, 25.0)}  # at once, not at the next processing turn
    moved = client.patch(
        f"/sta/v1.1/Observations({ids[1]})", json={"phenomenonTime": "2026-06-01T09:10:00Z"}, headers=steward
    )
    assert moved.status_code == 200
    assert _hour_rollups(runtime, ds) == {"08:00": (1, 10.0), "09:00": (1, 40.0)}
    elsewhere = client.patch(
        f"/sta/v1.1/Observations({ids[0]})", json={"Datastream": {"@iot.id": other}}, headers=steward
    )
    assert elsewhere.status_code == 409  # an observation does not move to another datastream
    same = client.patch(
        f"/sta/v1.1/Observations({ids[0]})", json={"Datastream": {"@iot.id": ds}, "result": 12.0}, headers=steward
    )
    assert same.status_code == 200
    assert client.delete(f"/sta/v1.1/Observations({ids[1]})", headers=steward).status_code == 200
    assert _hour_rollups(runtime, ds) == {"08:00": (1, 12.0)}


def test_an_observation_after_the_newest_was_deleted_is_still_rolled_up(client, runtime, steward):
    """SQLite reuses the id of a deleted newest row: the processing markers must not have passed it."""
    from yiwang.sensing import service

    (ds,) = new_thing(client, steward, streams=("reuse_a",))["datastreams"]

    def observe(minute: int, value: float) -> int:
        body = {"phenomenonTime": f"2026-06-02T08:{minute:02d}:00Z", "result": value}
        created = client.post(f"/sta/v1.1/Datastreams({ds})/Observations", json=body, headers=steward)
        assert created.status_code == 201, created.text
        return created.json()["@iot.id"]

    observe(0, 10.0)
    newest = observe(10, 20.0)
    with runtime.db.unit_of_work() as db:
        service.run_processing(db)
    assert client.delete(f"/sta/v1.1/Observations({newest})", headers=steward).status_code == 200
    observe(20, 50.0)
    with runtime.db.unit_of_work() as db:
        service.run_processing(db)
    assert _hour_rollups(runtime, ds) == {"08:00": (2, 30.0)}


def test_rollups_step_over_a_gap_in_ids_wider_than_a_batch(client, runtime, steward, monkeypatch):
    """Ids can jump (a rolled-back bulk insert spends its sequence values): the next batch starts at the
    next id that exists, not at a fixed window that may hold none."""
    from sqlalchemy import delete

    from yiwang.sensing import models as m
    from yiwang.sensing import processing, service

    (ds,) = new_thing(client, steward, streams=("gap_a",))["datastreams"]
    ids = [
        client.post(
            f"/sta/v1.1/Datastreams({ds})/Observations",
            json={"phenomenonTime": f"2026-06-03T{hour:02d}:00:00Z", "result": float(hour)},
            headers=steward,
        ).json()["@iot.id"]
        for hour in (8, 9, 10)
    ]
    assert ids[1] == ids[0] + 1
    with runtime.db.unit_of_work() as db:
        service.run_processing(db)  # the marker passes all three ...
        processing.progress_marker(db, "rollup").position = ids[0]  # ... and is set back behind a gap
        db.execute(delete(m.Observation).where(m.Observation.id == ids[1]))
        db.execute(delete(m.Rollup).where(m.Rollup.datastream_id == ds))
    monkeypatch.setattr(processing, "BATCH", 1)  # the gap is wider than a batch
    with runtime.db.unit_of_work() as db:
        service.run_processing(db)
    assert _hour_rollups(runtime, ds) == {"10:00": (1, 10.0)}
