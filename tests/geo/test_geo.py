"""The map's data: GCJ-02 conversion, importing boundaries (GeoJSON, Shapefile, CityJSON), point-in-polygon,
events located to a grid cell and dispatched by its rule, grid staff's view, buildings."""

import io
import json
import random
import zipfile

import shapefile

from tests.cityops.conftest import bearer, report
from tests.conftest import run_cli, unique
from yiwang.geo import service
from yiwang.geo.coords import gcj02_to_wgs84, wgs84_to_gcj02

# Published pairs (WGS 84 → GCJ-02) used by the open-source converters' own tests.
KNOWN = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]


def test_gcj02_known_points_and_round_trip():
    for wgs, gcj in KNOWN:
        x, y = wgs84_to_gcj02(*wgs)
        assert abs(x - gcj[0]) < 1e-6 and abs(y - gcj[1]) < 1e-6
        back = gcj02_to_wgs84(*gcj)
        assert abs(back[0] - wgs[0]) < 1e-7 and abs(back[1] - wgs[1]) < 1e-7
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)  # outside China nothing moves


def _square(lon: float, lat: float, size: float = 0.002) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
    }


def _place() -> tuple[float, float]:
    """A spot of its own in the east of the city, away from the demo's grid cells and other tests' squares."""
    rng = random.Random()
    return 120.85 + rng.randrange(0, 400) * 0.0003, 31.52 + rng.randrange(0, 300) * 0.0003


def test_import_geojson_grid_and_locate(client, admin_headers):
    lon, lat = _place()
    code = unique("G")[:20]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": code, "name": "测试网格", "staff": "cgj_handler", "division_code": "320581001"},
                "geometry": _square(lon, lat, 0.0002),
            },
            {"type": "Feature", "properties": {"name": "无编码"}, "geometry": _square(lon, lat)},
            {"type": "Feature", "properties": {"code": "X1"}, "geometry": {"type": "Point", "coordinates": [lon, lat]}},
        ],
    }
    files = {"file": ("grid.geojson", json.dumps(doc).encode(), "application/geo+json")}
    r = client.post("/api/geo/import", data={"kind": "grid"}, files=files, headers=admin_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 1 and len(body["skipped"]) == 2
    assert "缺少编码" in body["skipped"][0] and "不是面" in body["skipped"][1]
    located = client.get(f"/api/geo/locate?lon={lon + 0.0001}&lat={lat + 0.0001}", headers=admin_headers).json()
    assert located["grid_code"] == code and located["town_code"] == "320581001"
    # the same point as a Chinese web map gives it (GCJ-02)
    glon, glat = wgs84_to_gcj02(lon + 0.0001, lat + 0.0001)
    assert (
        client.get(f"/api/geo/locate?lon={glon}&lat={glat}&crs=gcj02", headers=admin_headers).json()["grid_code"]
        == code
    )
    outside = client.get(f"/api/geo/locate?lon={lon + 0.01}&lat={lat + 0.01}", headers=admin_headers).json()
    assert outside["grid_code"] != code


def test_import_refuses_bad_files_with_clear_errors(client, admin_headers):
    for name, data, expect in [
        ("a.geojson", b"{not json", "GeoJSON 无法解析"),
        ("a.geojson", b'{"type": "Point"}', "FeatureCollection"),
        ("a.txt", b"x", "不支持的文件类型"),
        ("a.zip", b"PK-not-a-zip", "打包为 .zip"),
    ]:
        r = client.post("/api/geo/import", data={"kind": "town"}, files={"file": (name, data)}, headers=admin_headers)
        assert r.status_code == 422, r.text
        assert expect in r.json()["error"]["message"]
    r = client.post(
        "/api/geo/import", data={"kind": "river"}, files={"file": ("a.geojson", b"{}")}, headers=admin_headers
    )
    assert r.status_code == 422
    staff = bearer(client, "cgj_handler")
    r = client.post("/api/geo/import", data={"kind": "town"}, files={"file": ("a.geojson", b"{}")}, headers=staff)
    assert r.status_code == 403


def _zipped_shapefile(code: str, lon: float, lat: float) -> bytes:
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON, encoding="gbk") as w:
        w.field("WGBM", "C", size=20)
        w.field("WGMC", "C", size=40)
        ring = _square(lon, lat)["coordinates"][0]
        w.poly([list(reversed(ring))])
        w.record(code, "测试网格（Shapefile）")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for ext, part in (("shp", shp), ("shx", shx), ("dbf", dbf)):
            z.writestr(f"grid.{ext}", part.getvalue())
    return out.getvalue()


def test_cli_imports_a_shapefile(runtime, tmp_path):
    lon, lat = _place()
    code = unique("S")[:20]
    path = tmp_path / "grid.zip"
    path.write_bytes(_zipped_shapefile(code, lon, lat))
    result = run_cli(runtime, "divisions", "import", str(path), "--kind", "grid")
    assert result.exit_code == 0, result.output
    assert "新增 1" in result.output
    with runtime.db.read_only() as db:
        area = service.get_area(db, code=code)
        assert area is not None and area.name == "测试网格（Shapefile）"
        assert service.locate(db, lon=lon + 0.001, lat=lat + 0.001).grid_code == code
    missing = run_cli(runtime, "divisions", "import", str(tmp_path / "none.geojson"))
    assert missing.exit_code == 1 and "文件不存在" in missing.output


def test_point_in_grid_cell_dispatches_by_that_cells_rule(client, admin_headers):
    lon, lat = _place()
    code = unique("R")[:20]
    doc = {
        "type": "Feature",
        "properties": {"code": code, "name": "分拨测试网格", "division_code": "320581001"},
        "geometry": _square(lon, lat),
    }
    r = client.post(
        "/api/geo/import",
        data={"kind": "grid"},
        files={"file": ("g.geojson", json.dumps(doc).encode())},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    centre = bearer(client, "ldz_dispatcher")
    rule = client.post(
        "/api/cityops/dispatch-rules",
        headers=centre,
        json={"division_code": code, "category_code": "YJ02", "department_code": "CGJ", "sla_hours": 5},
    )
    assert rule.status_code == 201, rule.text
    assert rule.json()["division_name"] == "分拨测试网格"
    try:
        inside = report(
            client,
            "ldz_dispatcher",
            source="hotline",
            category_code="YJ02",
            division_code=None,
            lon=lon + 0.001,
            lat=lat + 0.001,
        )
        outside = report(
            client,
            "ldz_dispatcher",
            source="hotline",
            category_code="YJ02",
            division_code=None,
            lon=lon + 0.01,
            lat=lat + 0.01,
        )
        assert inside["department_code"] == "CGJ"
        assert outside["department_code"] != "CGJ"
        assert inside["division_code"] == "320581001"
        # grid staff see their cells' events, and not others
        cell = {
            "type": "Feature",
            "properties": {
                "code": code,
                "name": "分拨测试网格",
                "division_code": "320581001",
                "staff": ["spj_handler"],
            },
            "geometry": _square(lon, lat),
        }
        client.post(
            "/api/geo/import",
            data={"kind": "grid"},
            files={"file": ("g.geojson", json.dumps(cell).encode())},
            headers=admin_headers,
        )
        grid_staff = bearer(client, "spj_handler")
        assert client.get(f"/api/cityops/events/{inside['number']}", headers=grid_staff).status_code == 200
        assert client.get(f"/api/cityops/events/{outside['number']}", headers=grid_staff).status_code == 403
    finally:
        client.delete(f"/api/cityops/dispatch-rules/{rule.json()['id']}", headers=centre)


def test_cityjson_buildings_and_their_page(client, admin_headers):
    lon, lat = _place()
    code = unique("B")
    doc = {
        "type": "CityJSON",
        "version": "1.1",
        "transform": {"scale": [1e-6, 1e-6, 0.01], "translate": [lon, lat, 0]},
        "vertices": [
            [0, 0, 0],
            [300, 0, 0],
            [300, 200, 0],
            [0, 200, 0],
            [0, 0, 3000],
            [300, 0, 3000],
            [300, 200, 3000],
            [0, 200, 3000],
        ],
        "CityObjects": {
            code: {
                "type": "Building",
                "attributes": {"name": "测试大楼", "storeysAboveGround": 10},
                "geometry": [
                    {
                        "type": "Solid",
                        "lod": "1",
                        "boundaries": [
                            [
                                [[0, 3, 2, 1]],
                                [[4, 5, 6, 7]],
                                [[0, 1, 5, 4]],
                                [[1, 2, 6, 5]],
                                [[2, 3, 7, 6]],
                                [[3, 0, 4, 7]],
                            ]
                        ],
                    }
                ],
            }
        },
    }
    r = client.post(
        "/api/geo/import",
        data={"kind": "building"},
        files={"file": ("b.city.json", json.dumps(doc).encode())},
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    event = report(
        client,
        "ldz_dispatcher",
        source="hotline",
        category_code="CG01",
        division_code=None,
        lon=lon + 0.00015,
        lat=lat + 0.0001,
    )
    page = client.get(f"/map/buildings/{code}", headers=admin_headers | {"accept": "text/html"})
    assert page.status_code == 200
    assert "测试大楼" in page.text and "30.0 米" in page.text and event["number"] in page.text
    located = client.get(f"/api/geo/locate?lon={lon + 0.00015}&lat={lat + 0.0001}", headers=admin_headers).json()
    assert located["building_code"] == code
