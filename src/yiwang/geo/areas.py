"""Boundaries and grid cells: import, the in-process point-in-polygon index, listing as features."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from shapely import STRtree
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape
from shapely.prepared import PreparedGeometry, prep
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.geo import models as m
from yiwang.geo.readers import InFeature
from yiwang.geo.schemas import AreaRead, BBox, ImportResult, Location

KINDS = ("town", "community", "grid")
_CODE_KEYS = ("code", "CODE", "adcode", "ADCODE", "division_code", "XZQDM", "grid_code", "WGBM")
_NAME_KEYS = ("name", "NAME", "XZQMC", "WGMC", "名称")


def bump_version(db: Session) -> None:
    """Raise the map's version in this transaction: every process rebuilds its index on its next lookup."""
    result = db.execute(update(m.Version).where(m.Version.id == 1).values(value=m.Version.value + 1))
    if getattr(result, "rowcount", 0) == 0:
        db.add(m.Version(id=1, value=1))
        db.flush()


def current_version(db: Session) -> int:
    return db.execute(select(m.Version.value).where(m.Version.id == 1)).scalar_one_or_none() or 0


def _first(props: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = props.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return None


def _staff(props: dict[str, Any]) -> list[str]:
    value = props.get("staff") or props.get("grid_staff") or props.get("WGY")
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
    return []


def import_areas(
    db: Session, *, actor: Principal, kind: str, features: list[InFeature], source: str, schematic: bool = False
) -> ImportResult:
    """Create or replace areas of one kind by code; features without a code or polygon are listed, not taken."""
    now = utcnow()
    existing = {a.code: a for a in db.execute(select(m.Area)).scalars()}
    created = updated = 0
    skipped: list[str] = []
    seen: set[str] = set()
    for feature in features:
        code = _first(feature.properties, _CODE_KEYS)
        if feature.problem or feature.geometry is None:
            skipped.append(f"第 {feature.number} 个要素：{feature.problem or '缺少几何'}")
            continue
        if not code or len(code) > 20:
            skipped.append(f"第 {feature.number} 个要素：缺少编码（code）或编码超过 20 位")
            continue
        if code in seen:
            skipped.append(f"第 {feature.number} 个要素：编码 {code} 在文件中重复")
            continue
        seen.add(code)
        area = existing.get(code)
        if area is not None and area.kind != kind:
            skipped.append(f"第 {feature.number} 个要素：编码 {code} 已是另一类区域")
            continue
        if area is None:
            area = m.Area(code=code, kind=kind)
            db.add(area)
            created += 1
        else:
            updated += 1
        minx, miny, maxx, maxy = feature.geometry.bounds
        area.name = (_first(feature.properties, _NAME_KEYS) or code)[:100]
        area.division_code = feature.properties.get("division_code") or (code[:12] if kind == "grid" else None)
        area.geometry = json.dumps(mapping(feature.geometry), separators=(",", ":"))
        area.min_lon, area.min_lat, area.max_lon, area.max_lat = minx, miny, maxx, maxy
        area.schematic = schematic
        area.staff = _staff(feature.properties) if kind == "grid" else None
        area.source = source[:200]
        area.updated_at = now
    if created or updated:
        bump_version(db)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="geo.areas.import",
        target_type="geo_area",
        target_id=kind,
        details={"source": source[:200], "created": created, "updated": updated, "skipped": len(skipped)},
    )
    return ImportResult(kind=kind, created=created, updated=updated, skipped=skipped)


@dataclass
class _Index:
    version: int
    tree: STRtree | None
    codes: list[str]
    kinds: list[str]
    prepared: list[PreparedGeometry[Any]]
    division_of: dict[str, str | None]


_index: _Index | None = None
_lock = threading.Lock()


def _load_index(db: Session) -> _Index:
    global _index
    version = current_version(db)
    current = _index
    if current is not None and current.version == version:
        return current
    with _lock:
        if _index is not None and _index.version == version:
            return _index
        rows = db.execute(select(m.Area.code, m.Area.kind, m.Area.geometry, m.Area.division_code)).all()
        geoms = [shape(json.loads(r.geometry)) for r in rows]
        _index = _Index(
            version=version,
            tree=STRtree(geoms) if geoms else None,
            codes=[r.code for r in rows],
            kinds=[r.kind for r in rows],
            prepared=[prep(g) for g in geoms],
            division_of={r.code: r.division_code for r in rows},
        )
        return _index


def locate(db: Session, *, lon: float, lat: float) -> Location:
    """The grid cell, community and town a point falls in (point-in-polygon on the cached index)."""
    index = _load_index(db)
    found: dict[str, str] = {}
    if index.tree is not None:
        point = Point(lon, lat)
        for i in index.tree.query(point):
            if index.kinds[i] not in found and index.prepared[i].covers(point):
                found[index.kinds[i]] = index.codes[i]
    grid = found.get("grid")
    community = found.get("community")
    town = found.get("town")
    declared = index.division_of.get(grid) if grid else None
    if declared:  # a grid cell belongs to the division it declares, whatever polygons overlap it
        community = declared if len(declared) > 9 else None
        town = declared[:9]
    elif community and not town:
        town = community[:9]
    return Location(grid_code=grid, community_code=community, town_code=town)


def area_exists(db: Session, *, code: str, kind: str | None = None) -> bool:
    stmt = select(m.Area.id).where(m.Area.code == code)
    if kind:
        stmt = stmt.where(m.Area.kind == kind)
    return db.execute(stmt).first() is not None


def grid_cells_of(db: Session, *, username: str) -> list[str]:
    """The grid cells whose staff list names this account."""
    rows = db.execute(select(m.Area.code, m.Area.staff).where(m.Area.kind == "grid")).all()
    return sorted(r.code for r in rows if username in (r.staff or []))


def _read(area: m.Area) -> AreaRead:
    return AreaRead(
        code=area.code,
        kind=area.kind,
        name=area.name,
        division_code=area.division_code,
        schematic=area.schematic,
        staff=list(area.staff or []),
        geometry=json.loads(area.geometry),
    )


def list_areas(
    db: Session, *, kinds: tuple[str, ...], bbox: BBox | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[AreaRead], int]:
    """Areas of these kinds whose bounding box meets bbox, by code."""
    stmt = select(m.Area).where(m.Area.kind.in_(kinds))
    if bbox is not None:
        stmt = stmt.where(
            m.Area.max_lon >= bbox[0], m.Area.min_lon <= bbox[2], m.Area.max_lat >= bbox[1], m.Area.min_lat <= bbox[3]
        )
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(stmt.order_by(m.Area.code).limit(limit).offset(offset)).scalars()
    return [_read(a) for a in rows], total


def get_area(db: Session, *, code: str) -> AreaRead | None:
    area = db.execute(select(m.Area).where(m.Area.code == code)).scalar_one_or_none()
    return _read(area) if area else None


def any_schematic(db: Session) -> bool:
    return db.execute(select(m.Area.id).where(m.Area.schematic.is_(True)).limit(1)).first() is not None


def as_polygon(geometry: dict[str, Any]) -> Polygon | MultiPolygon:
    geom = shape(geometry)
    assert isinstance(geom, Polygon | MultiPolygon)
    return geom
