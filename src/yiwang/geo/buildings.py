"""Buildings (the CIM's first layer): footprints with heights, located to grid cells and divisions."""

import json
from typing import Any

from shapely.geometry import mapping
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.geo import areas
from yiwang.geo import models as m
from yiwang.geo.readers import InFeature
from yiwang.geo.schemas import BBox, BuildingRead, ImportResult

_DEFAULT_STOREY = 3.0  # metres per floor when only floors are given


def _height(props: dict[str, Any]) -> float | None:
    for key in ("height", "HEIGHT", "measuredHeight", "高度"):
        try:
            if props.get(key) not in (None, ""):
                return float(props[key])
        except (TypeError, ValueError):
            return None
    floors = props.get("floors") or props.get("storeysAboveGround") or props.get("层数")
    try:
        return float(floors) * _DEFAULT_STOREY if floors not in (None, "") else None
    except (TypeError, ValueError):
        return None


def import_buildings(db: Session, *, actor: Principal, features: list[InFeature], source: str) -> ImportResult:
    """Create or replace buildings by code; each is located to its grid cell and division by its inner point."""
    now = utcnow()
    existing = {b.code: b for b in db.execute(select(m.Building)).scalars()}
    created = updated = 0
    skipped: list[str] = []
    for feature in features:
        props = feature.properties
        code = str(props.get("code") or props.get("id") or props.get("BM") or "").strip()
        height = _height(props)
        if feature.problem or feature.geometry is None:
            skipped.append(f"第 {feature.number} 个要素：{feature.problem or '缺少几何'}")
            continue
        if not code or len(code) > 40:
            skipped.append(f"第 {feature.number} 个要素：缺少编码（code）或编码超过 40 位")
            continue
        if height is None or not 0 < height < 1000:
            skipped.append(f"第 {feature.number} 个要素：缺少有效高度（height 米，或 floors 层数）")
            continue
        inner = feature.geometry.representative_point()
        place = areas.locate(db, lon=inner.x, lat=inner.y)  # before the new row: the lookup autoflushes
        building = existing.get(code)
        if building is None:
            building = m.Building(code=code)
            db.add(building)
            existing[code] = building
            created += 1
        else:
            updated += 1
        minx, miny, maxx, maxy = feature.geometry.bounds
        building.name = str(props.get("name") or props.get("名称") or "")[:200]
        building.height = height
        floors = props.get("floors") or props.get("storeysAboveGround")
        building.floors = (
            int(str(floors)) if str(floors or "").isdigit() else (int(floors) if isinstance(floors, float) else None)
        )
        building.geometry = json.dumps(mapping(feature.geometry), separators=(",", ":"))
        building.lon, building.lat = inner.x, inner.y
        building.min_lon, building.min_lat, building.max_lon, building.max_lat = minx, miny, maxx, maxy
        building.division_code = place.division_code
        building.grid_code = place.grid_code
        building.source = source[:200]
        building.updated_at = now
    if created or updated:
        areas.bump_version(db)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="geo.buildings.import",
        target_type="geo_building",
        target_id="buildings",
        details={"source": source[:200], "created": created, "updated": updated, "skipped": len(skipped)},
    )
    return ImportResult(kind="building", created=created, updated=updated, skipped=skipped)


def _read(b: m.Building) -> BuildingRead:
    return BuildingRead(
        code=b.code,
        name=b.name,
        height=b.height,
        floors=b.floors,
        lon=b.lon,
        lat=b.lat,
        division_code=b.division_code,
        grid_code=b.grid_code,
        geometry=json.loads(b.geometry),
    )


def list_buildings(
    db: Session, *, bbox: BBox | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[BuildingRead], int]:
    stmt = select(m.Building)
    if bbox is not None:
        stmt = stmt.where(
            m.Building.max_lon >= bbox[0],
            m.Building.min_lon <= bbox[2],
            m.Building.max_lat >= bbox[1],
            m.Building.min_lat <= bbox[3],
        )
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(stmt.order_by(m.Building.code).limit(limit).offset(offset)).scalars()
    return [_read(b) for b in rows], total


def get_building(db: Session, *, code: str) -> BuildingRead | None:
    b = db.execute(select(m.Building).where(m.Building.code == code)).scalar_one_or_none()
    return _read(b) if b else None


def building_at(db: Session, *, lon: float, lat: float) -> str | None:
    """The code of the building whose footprint holds the point, if any."""
    candidates = db.execute(
        select(m.Building.code, m.Building.geometry).where(
            m.Building.min_lon <= lon, m.Building.max_lon >= lon, m.Building.min_lat <= lat, m.Building.max_lat >= lat
        )
    ).all()
    from shapely.geometry import Point, shape

    point = Point(lon, lat)
    for row in candidates:
        if shape(json.loads(row.geometry)).covers(point):
            return str(row.code)
    return None
