"""Department scope of SensorThings writes: every form an id takes is authorised on the entity it names.

The attacker is a data steward of the big-data bureau (DSJ); the devices belong to the environment
bureau (HBJ). Each test performs the write the way an attacker would and checks nothing changed.
"""

import pytest
from sqlalchemy import func, select

from tests.conftest import bearer
from tests.sensing.conftest import MEASURE, new_thing
from yiwang.sensing import models as m

STA = "/sta/v1.1"


@pytest.fixture
def owner(client):
    return bearer(client, "hbj_steward")


@pytest.fixture
def attacker(client):
    return bearer(client, "dsj_steward")


def _observations(runtime, ds: int) -> int:
    with runtime.db.unit_of_work() as db:
        return db.execute(select(func.count()).where(m.Observation.datastream_id == ds)).scalar_one()


def _datastreams_of(runtime, thing_id: int) -> int:
    with runtime.db.unit_of_work() as db:
        return db.execute(select(func.count()).where(m.Datastream.thing_id == thing_id)).scalar_one()


def _denied(response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "department_scope", response.text


def _datastream_body(thing_ref: dict) -> dict:
    return {
        "name": "hijack",
        "description": "",
        "observationType": MEASURE,
        "unitOfMeasurement": {"name": "x", "symbol": "x", "definition": ""},
        "Thing": thing_ref,
        "Sensor": {"name": "s", "description": "", "encodingType": "text/html", "metadata": "x"},
        "ObservedProperty": {"name": "p", "definition": "urn:test:p", "description": ""},
    }


@pytest.mark.parametrize("form", [int, str])
def test_observation_into_another_departments_datastream_is_refused_whatever_the_id_form(
    client, runtime, owner, attacker, form
):
    ds = new_thing(client, owner)["datastreams"][0]
    body = {"Datastream": {"@iot.id": form(ds)}, "result": 1, "phenomenonTime": "2026-03-01T00:00:00Z"}
    _denied(client.post(f"{STA}/Observations", json=body, headers=attacker))
    deep = {"name": "x", "definition": "urn:x", "description": "", "Datastreams": [{"@iot.id": form(ds)}]}
    # a nested link through a to-many navigation is not a way in either (it is refused or rejected)
    assert client.post(f"{STA}/ObservedProperties", json=deep, headers=attacker).status_code in (403, 422)
    array = [{"Datastream": {"@iot.id": form(ds)}, "components": ["phenomenonTime", "result"], "dataArray": []}]
    array[0]["dataArray"] = [["2026-03-01T01:00:00Z", 2]]
    _denied(client.post(f"{STA}/CreateObservations", json=array, headers=attacker))
    assert _observations(runtime, ds) == 0
    # the owner's own string id is accepted and stored
    response = client.post(f"{STA}/Observations", json=body, headers=owner)
    assert response.status_code == 201, response.text
    assert _observations(runtime, ds) == 1


@pytest.mark.parametrize("form", [int, str])
def test_new_datastream_on_another_departments_thing_is_refused(client, runtime, owner, attacker, form):
    tid = new_thing(client, owner)["thing_id"]
    ref = {"@iot.id": form(tid)}
    _denied(client.post(f"{STA}/Datastreams", json=_datastream_body(ref), headers=attacker))
    # nested under a new Sensor or ObservedProperty, or a new Location linked to the Thing
    stream = {k: v for k, v in _datastream_body(ref).items() if k != "Sensor"}
    sensor = {"name": "s", "description": "", "encodingType": "text/html", "metadata": "x", "Datastreams": [stream]}
    _denied(client.post(f"{STA}/Sensors", json=sensor, headers=attacker))
    place = {
        "name": "p",
        "description": "",
        "encodingType": "application/geo+json",
        "location": {"type": "Point", "coordinates": [1, 2]},
        "Things": [ref],
    }
    _denied(client.post(f"{STA}/Locations", json=place, headers=attacker))
    # a deep insert of an Observation whose new Datastream hangs from the Thing
    obs = {"result": 1, "Datastream": _datastream_body(ref)}
    _denied(client.post(f"{STA}/Observations", json=obs, headers=attacker))
    assert _datastreams_of(runtime, tid) == 1
    # moving the attacker's own Datastream onto the Thing by PATCH is refused too
    mine = new_thing(client, attacker)["datastreams"][0]
    _denied(client.patch(f"{STA}/Datastreams({mine})", json={"Thing": ref}, headers=attacker))
    assert _datastreams_of(runtime, tid) == 1


def test_a_new_thing_cannot_claim_another_department(client, owner, attacker):
    tid = new_thing(client, owner)["thing_id"]
    hbj = client.get(f"/api/sensing/things/{tid}", headers=owner).json()["thing"]["department_id"]
    for value in (hbj, str(hbj)):
        body = {"name": "planted", "description": "", "properties": {"departmentId": value}}
        _denied(client.post(f"{STA}/Things", json=body, headers=attacker))
    bad = client.post(f"{STA}/Things", json={"name": "x", "properties": {"departmentId": "HBJ"}}, headers=attacker)
    assert bad.status_code == 422
    # nor can the attacker's own Thing be handed to that department by PATCH
    mine = new_thing(client, attacker)["thing_id"]
    _denied(client.patch(f"{STA}/Things({mine})", json={"properties": {"departmentId": hbj}}, headers=attacker))
    # naming one's own department is fine
    response = client.post(f"{STA}/Things", json={"name": "mine", "properties": {"departmentId": hbj}}, headers=owner)
    assert response.status_code == 201, response.text
    made = client.get(f"/api/sensing/things/{response.json()['@iot.id']}", headers=owner).json()
    assert made["thing"]["department_id"] == hbj


def _shared(client, headers, ds: int) -> dict[str, int]:
    read = lambda path: client.get(f"{STA}/{path}", headers=headers).json()  # noqa: E731
    obs = read(f"Datastreams({ds})/Observations")["value"][0]["@iot.id"]
    thing = read(f"Datastreams({ds})/Thing")["@iot.id"]
    return {
        "Sensors": read(f"Datastreams({ds})/Sensor")["@iot.id"],
        "ObservedProperties": read(f"Datastreams({ds})/ObservedProperty")["@iot.id"],
        "Locations": read(f"Things({thing})/Locations")["value"][0]["@iot.id"],
        "FeaturesOfInterest": read(f"Observations({obs})/FeatureOfInterest")["@iot.id"],
    }


def test_shared_entities_in_use_by_another_department_cannot_be_deleted_or_changed(client, runtime, owner, attacker):
    thing = new_thing(client, owner)
    ds = thing["datastreams"][0]
    body = {"Datastream": {"@iot.id": ds}, "result": 5, "phenomenonTime": "2026-03-02T00:00:00Z"}
    assert client.post(f"{STA}/Observations", json=body, headers=owner).status_code == 201
    shared = _shared(client, owner, ds)
    for set_name, key in shared.items():
        response = client.delete(f"{STA}/{set_name}({key})", headers=attacker)
        assert response.status_code == 409, (set_name, response.text)
        error = response.json()["error"]
        assert error["code"] == "in_use_by_other_departments" and "其他部门" in error["message"]
        _denied(client.patch(f"{STA}/{set_name}({key})", json={"description": "changed"}, headers=attacker))
    assert _observations(runtime, ds) == 1
    assert _datastreams_of(runtime, thing["thing_id"]) == 1
    # the owning department itself may still delete what only it uses
    assert client.delete(f"{STA}/Sensors({shared['Sensors']})", headers=owner).status_code == 200
    assert _datastreams_of(runtime, thing["thing_id"]) == 0


def test_historical_locations_of_another_department_are_out_of_reach(client, owner, attacker):
    tid = new_thing(client, owner)["thing_id"]
    hl = client.get(f"{STA}/Things({tid})/HistoricalLocations", headers=owner).json()["value"][0]["@iot.id"]
    _denied(client.patch(f"{STA}/HistoricalLocations({hl})", json={"time": "2026-01-01T00:00:00Z"}, headers=attacker))
    _denied(client.delete(f"{STA}/HistoricalLocations({hl})", headers=attacker))
    body = {"time": "2026-01-01T00:00:00Z", "Thing": {"@iot.id": str(tid)}}
    _denied(client.post(f"{STA}/HistoricalLocations", json=body, headers=attacker))
