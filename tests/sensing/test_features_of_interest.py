"""FeaturesOfInterest generated from the Thing's Location when an Observation names none (SensorThings 1.1)."""

import pytest

from tests.conftest import bearer, unique
from tests.sensing.conftest import MEASURE, new_thing

STA = "/sta/v1.1"


@pytest.fixture
def steward(client):
    return bearer(client, "hbj_steward")


def _post(client, headers, ds: int, when: str, result: float = 1.0, **extra) -> int:
    response = client.post(
        f"{STA}/Datastreams({ds})/Observations",
        json={"phenomenonTime": when, "result": result, **extra},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["@iot.id"]


def _feature(client, headers, obs_id: int) -> dict:
    response = client.get(f"{STA}/Observations({obs_id})/FeatureOfInterest", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _data_array(client, headers, ds: int, stamps: list[str]) -> list[int]:
    body = [
        {
            "Datastream": {"@iot.id": ds},
            "components": ["phenomenonTime", "result"],
            "dataArray": [[s, 2.0] for s in stamps],
        }
    ]
    response = client.post(f"{STA}/CreateObservations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return [int(link.rsplit("(", 1)[1].rstrip(")")) for link in response.json()]


def _feature_count(client, headers) -> int:
    return client.get(f"{STA}/FeaturesOfInterest?$count=true&$top=0", headers=headers).json()["@iot.count"]


def test_single_post_generates_the_feature_from_the_location_once(client, steward):
    thing = new_thing(client, steward)
    ds = thing["datastreams"][0]
    before = _feature_count(client, steward)
    first = _post(client, steward, ds, "2026-05-01T00:00:00Z")
    feature = _feature(client, steward, first)
    location = client.get(f"{STA}/Things({thing['thing_id']})/Locations", headers=steward).json()["value"][0]
    assert feature["name"] == location["name"] and feature["description"] == location["description"]
    assert feature["encodingType"] == "application/geo+json"
    assert feature["feature"] == {"type": "Point", "coordinates": [120.75, 31.65]}
    second = _post(client, steward, ds, "2026-05-01T01:00:00Z")
    assert _feature(client, steward, second)["@iot.id"] == feature["@iot.id"]  # reused while the Location stays
    assert _feature_count(client, steward) == before + 1
    back = client.get(f"{STA}/FeaturesOfInterest({feature['@iot.id']})/Observations", headers=steward).json()
    assert {o["@iot.id"] for o in back["value"]} == {first, second}
    expanded = client.get(f"{STA}/Observations({first})?$expand=FeatureOfInterest", headers=steward).json()
    assert expanded["FeatureOfInterest"]["@iot.id"] == feature["@iot.id"]


def test_data_array_and_deep_insert_use_the_same_feature(client, steward):
    thing = new_thing(client, steward, streams=("pm25", "no2"))
    ds, other = thing["datastreams"]
    ids = _data_array(client, steward, ds, [f"2026-05-02T{h:02d}:00:00Z" for h in range(5)])
    single = _post(client, steward, other, "2026-05-02T06:00:00Z")
    feature_id = _feature(client, steward, single)["@iot.id"]  # one Thing, one Location, one feature
    assert {_feature(client, steward, i)["@iot.id"] for i in ids} == {feature_id}
    listed = client.get(
        f"{STA}/FeaturesOfInterest({feature_id})/Observations?$count=true&$top=1", headers=steward
    ).json()
    assert listed["@iot.count"] == 6

    name = unique("deep-")
    body = {
        "name": name,
        "description": "一次建好",
        "Locations": [
            {
                "name": f"{name}-loc",
                "description": "站点",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [120.7, 31.6]},
            }
        ],
        "Datastreams": [
            {
                "name": f"{name}-ds",
                "description": "d",
                "observationType": MEASURE,
                "unitOfMeasurement": {"name": "u", "symbol": "u", "definition": ""},
                "Sensor": {"name": "s", "description": "s", "encodingType": "text/html", "metadata": "m"},
                "ObservedProperty": {"name": "p", "definition": "urn:p", "description": "p"},
                "Observations": [{"phenomenonTime": "2026-05-03T00:00:00Z", "result": 3}],
            }
        ],
    }
    created = client.post(f"{STA}/Things", json=body, headers=steward)
    assert created.status_code == 201, created.text
    deep_ds = client.get(f"{STA}/Things({created.json()['@iot.id']})/Datastreams", headers=steward).json()["value"][0]
    obs = client.get(f"{STA}/Datastreams({deep_ds['@iot.id']})/Observations", headers=steward).json()["value"][0]
    assert _feature(client, steward, obs["@iot.id"])["feature"]["coordinates"] == [120.7, 31.6]


def test_a_new_or_changed_location_makes_a_new_feature(client, steward):
    thing = new_thing(client, steward)
    tid, ds = thing["thing_id"], thing["datastreams"][0]
    old = _feature(client, steward, _post(client, steward, ds, "2026-05-04T00:00:00Z"))
    moved = client.patch(
        f"{STA}/Things({tid})",
        json={
            "Locations": [
                {
                    "name": "新址",
                    "description": "搬迁后",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [120.8, 31.7]},
                }
            ]
        },
        headers=steward,
    )
    assert moved.status_code == 200, moved.text
    after_move = _feature(client, steward, _post(client, steward, ds, "2026-05-04T01:00:00Z"))
    assert after_move["@iot.id"] != old["@iot.id"] and after_move["feature"]["coordinates"] == [120.8, 31.7]
    assert after_move["name"] == "新址"
    # the observation taken at the old place keeps the old feature
    first = client.get(f"{STA}/Datastreams({ds})/Observations?$orderby=phenomenonTime asc&$top=1", headers=steward)
    assert _feature(client, steward, first.json()["value"][0]["@iot.id"])["@iot.id"] == old["@iot.id"]

    location = client.get(f"{STA}/Things({tid})/Locations", headers=steward).json()["value"][0]
    same = client.patch(f"{STA}/Locations({location['@iot.id']})", json={"name": "新址"}, headers=steward)
    assert same.status_code == 200
    unchanged = _feature(client, steward, _post(client, steward, ds, "2026-05-04T02:00:00Z"))
    assert unchanged["@iot.id"] == after_move["@iot.id"]  # an edit that changes nothing keeps the feature
    edited = client.patch(
        f"{STA}/Locations({location['@iot.id']})",
        json={"location": {"type": "Point", "coordinates": [120.81, 31.71]}},
        headers=steward,
    )
    assert edited.status_code == 200
    after_edit = _feature(client, steward, _post(client, steward, ds, "2026-05-04T03:00:00Z"))
    assert after_edit["@iot.id"] != after_move["@iot.id"] and after_edit["feature"]["coordinates"] == [120.81, 31.71]


def test_a_named_feature_is_kept(client, steward):
    ds = new_thing(client, steward)["datastreams"][0]
    named = {
        "name": "河段断面",
        "description": "监测断面",
        "encodingType": "application/geo+json",
        "feature": {"type": "Point", "coordinates": [120.9, 31.8]},
    }
    obs = _post(client, steward, ds, "2026-05-05T00:00:00Z", FeatureOfInterest=named)
    assert _feature(client, steward, obs)["name"] == "河段断面"
    linked = _post(
        client,
        steward,
        ds,
        "2026-05-05T01:00:00Z",
        FeatureOfInterest={"@iot.id": _feature(client, steward, obs)["@iot.id"]},
    )
    assert _feature(client, steward, linked)["name"] == "河段断面"


def test_thing_without_location_stores_observations_without_a_feature(client, steward):
    name = unique("noloc-")
    body = {
        "name": name,
        "description": "未登记位置",
        "Datastreams": [
            {
                "name": f"{name}-ds",
                "description": "d",
                "observationType": MEASURE,
                "unitOfMeasurement": {"name": "u", "symbol": "u", "definition": ""},
                "Sensor": {"name": "s", "description": "s", "encodingType": "text/html", "metadata": "m"},
                "ObservedProperty": {"name": "p", "definition": "urn:p", "description": "p"},
            }
        ],
    }
    tid = client.post(f"{STA}/Things", json=body, headers=steward).json()["@iot.id"]
    ds = client.get(f"{STA}/Things({tid})/Datastreams", headers=steward).json()["value"][0]["@iot.id"]
    before = _feature_count(client, steward)
    obs = _post(client, steward, ds, "2026-05-06T00:00:00Z")
    [from_array] = _data_array(client, steward, ds, ["2026-05-06T01:00:00Z"])
    assert _feature_count(client, steward) == before  # nothing to generate from
    for obs_id in (obs, from_array):
        assert client.get(f"{STA}/Observations({obs_id})/FeatureOfInterest", headers=steward).status_code == 404
    located = client.post(
        f"{STA}/Things({tid})/Locations",
        json={
            "name": f"{name}-loc",
            "description": "补登位置",
            "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [120.6, 31.5]},
        },
        headers=steward,
    )
    assert located.status_code == 201, located.text
    later = _post(client, steward, ds, "2026-05-06T02:00:00Z")
    assert _feature(client, steward, later)["feature"]["coordinates"] == [120.6, 31.5]


def test_device_ingest_gets_the_feature_and_deleting_a_feature_deletes_its_observations(client, steward):
    thing = new_thing(client, steward)
    ds = thing["datastreams"][0]
    token = client.post("/api/sensing/device-tokens", json={"thing_id": thing["thing_id"]}, headers=steward).json()
    payload = {"observations": [{"datastream": ds, "phenomenonTime": "2026-05-07T00:00:00Z", "result": 4}]}
    assert (
        client.post("/api/sensing/ingest", json=payload, headers={"X-Device-Token": token["token"]}).json()["accepted"]
        == 1
    )
    obs = client.get(f"{STA}/Datastreams({ds})/Observations", headers=steward).json()["value"][0]["@iot.id"]
    feature = _feature(client, steward, obs)
    assert client.delete(f"{STA}/FeaturesOfInterest({feature['@iot.id']})", headers=steward).status_code == 200
    assert client.get(f"{STA}/Observations({obs})", headers=steward).status_code == 404  # integrity: none without
    later = _post(client, steward, ds, "2026-05-07T01:00:00Z")
    fresh = _feature(client, steward, later)  # generated anew (SQLite may hand out the freed id again)
    assert fresh["feature"] == feature["feature"]
    listed = client.get(f"{STA}/FeaturesOfInterest({fresh['@iot.id']})/Observations", headers=steward).json()
    assert [o["@iot.id"] for o in listed["value"]] == [later]
