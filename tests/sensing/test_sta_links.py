"""SensorThings association links: reading `$ref`, and adding, replacing and removing links through it."""

import json

import pytest
from sqlalchemy import select

from tests.conftest import bearer, unique
from tests.sensing.conftest import new_thing
from yiwang.core.audit import AuditEntry

STA = "/sta/v1.1"


@pytest.fixture
def steward(client):
    return bearer(client, "hbj_steward")


def _location(client, headers, lon: float, lat: float) -> int:
    body = {
        "name": unique("loc-"),
        "description": "站点位置",
        "encodingType": "application/geo+json",
        "location": {"type": "Point", "coordinates": [lon, lat]},
    }
    response = client.post(f"{STA}/Locations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["@iot.id"]


def _sensor(client, headers) -> int:
    body = {"name": unique("sensor-"), "description": "备用传感器", "encodingType": "text/html", "metadata": "x"}
    response = client.post(f"{STA}/Sensors", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["@iot.id"]


def _ids(client, headers, path: str) -> list[int]:
    response = client.get(f"{STA}/{path}?$orderby=id", headers=headers)
    assert response.status_code == 200, response.text
    return [v["@iot.id"] for v in response.json()["value"]]


def test_association_link_reads_only_self_links(client, steward):
    thing = new_thing(client, steward, streams=("pm25", "no2"))
    tid, (ds1, ds2) = thing["thing_id"], thing["datastreams"]
    body = client.get(f"{STA}/Things({tid})/Datastreams/$ref?$count=true&$top=1&$orderby=id", headers=steward).json()
    assert body["@iot.count"] == 2
    assert body["value"] == [{"@iot.selfLink": f"http://testserver{STA}/Datastreams({ds1})"}]
    assert "$skip=1" in body["@iot.nextLink"] and "/Datastreams/$ref?" in body["@iot.nextLink"]
    rest = client.get(body["@iot.nextLink"].replace("http://testserver", ""), headers=steward).json()
    assert rest == {"@iot.count": 2, "value": [{"@iot.selfLink": f"http://testserver{STA}/Datastreams({ds2})"}]}
    filtered = client.get(f"{STA}/Things({tid})/Datastreams/$ref?$filter=id eq {ds2}", headers=steward).json()
    assert filtered == {"value": [{"@iot.selfLink": f"http://testserver{STA}/Datastreams({ds2})"}]}
    one = client.get(f"{STA}/Datastreams({ds1})/Thing/$ref", headers=steward).json()
    assert one == {"@iot.selfLink": f"http://testserver{STA}/Things({tid})"}
    for bad in ("$select=name", "$expand=Observations"):
        response = client.get(f"{STA}/Things({tid})/Datastreams/$ref?{bad}", headers=steward)
        assert response.status_code == 400 and response.json()["error"]["code"] == "bad_query"
    for path in (f"Things({tid})/name/$ref", f"Things({tid})/Datastreams/$ref/name", f"Things({tid})/Nope/$ref"):
        assert client.get(f"{STA}/{path}", headers=steward).status_code == 404


def test_linking_a_location_adds_a_historical_location(client, steward):
    thing = new_thing(client, steward)
    tid = thing["thing_id"]
    first = _ids(client, steward, f"Things({tid})/Locations")
    history = _ids(client, steward, f"Things({tid})/HistoricalLocations")
    lakeside = _location(client, steward, 120.70, 31.62)
    response = client.post(f"{STA}/Things({tid})/Locations/$ref", json={"@iot.id": lakeside}, headers=steward)
    assert response.status_code == 204 and response.content == b""
    assert _ids(client, steward, f"Things({tid})/Locations") == sorted([*first, lakeside])
    new_history = sorted(set(_ids(client, steward, f"Things({tid})/HistoricalLocations")) - set(history))
    assert len(new_history) == 1
    assert _ids(client, steward, f"HistoricalLocations({new_history[0]})/Locations") == [lakeside]
    detail = client.get(f"/api/sensing/things/{tid}", headers=steward).json()["thing"]
    assert (detail["lon"], detail["lat"]) == (120.70, 31.62)  # the map follows the new Location
    # linking again is a success that changes nothing
    again = client.post(f"{STA}/Things({tid})/Locations/$ref", json={"@iot.id": lakeside}, headers=steward)
    assert again.status_code == 204
    assert len(_ids(client, steward, f"Things({tid})/HistoricalLocations")) == len(history) + 1
    # a selfLink, absolute or relative to the request URL, names the entity as well; the link works both ways
    hill = _location(client, steward, 120.72, 31.66)
    absolute = {"@iot.selfLink": f"http://testserver{STA}/Locations({hill})"}
    assert client.post(f"{STA}/Things({tid})/Locations/$ref", json=absolute, headers=steward).status_code == 204
    other = new_thing(client, steward)["thing_id"]
    relative = {"@iot.selfLink": f"../../Things({other})"}
    assert client.post(f"{STA}/Locations({hill})/Things/$ref", json=relative, headers=steward).status_code == 204
    assert _ids(client, steward, f"Locations({hill})/Things") == sorted([tid, other])
    assert len(_ids(client, steward, f"Things({other})/HistoricalLocations")) == 2
    with client.app.state.runtime.db.unit_of_work() as db:
        entries = db.execute(
            select(AuditEntry.details)
            .where(AuditEntry.action == "sensing.sta.link", AuditEntry.target_id == str(tid))
            .order_by(AuditEntry.seq)
        ).scalars()
        details = [json.loads(entry) for entry in entries]
    # every link write is audited, the repeat too (it changed nothing)
    assert [d["changed"] for d in details if d["target"] == f"Locations({lakeside})"] == [True, False]


def test_unlinking_a_location(client, steward):
    tid = new_thing(client, steward)["thing_id"]
    (home,) = _ids(client, steward, f"Things({tid})/Locations")
    field = _location(client, steward, 120.80, 31.70)
    client.post(f"{STA}/Things({tid})/Locations/$ref", json={"@iot.id": field}, headers=steward)
    response = client.delete(f"{STA}/Things({tid})/Locations({field})/$ref", headers=steward)
    assert response.status_code == 204 and response.content == b""
    assert _ids(client, steward, f"Things({tid})/Locations") == [home]
    assert client.get(f"{STA}/Locations({field})", headers=steward).status_code == 200  # the entity stays
    detail = client.get(f"/api/sensing/things/{tid}", headers=steward).json()["thing"]
    assert (detail["lon"], detail["lat"]) == (120.75, 31.65)  # back at the remaining Location
    again = client.delete(f"{STA}/Things({tid})/Locations({field})/$ref", headers=steward)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    # the OData 4.0 form names the member with $id
    response = client.delete(f"{STA}/Things({tid})/Locations/$ref?$id=../../Locations({home})", headers=steward)
    assert response.status_code == 204
    assert _ids(client, steward, f"Things({tid})/Locations") == []
    detail = client.get(f"/api/sensing/things/{tid}", headers=steward).json()["thing"]
    assert (detail["lon"], detail["lat"]) == (None, None)


def test_replacing_a_to_one_link(client, steward):
    thing = new_thing(client, steward)
    ds = thing["datastreams"][0]
    spare = _sensor(client, steward)
    response = client.put(f"{STA}/Datastreams({ds})/Sensor/$ref", json={"@iot.id": spare}, headers=steward)
    assert response.status_code == 204 and response.content == b""
    assert client.get(f"{STA}/Datastreams({ds})/Sensor", headers=steward).json()["@iot.id"] == spare
    other = _sensor(client, steward)
    link = {"@iot.selfLink": f"{STA}/Sensors({other})"}
    assert client.patch(f"{STA}/Datastreams({ds})/Sensor/$ref", json=link, headers=steward).status_code == 204
    assert client.get(f"{STA}/Datastreams({ds})/Sensor/$ref", headers=steward).json() == {
        "@iot.selfLink": f"http://testserver{STA}/Sensors({other})"
    }
    # moving the Datastream to another Thing, seen from the Thing's side
    new_home = new_thing(client, steward)["thing_id"]
    response = client.post(f"{STA}/Things({new_home})/Datastreams/$ref", json={"@iot.id": ds}, headers=steward)
    assert response.status_code == 204
    assert client.get(f"{STA}/Datastreams({ds})/Thing", headers=steward).json()["@iot.id"] == new_home
    assert ds not in _ids(client, steward, f"Things({thing['thing_id']})/Datastreams")


def test_required_links_cannot_be_removed(client, steward):
    thing = new_thing(client, steward)
    tid, ds = thing["thing_id"], thing["datastreams"][0]
    for path in (f"Datastreams({ds})/Sensor/$ref", f"Things({tid})/Datastreams({ds})/$ref"):
        response = client.delete(f"{STA}/{path}", headers=steward)
        assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
    assert client.get(f"{STA}/Datastreams({ds})/Sensor", headers=steward).status_code == 200
    obs = client.post(
        f"{STA}/Datastreams({ds})/Observations",
        json={"phenomenonTime": "2026-07-02T00:00:00Z", "result": 3},
        headers=steward,
    ).json()["@iot.id"]
    other_ds = new_thing(client, steward)["datastreams"][0]
    moved = client.put(f"{STA}/Observations({obs})/Datastream/$ref", json={"@iot.id": other_ds}, headers=steward)
    assert moved.status_code == 409
    assert client.get(f"{STA}/Observations({obs})/Datastream", headers=steward).json()["@iot.id"] == ds


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "Things({tid})/Locations/$ref", {"@iot.id": "abc"}, 400, "bad_reference"),
        ("post", "Things({tid})/Locations/$ref", {"@iot.id": 999999999}, 404, "not_found"),
        (
            "post",
            "Things({tid})/Locations/$ref",
            {"@iot.selfLink": "/sta/v1.1/Sensors({sensor})"},
            400,
            "bad_reference",
        ),
        (
            "post",
            "Things({tid})/Locations/$ref",
            {"@iot.selfLink": "http://elsewhere/x/Locations(1)"},
            400,
            "bad_reference",
        ),
        (
            "post",
            "Things({tid})/Locations/$ref",
            {"@iot.selfLink": "/sta/v1.1/Locations(1)/Things"},
            400,
            "bad_reference",
        ),
        ("post", "Things({tid})/Locations/$ref", {"@iot.id": 1, "name": "x"}, 400, "bad_reference"),
        (
            "post",
            "Things({tid})/Locations/$ref",
            {"@iot.id": 1, "@iot.selfLink": "/sta/v1.1/Locations(2)"},
            400,
            "bad_reference",
        ),
        ("post", "Things({tid})/Locations/$ref", [1], 400, "bad_reference"),
        ("post", "Things({tid})/Locations/$ref", {}, 400, "bad_reference"),
        ("post", "Things(999999999)/Locations/$ref", {"@iot.id": 1}, 404, "not_found"),
        ("post", "Things({tid})/Nope/$ref", {"@iot.id": 1}, 404, "not_found"),
        ("post", "Things/$ref", {"@iot.id": 1}, 404, "not_found"),
        ("post", "Datastreams({ds})/Sensor/$ref", {"@iot.id": "{sensor}"}, 405, "method_not_allowed"),
        ("post", "Things({tid})/Locations({sensor})/$ref", {"@iot.id": 1}, 405, "method_not_allowed"),
        ("put", "Things({tid})/Locations/$ref", {"@iot.id": 1}, 405, "method_not_allowed"),
        ("put", "Datastreams({ds})/Sensor/$ref", {"@iot.id": 999999999}, 404, "not_found"),
        ("delete", "Things({tid})/Locations/$ref", None, 400, "bad_reference"),
        ("delete", "Things({tid})/Locations/$ref?$id=Sensors(1)", None, 400, "bad_reference"),
        ("delete", "Things({tid})/Locations(999999999)/$ref", None, 404, "not_found"),
    ],
)
def test_bad_references(client, steward, method, path, body, status, code):
    thing = new_thing(client, steward)
    names = {"tid": thing["thing_id"], "ds": thing["datastreams"][0], "sensor": _sensor(client, steward)}
    url = f"{STA}/{path.format(**names)}"
    if isinstance(body, dict):
        body = {k: v.format(**names) if isinstance(v, str) and "{" in v else v for k, v in body.items()}
    response = client.request(method.upper(), url, json=body, headers=steward)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_link_writes_need_permission_and_department_scope(client, steward):
    tid = new_thing(client, steward)["thing_id"]
    place = _location(client, steward, 120.74, 31.64)
    citizen = bearer(client, "zhangsan")
    response = client.post(f"{STA}/Things({tid})/Locations/$ref", json={"@iot.id": place}, headers=citizen)
    assert response.status_code == 403
    other_department = bearer(client, "dsj_steward")
    for method, path in (
        ("POST", f"Things({tid})/Locations/$ref"),
        ("POST", f"Locations({place})/Things/$ref"),
        ("DELETE", f"Things({tid})/Locations({place})/$ref"),
    ):
        body = {"@iot.id": tid if path.startswith("Locations") else place}
        response = client.request(method, f"{STA}/{path}", json=body, headers=other_department)
        assert response.status_code == 403 and response.json()["error"]["code"] == "department_scope", path
    # moving a Datastream needs both Things in scope
    mine = new_thing(client, other_department)
    response = client.put(
        f"{STA}/Datastreams({mine['datastreams'][0]})/Thing/$ref", json={"@iot.id": tid}, headers=other_department
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "department_scope"
    assert place not in _ids(client, steward, f"Things({tid})/Locations")
