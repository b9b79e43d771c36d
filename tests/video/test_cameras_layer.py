"""Cameras are a layer of the one map: OGC API – Features collection `cameras`, read with OWSLib as a GIS
tool would, bbox and paging included; closed to callers without the registry's permission."""

import httpx
from owslib.ogcapi.features import Features
from owslib.util import Authentication

from tests.conftest import DEMO_PASSWORD
from tests.video.helpers import register_camera


def test_cameras_are_served_as_a_features_layer_with_bbox_and_paging(client, live_url):
    lon, lat = 120.9123, 31.4567  # a corner no other test puts cameras in
    codes = sorted(register_camera(client, lon=lon + i * 0.0001, lat=lat)["code"] for i in range(3))
    register_camera(client, lon=lon + 0.05, lat=lat)  # outside the box below
    ogc = Features(f"{live_url}/ogc/", auth=Authentication(username="cgj_admin", password=DEMO_PASSWORD))
    assert "cameras" in {c["id"] for c in ogc.collections()["collections"]}
    box = [lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001]
    first = ogc.collection_items("cameras", bbox=box, limit=2)
    assert first["numberMatched"] == 3 and first["numberReturned"] == 2
    second = ogc.collection_items("cameras", bbox=box, limit=2, offset=2)
    found = [f["id"] for f in first["features"] + second["features"]]
    assert sorted(found) == codes
    feature = first["features"][0]
    assert feature["geometry"]["type"] == "Point" and feature["properties"]["may_play"] is True
    one = ogc.collection_item("cameras", codes[0])
    assert one["id"] == codes[0] and one["properties"]["url"] == f"/video/cameras/{codes[0]}"


def test_a_citizen_is_not_served_the_cameras_layer(live_url):
    response = httpx.get(f"{live_url}/ogc/collections/cameras/items", auth=("zhangsan", DEMO_PASSWORD), timeout=30)
    assert response.status_code in (403, 404), response.text
    assert "error" in response.json()
