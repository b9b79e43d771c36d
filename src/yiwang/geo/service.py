"""The map's public face: what other domains call (locate, grid staff, collections) and the import commands."""

from pathlib import Path

from sqlalchemy.orm import Session

from yiwang.core.errors import ValidationFailed
from yiwang.core.security import Principal
from yiwang.geo import areas, buildings, readers
from yiwang.geo.areas import any_schematic, area_exists, get_area, grid_cells_of, list_areas, locate
from yiwang.geo.buildings import building_at, get_building, list_buildings
from yiwang.geo.collections import find_collection, map_layers, readable_collections, register_collection
from yiwang.geo.coords import gcj02_to_wgs84, wgs84_to_gcj02
from yiwang.geo.schemas import ImportResult

__all__ = [
    "any_schematic",
    "area_exists",
    "building_at",
    "find_collection",
    "gcj02_to_wgs84",
    "get_area",
    "get_building",
    "grid_cells_of",
    "import_file",
    "list_areas",
    "list_buildings",
    "locate",
    "map_layers",
    "readable_collections",
    "register_collection",
    "wgs84_to_gcj02",
]

IMPORT_KINDS = ("town", "community", "grid", "building")


def import_file(
    db: Session, *, actor: Principal, kind: str, data: bytes, name: str, crs: str = "wgs84"
) -> ImportResult:
    """Import a GeoJSON, CityJSON or zipped Shapefile of one kind (town, community, grid or building)."""
    if kind not in IMPORT_KINDS:
        raise ValidationFailed(f"未知的导入类别 {kind}：应为 town、community、grid 或 building")
    if crs not in ("wgs84", "cgcs2000", "gcj02"):
        raise ValidationFailed("坐标系应为 wgs84、cgcs2000 或 gcj02")
    features = readers.read_file(data, name=name, crs="gcj02" if crs == "gcj02" else "wgs84")
    if not features:
        raise ValidationFailed("文件中没有要素")
    source = Path(name).name
    if kind == "building":
        return buildings.import_buildings(db, actor=actor, features=features, source=source)
    return areas.import_areas(db, actor=actor, kind=kind, features=features, source=source)
