"""Demo map data: schematic town areas (until real boundaries are imported), grid cells and buildings."""

import json
from pathlib import Path
from typing import Any

from shapely import voronoi_polygons
from shapely.geometry import MultiPoint, MultiPolygon, Polygon, box, shape

from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.geo import areas, buildings
from yiwang.geo.readers import InFeature, polygonal
from yiwang.org import service as org_service

OUTLINE = Path(__file__).resolve().parents[1] / "web" / "static" / "vendor" / "changshu-outline.geojson"
SYSTEM_PRINCIPAL = Principal(user_id=None, username="system:geo", display_name="统一标准地图", kind="system")
GRID_TOWN = "虞山街道"
GRID_STAFF = "cgj_zfdd_handler"  # a demo account that also serves as grid staff (网格员)


def _outline(points: MultiPoint) -> Polygon:
    if OUTLINE.is_file():
        doc = json.loads(OUTLINE.read_text(encoding="utf-8"))
        geom = shape(doc["features"][0]["geometry"])
        if isinstance(geom, Polygon):
            return geom
    hull = points.convex_hull.buffer(0.04)
    assert isinstance(hull, Polygon)
    return hull


def town_features(towns: list[Any]) -> list[InFeature]:
    """Voronoi cells of the town centroids, clipped to the county outline: schematic, not surveyed."""
    points = MultiPoint([(t.lon, t.lat) for t in towns])
    outline = _outline(points)
    cells = voronoi_polygons(points, extend_to=outline.envelope.buffer(0.1))
    out = []
    for n, town in enumerate(towns, 1):
        cell = next(c for c in cells.geoms if c.covers(shape({"type": "Point", "coordinates": [town.lon, town.lat]})))
        geom = cell.intersection(outline)
        out.append(InFeature(n, polygonal(geom) or polygonal(cell), {"code": town.code, "name": town.name}))
    return out


def grid_features(town: Any, town_area: Polygon | MultiPolygon) -> list[InFeature]:
    """A 3 × 3 block of grid cells around the town's centre (0.01° each), the first with its grid staff."""
    out = []
    n = 0
    for row in range(3):
        for col in range(3):
            n += 1
            cell = box(
                town.lon - 0.015 + col * 0.01,
                town.lat - 0.015 + row * 0.01,
                town.lon - 0.005 + col * 0.01,
                town.lat - 0.005 + row * 0.01,
            ).intersection(town_area)
            props = {
                "code": f"{town.code}-G{n:02d}",
                "name": f"{town.name}第{n}网格（演示）",
                "division_code": town.code,
                "staff": [GRID_STAFF] if n == 1 else [],
            }
            out.append(InFeature(n, polygonal(cell), props))
    return out


def building_features(town: Any) -> list[InFeature]:
    out = []
    for n in range(6):
        x, y = town.lon - 0.012 + (n % 3) * 0.004, town.lat - 0.012 + (n // 3) * 0.004
        footprint = box(x, y, x + 0.0012, y + 0.0008)
        props = {"code": f"DEMO-B{n + 1:03d}", "name": f"演示楼宇{n + 1}号", "height": 12 + n * 9, "floors": 4 + n * 3}
        out.append(InFeature(n + 1, footprint, props))
    return out


def load(runtime: Runtime, console: Any = None) -> dict[str, int]:
    """Once: schematic town areas, the demo grid cells of 虞山街道 and a few buildings."""
    with runtime.db.unit_of_work() as db:
        if areas.list_areas(db, kinds=("town", "community", "grid"), limit=1)[1]:
            return {"areas": 0, "buildings": 0}
        towns = [d for d in org_service.list_divisions(db) if d.level in ("town", "subdistrict") and d.lon]
        if not towns:
            return {"areas": 0, "buildings": 0}
        town_result = areas.import_areas(
            db,
            actor=SYSTEM_PRINCIPAL,
            kind="town",
            features=town_features(towns),
            source="演示：示意边界",
            schematic=True,
        )
        home = next((t for t in towns if t.name == GRID_TOWN), towns[0])
        home_area = areas.as_polygon(areas.get_area(db, code=home.code).geometry)  # type: ignore[union-attr]
        grid_result = areas.import_areas(
            db,
            actor=SYSTEM_PRINCIPAL,
            kind="grid",
            features=grid_features(home, home_area),
            source="演示网格",
            schematic=True,
        )
        built = buildings.import_buildings(
            db, actor=SYSTEM_PRINCIPAL, features=building_features(home), source="演示建筑"
        )
    return {"areas": town_result.created + grid_result.created, "buildings": built.created}
