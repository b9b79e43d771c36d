"""CreateObservations: the column-wise fast path and the row-by-row fallbacks agree on what they accept."""

import pytest
from sqlalchemy import select

from tests.conftest import bearer
from tests.sensing.conftest import new_thing
from yiwang.sensing import ingest
from yiwang.sensing import models as m

STA = "/sta/v1.1"
OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"


@pytest.fixture
def steward(client):
    return bearer(client, "hbj_steward")


def _stream(client, headers, thing_id: int, observation_type: str) -> int:
    body = {
        "name": f"{observation_type}-{thing_id}",
        "description": "d",
        "observationType": OM + observation_type,
        "unitOfMeasurement": {"name": "u", "symbol": "u", "definition": ""},
        "Thing": {"@iot.id": thing_id},
        "Sensor": {"name": "s", "description": "s", "encodingType": "text/html", "metadata": "m"},
        "ObservedProperty": {"name": "p", "definition": "urn:p", "description": "p"},
    }
    response = client.post(f"{STA}/Datastreams", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["@iot.id"]


def _send(client, headers, ds: int, rows: list, *, raw: bytes | None = None) -> list[str]:
    body = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": rows}]
    if raw is None:
        response = client.post(f"{STA}/CreateObservations", json=body, headers=headers)
    else:
        response = client.post(
            f"{STA}/CreateObservations", content=raw, headers={**headers, "content-type": "application/json"}
        )
    assert response.status_code == 201, response.text
    return response.json()


def _results(client, headers, ds: int) -> list:
    got = client.get(f"{STA}/Datastreams({ds})/Observations?$orderby=phenomenonTime asc", headers=headers).json()
    return [o["result"] for o in got["value"]]


def test_numbers_repeats_within_a_request_and_partial_resends(client, steward):
    ds = new_thing(client, steward)["datastreams"][0]
    links = _send(client, steward, ds, [["2026-03-01T00:00:00Z", 1], ["2026-03-01T01:00:00Z", 2.5]])
    assert "error" not in links
    again = _send(
        client,
        steward,
        ds,
        [["2026-03-01T01:00:00Z", 2.5], ["2026-03-01T02:00:00Z", 3], ["2026-03-01T02:00:00Z", 3]],
    )
    assert again[0] == links[1]  # the re-sent row links to the stored observation
    assert again[1] == again[2] and again[1] not in links  # a repeat inside one request is one observation
    assert _results(client, steward, ds) == [1.0, 2.5, 3.0]


def test_instants_outside_the_fast_form(client, steward):
    ds = new_thing(client, steward)["datastreams"][0]
    links = _send(
        client,
        steward,
        ds,
        [["2024-02-29T12:00:00Z", 1], ["2026-03-02T08:00:00+08:00", 2], ["2026-03-02T01:00:00.250Z", 3]],
    )
    assert "error" not in links
    got = client.get(f"{STA}/Datastreams({ds})/Observations?$orderby=phenomenonTime asc", headers=steward).json()
    assert [o["phenomenonTime"] for o in got["value"]] == [
        "2024-02-29T12:00:00Z",
        "2026-03-02T00:00:00Z",
        "2026-03-02T01:00:00.250000Z",
    ]
    for impossible in ("2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z"):
        body = [
            {"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": [[impossible, 1]]}
        ]
        assert client.post(f"{STA}/CreateObservations", json=body, headers=steward).status_code == 422, impossible


def test_values_the_column_check_cannot_pass_are_judged_row_by_row(client, steward):
    ds = new_thing(client, steward, max_valid=1000)["datastreams"][0]
    raw = (
        b'[{"Datastream": {"@iot.id": %d}, "components": ["phenomenonTime", "result"], "dataArray": ['
        b'["2026-03-03T00:00:00Z", "NaN"], ["2026-03-03T01:00:00Z", 1000000000000000000000000000000],'
        b'["2026-03-03T02:00:00Z", true], ["2026-03-03T03:00:00Z", null], ["2026-03-03T04:00:00Z", 7]]}]' % ds
    )
    links = _send(client, steward, ds, [], raw=raw)
    assert links[:4] == ["error"] * 4 and links[4].startswith("http")
    assert _results(client, steward, ds) == [7.0]


def test_other_observation_types(client, steward):
    thing = new_thing(client, steward)
    count = _stream(client, steward, thing["thing_id"], "OM_CountObservation")
    truth = _stream(client, steward, thing["thing_id"], "OM_TruthObservation")
    category = _stream(client, steward, thing["thing_id"], "OM_CategoryObservation")
    links = _send(
        client,
        steward,
        count,
        [["2026-03-04T00:00:00Z", 3], ["2026-03-04T01:00:00Z", 1.0], ["2026-03-04T02:00:00Z", 1.5]],
    )
    assert [link == "error" for link in links] == [False, False, True]
    links = _send(client, steward, truth, [["2026-03-04T00:00:00Z", True], ["2026-03-04T01:00:00Z", 1]])
    assert [link == "error" for link in links] == [False, True]
    awkward = ["a\tb", "back\\slash", "line\nbreak", '引号"', "\\N"]
    links = _send(client, steward, category, [[f"2026-03-04T0{i}:00:00Z", v] for i, v in enumerate(awkward)])
    assert "error" not in links
    assert _results(client, steward, category) == awkward
    assert _results(client, steward, truth) == [True]


def test_stream_info_finds_the_current_location(runtime, client, steward):
    thing = new_thing(client, steward)
    ds = thing["datastreams"][0]
    with runtime.db.unit_of_work() as db:
        info = ingest.stream_info(db, {ds})[ds]
        location = db.execute(
            select(m.Location)
            .join(m.ThingLocation, m.ThingLocation.location_id == m.Location.id)
            .where(m.ThingLocation.thing_id == thing["thing_id"])
        ).scalar_one()
        assert info.thing_id == thing["thing_id"] and info.feature_id == location.feature_of_interest_id
        assert ingest.stream_info(db, {ds})[ds].feature_id == info.feature_id  # made once
