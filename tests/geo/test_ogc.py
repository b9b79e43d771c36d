"""OGC API – Features under /ogc, read by a real client (OWSLib) over HTTP: every layer, bbox, paging, datetime."""

import json

import httpx
import pytest
from owslib.ogcapi.features import Features
from owslib.util import Authentication

from tests.cityops.conftest import bearer, report
from tests.conftest import DEMO_PASSWORD, unique

LAYERS = {"divisions", "grid-cells", "buildings", "events", "things", "alarms"}


@pytest.fixture(scope="module")
def ogc(live_url) -> Features:
    """OWSLib as QGIS would use it: HTTP Basic for the command centre's dispatcher."""
    return Features(f"{live_url}/ogc/", auth=Authentication(username="ldz_dispatcher", password=DEMO_PASSWORD))


def test_landing_conformance_and_every_layer(ogc):
    landing = ogc.links
    assert {link["rel"] for link in landing} >= {"conformance", "data", "service-desc"}
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in ogc.conformance()["conformsTo"]
    ids = {c["id"] for c in ogc.collections()["collections"]}
    assert ids >= LAYERS
    for collection_id in LAYERS:
        described = ogc.collection(collection_id)
        assert described["itemType"] == "feature"
        page = ogc.collection_items(collection_id, limit=5)
        assert page["type"] == "FeatureCollection"
        assert page["numberReturned"] == len(page["features"]) <= 5
        for feature in page["features"]:
            assert feature["geometry"]["type"] in ("Point", "Polygon", "MultiPolygon")


def test_events_bbox_datetime_and_paging(client, ogc, live_url):
    lon, lat = 120.99, 31.51  # a corner of the city no other test reports in
    numbers = {
        report(
            client,
            "ldz_dispatcher",
            source="hotline",
            category_code="CG01",
            division_code=None,
            title=unique("OGC"),
            lon=lon + i * 0.0001,
            lat=lat + i * 0.0001,
        )["number"]
        for i in range(7)
    }
    bbox = [lon - 0.00005, lat - 0.00005, lon + 0.0008, lat + 0.0008]
    seen: list[str] = []
    offset = 0
    while True:
        page = ogc.collection_items("events", bbox=bbox, limit=3, offset=offset)
        seen += [f["id"] for f in page["features"]]
        assert page["numberMatched"] == 7
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 3
    assert len(seen) == 7 and set(seen) == numbers
    assert offset == 6
    outside = ogc.collection_items("events", bbox=[lon + 0.01, lat + 0.01, lon + 0.02, lat + 0.02], limit=10)
    assert not set(f["id"] for f in outside["features"]) & numbers
    # datetime: nothing in the bbox was reported before 2000
    old = ogc.collection_items("events", bbox=bbox, datetime_="1990-01-01T00:00:00Z/2000-01-01T00:00:00Z")
    assert old["numberMatched"] == 0
    one = ogc.collection_item("events", sorted(numbers)[0])
    assert one["properties"]["number"] == sorted(numbers)[0]
    assert "reporter" not in json.dumps(one["properties"])
    # the next link itself is followable as given
    page = httpx.get(
        f"{live_url}/ogc/collections/events/items",
        params={"bbox": ",".join(map(str, bbox)), "limit": 3},
        headers=bearer(client, "ldz_dispatcher"),
    )
    nxt = next(link["href"] for link in page.json()["links"] if link["rel"] == "next")
    assert len(httpx.get(nxt, headers=bearer(client, "ldz_dispatcher")).json()["features"]) == 3


def test_denied_by_default_and_scoped(client, live_url):
    assert httpx.get(f"{live_url}/ogc/collections").status_code == 401
    assert httpx.get(f"{live_url}/ogc/collections/events/items").status_code == 401
    citizen = bearer(client, "lisi")
    listed = {c["id"] for c in httpx.get(f"{live_url}/ogc/collections", headers=citizen).json()["collections"]}
    assert listed == {"events"}  # a citizen reads only the events layer, and there only their own reports
    assert httpx.get(f"{live_url}/ogc/collections/grid-cells/items", headers=citizen).status_code == 403
    mine = httpx.get(f"{live_url}/ogc/collections/events/items?limit=1000", headers=citizen).json()
    assert all(f["properties"]["source"] in ("citizen", "open311") for f in mine["features"])
    for bad in ("1,2,3", "a,b,c,d", "10,10,0,0"):
        r = httpx.get(f"{live_url}/ogc/collections/events/items", params={"bbox": bad}, headers=citizen)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_parameter"
    r = httpx.get(f"{live_url}/ogc/collections/events/items", params={"datetime": "yesterday"}, headers=citizen)
    assert r.status_code == 400
    assert httpx.get(f"{live_url}/ogc/collections/nope", headers=citizen).status_code == 404


def test_layers_under_concurrent_load_with_reports(client, live_url):
    """OGC reads from several clients while events are reported and located: all answer, none is lost."""
    from concurrent.futures import ThreadPoolExecutor

    centre = bearer(client, "ldz_dispatcher")
    lon, lat = 120.98, 31.53
    bbox = f"{lon - 0.0001},{lat - 0.0001},{lon + 0.01},{lat + 0.01}"

    def read(i: int) -> int:
        layer = ("events", "divisions", "grid-cells", "things", "alarms", "buildings")[i % 6]
        params = {"limit": 50} | ({"bbox": bbox} if layer == "events" else {})
        r = httpx.get(f"{live_url}/ogc/collections/{layer}/items", params=params, headers=centre, timeout=60)
        return r.status_code

    def write(i: int) -> int:
        body = {
            "description": "井盖缺失，存在安全隐患",
            "source": "hotline",
            "category_code": "CG01",
            "title": f"并发{i}",
            "lon": lon + i * 0.0001,
            "lat": lat + i * 0.0001,
        }
        return httpx.post(f"{live_url}/api/cityops/events", json=body, headers=centre, timeout=60).status_code

    before = httpx.get(
        f"{live_url}/ogc/collections/events/items", params={"bbox": bbox, "limit": 1}, headers=centre
    ).json()["numberMatched"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        reads = [pool.submit(read, i) for i in range(30)]
        writes = [pool.submit(write, i) for i in range(10)]
        assert [f.result() for f in reads] == [200] * 30
        assert [f.result() for f in writes] == [201] * 10
    after = httpx.get(
        f"{live_url}/ogc/collections/events/items", params={"bbox": bbox, "limit": 1}, headers=centre
    ).json()["numberMatched"]
    assert after == before + 10
