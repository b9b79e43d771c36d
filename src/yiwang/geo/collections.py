"""The OGC API – Features collections: a registry other domains fill at start-up, and the map's own layers.

geo imports no domain that imports geo: cityops, sensing (and video) register their layers here from their
plugins' start-up, each with a provider that reads as the caller may see.
"""

import json
from typing import Any

from sqlalchemy.orm import Session

from yiwang.core.security import Principal
from yiwang.geo import areas, buildings
from yiwang.geo import permissions as p
from yiwang.geo.schemas import AreaRead, BuildingRead, Feature, FeatureCollection, FeaturePage, FeatureQuery

_collections: dict[str, FeatureCollection] = {}


def register_collection(collection: FeatureCollection) -> None:
    """Add (or replace, on a second start-up in one process) a layer served under /ogc/collections."""
    _collections[collection.id] = collection


def registered_collections() -> list[FeatureCollection]:
    return list(_collections.values())


def readable_collections(actor: Principal) -> list[FeatureCollection]:
    return [c for c in _collections.values() if any(actor.has(x) for x in c.permissions)]


def map_layers(actor: Principal, only: tuple[str, ...] = ()) -> str:
    """The layers (id, title, style hints) a page's map draws for this caller, as JSON for its data attribute."""
    layers = [
        {"id": c.id, "title": c.title, "legend": c.legend}
        for c in readable_collections(actor)
        if not only or c.id in only
    ]
    return json.dumps(layers, ensure_ascii=False)


def find_collection(collection_id: str) -> FeatureCollection | None:
    return _collections.get(collection_id)


def _area_feature(a: AreaRead) -> Feature:
    props: dict[str, object] = {
        "code": a.code,
        "name": a.name,
        "kind": a.kind,
        "division_code": a.division_code,
        "schematic": a.schematic,
    }
    if a.kind == "grid":
        props["staff_count"] = len(a.staff)
    return Feature(id=a.code, geometry=a.geometry, properties=props)


def _building_feature(b: BuildingRead) -> Feature:
    return Feature(
        id=b.code,
        geometry=b.geometry,
        properties={
            "code": b.code,
            "name": b.name,
            "height": b.height,
            "floors": b.floors,
            "division_code": b.division_code,
            "grid_code": b.grid_code,
        },
    )


def _areas_provider(kinds: tuple[str, ...]) -> tuple[Any, Any]:
    def items(db: Session, actor: Principal, q: FeatureQuery) -> FeaturePage:
        rows, total = areas.list_areas(db, kinds=kinds, bbox=q.bbox, limit=q.limit, offset=q.offset)
        return FeaturePage([_area_feature(a) for a in rows], total)

    def one(db: Session, actor: Principal, fid: str) -> Feature | None:
        a = areas.get_area(db, code=fid)
        return _area_feature(a) if a and a.kind in kinds else None

    return items, one


def _buildings_items(db: Session, actor: Principal, q: FeatureQuery) -> FeaturePage:
    rows, total = buildings.list_buildings(db, bbox=q.bbox, limit=q.limit, offset=q.offset)
    return FeaturePage([_building_feature(b) for b in rows], total)


def _buildings_one(db: Session, actor: Principal, fid: str) -> Feature | None:
    b = buildings.get_building(db, code=fid)
    return _building_feature(b) if b else None


def register_own() -> None:
    """The map's own layers: divisions (towns and communities), grid cells, buildings."""
    items, one = _areas_provider(("town", "community"))
    register_collection(
        FeatureCollection(
            "divisions",
            "行政区划",
            "镇（街道）与村（社区）边界",
            (p.READ,),
            items,
            one,
            False,
            {"stroke": "#1d4ed8", "kind": "outline"},
        )
    )
    items, one = _areas_provider(("grid",))
    register_collection(
        FeatureCollection(
            "grid-cells",
            "网格",
            "社会治理网格及其网格员人数",
            (p.READ,),
            items,
            one,
            False,
            {"stroke": "#c2410c", "kind": "outline"},
        )
    )
    register_collection(
        FeatureCollection(
            "buildings",
            "建筑",
            "建筑底面与高度（CIM 第一层）",
            (p.READ,),
            _buildings_items,
            _buildings_one,
            False,
            {"fill": "#64748b", "kind": "building"},
        )
    )
