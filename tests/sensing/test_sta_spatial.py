"""Spatial functions in $filter and $orderby: geo.* and st_* over stored GeoJSON, against known geometry."""

import pytest

from tests.conftest import bearer, unique
from tests.sensing.conftest import new_thing

STA = "/sta/v1.1"
# The city core of Changshu as a box (lon 120.70–120.80, lat 31.60–31.70).
CORE = "geography'POLYGON((120.70 31.60, 120.80 31.60, 120.80 31.70, 120.70 31.70, 120.70 31.60))'"
YUSHAN = "geography'POINT(120.74 31.66)'"
PORT = "geography'POINT(120.95 31.78)'"


def _geojson_point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


PLACES = {
    "yushan": _geojson_point(120.74, 31.66),  # inside the core
    "station": _geojson_point(120.76, 31.64),  # inside
    "port": _geojson_point(120.95, 31.78),  # outside, north-east on the Yangtze
    "edge": _geojson_point(120.70, 31.65),  # on the core's western boundary
    "road": {"type": "LineString", "coordinates": [[120.65, 31.65], [120.85, 31.65]]},  # crosses the core
    "park": {  # a Feature, as the SensorThings examples store it, wholly inside the core
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[120.72, 31.62], [120.74, 31.62], [120.74, 31.64], [120.72, 31.64], [120.72, 31.62]]],
        },
    },
    "bad": {"type": "Nope"},  # not a geometry: every spatial test on it is NULL
}


@pytest.fixture(scope="module")
def world(app):
    """Locations named `<prefix>-<place>`, so tests select theirs among the demo's."""
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as client:
        headers = bearer(client, "hbj_steward")
        prefix = unique("geo")
        for place, geometry in PLACES.items():
            body = {
                "name": f"{prefix}-{place}",
                "description": place,
                "encodingType": "application/geo+json",
                "location": geometry,
            }
            assert client.post(f"{STA}/Locations", json=body, headers=headers).status_code == 201
        return prefix


@pytest.fixture
def steward(client):
    return bearer(client, "hbj_steward")


def _places(client, headers, prefix: str, condition: str, extra: str = "") -> list[str]:
    response = client.get(
        f"{STA}/Locations?$filter=({condition}) and startswith(name, '{prefix}-')&$orderby=name&$top=50{extra}",
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return sorted(v["name"].removeprefix(f"{prefix}-") for v in response.json()["value"])


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (f"st_within(location, {CORE})", ["park", "station", "yushan"]),
        (f"st_contains({CORE}, location)", ["park", "station", "yushan"]),
        ("st_contains(location, geography'POINT(120.73 31.63)')", ["park"]),
        (f"st_intersects(location, {CORE})", ["edge", "park", "road", "station", "yushan"]),
        (f"geo.intersects(location, {CORE})", ["edge", "park", "road", "station", "yushan"]),
        (f"st_disjoint(location, {CORE})", ["port"]),
        (f"not st_within(location, {CORE})", ["edge", "port", "road"]),  # `bad` is NULL either way
        (f"st_touches(location, {CORE})", ["edge"]),
        (f"st_crosses(location, {CORE})", ["road"]),
        (f"st_equals(location, {YUSHAN})", ["yushan"]),
        ("st_equals(location, geography'SRID=4326;POINT(120.74 31.66)')", ["yushan"]),
        (
            "st_overlaps(location, geography'POLYGON((120.73 31.63, 120.75 31.63, 120.75 31.65, 120.73 31.65,"
            " 120.73 31.63))')",
            ["park"],
        ),
        (f"st_relate(location, {CORE}, 'T*F**F***')", ["park", "station", "yushan"]),  # the DE-9IM of within
        # distances in degrees: station is 0.0283° from Yushan, the park 0.02°, the road 0.01°, the edge 0.041°
        (f"geo.distance(location, {YUSHAN}) lt 0.03", ["park", "road", "station", "yushan"]),
        (f"0.03 gt geo.distance(location, {YUSHAN})", ["park", "road", "station", "yushan"]),
        (f"geo.distance(location, {YUSHAN}) ge 0.1", ["port"]),
        (f"geo.distance(location, {YUSHAN}) eq 0", ["yushan"]),
        ("geo.length(location) gt 0.1", ["road"]),  # the road is 0.2° long; the park's outline 0.08°
        (f"geo.distance(location, {YUSHAN}) mul 1000 lt 15", ["road", "yushan"]),  # arithmetic on a distance
        (f"st_within(location, {CORE}) and geo.distance(location, {YUSHAN}) gt 0.01", ["park", "station"]),
        (
            f"st_within(location, {CORE}) and name ne 'x' or st_crosses(location, {CORE})",
            ["park", "road", "station", "yushan"],
        ),
        (f"st_within({YUSHAN}, {CORE})", ["bad", "edge", "park", "port", "road", "station", "yushan"]),  # constant
        (f"st_within({PORT}, {CORE})", []),
        (f"geo.distance({YUSHAN}, {PORT}) gt 0.2", ["bad", "edge", "park", "port", "road", "station", "yushan"]),
    ],
)
def test_spatial_filters_on_known_geometry(client, steward, world, condition, expected):
    assert _places(client, steward, world, condition) == expected


def test_spatial_filter_paging_count_and_order(client, steward, world):
    base = f"{STA}/Locations?$filter=st_within(location, {CORE}) and startswith(name, '{world}-')"
    first = client.get(f"{base}&$orderby=name&$top=2&$count=true", headers=steward).json()
    assert first["@iot.count"] == 3
    assert [v["name"] for v in first["value"]] == [f"{world}-park", f"{world}-station"]
    rest = client.get(first["@iot.nextLink"].replace("http://testserver", ""), headers=steward).json()
    assert rest["@iot.count"] == 3 and [v["name"] for v in rest["value"]] == [f"{world}-yushan"]
    assert "@iot.nextLink" not in rest
    # nearest first: ordered by the distance from the port
    nearest = client.get(
        f"{STA}/Locations?$filter=startswith(name, '{world}-') and name ne '{world}-bad'"
        f"&$orderby=geo.distance(location, {PORT}),name",
        headers=steward,
    ).json()
    order = [v["name"].removeprefix(f"{world}-") for v in nearest["value"]]
    assert order == ["port", "road", "station", "yushan", "park", "edge"]


def test_spatial_filters_through_navigation(client, steward):
    inside = new_thing(client, steward)  # its Location is (120.75, 31.65), in the core
    outside = new_thing(client, steward)
    port_location = {
        "name": unique("port-"),
        "description": "港区",
        "encodingType": "application/geo+json",
        "location": _geojson_point(120.95, 31.78),
    }
    moved = client.patch(f"{STA}/Things({outside['thing_id']})", json={"Locations": [port_location]}, headers=steward)
    assert moved.status_code == 200, moved.text
    mine = f"(id eq {inside['thing_id']} or id eq {outside['thing_id']})"

    def things(condition: str) -> list[int]:
        url = f"{STA}/Things?$filter={condition} and {mine}&$orderby=id"
        response = client.get(url, headers=steward)
        assert response.status_code == 200, response.text
        return [v["@iot.id"] for v in response.json()["value"]]

    # a Thing matches when any of its Locations does (the spec's own example filters Things this way)
    assert things(f"st_within(Locations/location, {CORE})") == [inside["thing_id"]]
    assert things(f"geo.distance(Locations/location, {PORT}) lt 0.01") == [outside["thing_id"]]
    assert things(f"not st_within(Locations/location, {CORE})") == [outside["thing_id"]]
    # Observations through their FeatureOfInterest, and through Datastream/Thing/Locations
    ds = inside["datastreams"][0]
    for hour, (lon, lat) in enumerate([(120.74, 31.66), (120.95, 31.78)]):
        body = {
            "phenomenonTime": f"2026-07-03T0{hour}:00:00Z",
            "result": hour,
            "FeatureOfInterest": {
                "name": unique("foi-"),
                "description": "采样点",
                "encodingType": "application/geo+json",
                "feature": _geojson_point(lon, lat),
            },
        }
        assert client.post(f"{STA}/Datastreams({ds})/Observations", json=body, headers=steward).status_code == 201
    observations = f"{STA}/Datastreams({ds})/Observations?$orderby=result&$filter="
    got = client.get(f"{observations}st_within(FeatureOfInterest/feature, {CORE})", headers=steward).json()
    assert [o["result"] for o in got["value"]] == [0]
    got = client.get(f"{observations}st_disjoint(FeatureOfInterest/feature, {CORE})", headers=steward).json()
    assert [o["result"] for o in got["value"]] == [1]
    got = client.get(
        f"{observations}st_within(Datastream/Thing/Locations/location, {CORE})&$count=true", headers=steward
    ).json()
    assert got["@iot.count"] == 2
    features = client.get(
        f"{STA}/Datastreams({ds})/Observations?$expand=FeatureOfInterest($select=name)&$orderby=result",
        headers=steward,
    ).json()
    port_foi = features["value"][1]["FeatureOfInterest"]["name"]
    got = client.get(
        f"{STA}/FeaturesOfInterest?$filter=st_equals(feature, {PORT}) and name eq '{port_foi}'", headers=steward
    ).json()
    assert [f["name"] for f in got["value"]] == [port_foi]
    # a Datastream's observedArea, and a spatial filter inside $expand
    area = {
        "type": "Polygon",
        "coordinates": [[[120.9, 31.7], [121.0, 31.7], [121.0, 31.8], [120.9, 31.8], [120.9, 31.7]]],
    }
    assert client.patch(f"{STA}/Datastreams({ds})", json={"observedArea": area}, headers=steward).status_code == 200
    got = client.get(f"{STA}/Datastreams?$filter=st_contains(observedArea, {PORT}) and id eq {ds}", headers=steward)
    assert [d["@iot.id"] for d in got.json()["value"]] == [ds]
    expanded = client.get(
        f"{STA}/Things({outside['thing_id']})?$expand=Locations($filter=st_within(location, {CORE}))",
        headers=steward,
    ).json()
    assert expanded["Locations"] == []


@pytest.mark.parametrize(
    "condition",
    [
        "st_within(location, geography'POLYGON((120.7 31.6, 120.8')",  # malformed WKT
        "st_within(location, geography'POINT(120.7)')",
        "st_within(location, geography'POLYGON((0 0, 1 0, 1 1))')",  # ring not closed
        "st_within(location, geography'POINT EMPTY')",
        "st_within(location, geography'CIRCLE(1 2)')",
        "st_within(location, geography'POINT(1 2)",  # unterminated literal
        "st_within(location, geography'SRID=3857;POINT(13438000 3716000)')",  # only WGS 84
        "st_within(location, 'POINT(1 2)')",  # a string, not a geometry
        "st_within(name, geography'POINT(1 2)')",  # not a geometry property
        "st_within(location, location)",
        "st_within(location)",
        "st_relate(location, geography'POINT(1 2)', 'within')",
        "st_relate(location, geography'POINT(1 2)', 1)",
        "geo.distance(location, geography'POINT(1 2)', geography'POINT(1 2)') lt 1",
        "geo.distance(Things/Datastreams/name, geography'POINT(1 2)') lt 1",
    ],
)
def test_malformed_spatial_filters_are_400(client, steward, condition):
    response = client.get(f"{STA}/Locations?$filter={condition}", headers=steward)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_query"


def test_distance_through_a_to_many_link_must_be_compared_with_a_number(client, steward):
    response = client.get(f"{STA}/Things?$orderby=geo.distance(Locations/location, {PORT})", headers=steward)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_query"
