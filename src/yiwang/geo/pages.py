"""Pages of the map: the city map with every layer the caller may read, and a building's page."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from shapely.geometry import Point, shape

from yiwang.core.db import DbSession
from yiwang.core.errors import NotFound
from yiwang.core.security import Principal, require
from yiwang.geo import collections as registry
from yiwang.geo import permissions as p
from yiwang.geo import service
from yiwang.geo.collections import map_layers
from yiwang.geo.schemas import FeatureQuery
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/map", response_class=HTMLResponse)
def city_map(request: Request, db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]) -> Response:
    return render(
        request,
        "geo/map.html",
        {"layers": map_layers(user), "schematic": service.any_schematic(db)},
    )


@router.get("/map/buildings/{code}", response_class=HTMLResponse)
def building_page(
    request: Request, code: str, db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]
) -> Response:
    """A building: its footprint and height, where it lies, and the events inside its footprint."""
    building = service.get_building(db, code=code[:40])
    if building is None:
        raise NotFound("建筑不存在")
    footprint = shape(building.geometry)
    happened = []
    events = registry.find_collection("events")
    if events is not None and any(user.has(x) for x in events.permissions):
        page = events.items(db, user, FeatureQuery(bbox=footprint.bounds, limit=200))
        happened = [
            f
            for f in page.features
            if f.geometry and footprint.buffer(0.00005).covers(Point(f.geometry["coordinates"]))
        ]
    grid = service.get_area(db, code=building.grid_code) if building.grid_code else None
    division = service.get_area(db, code=building.division_code) if building.division_code else None
    return render(
        request,
        "geo/building.html",
        {
            "building": building,
            "grid": grid,
            "division": division,
            "events": happened,
            "layers": map_layers(user, ("divisions", "grid-cells", "buildings", "events")),
        },
    )
