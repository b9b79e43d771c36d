"""Reading boundary and building files: GeoJSON, ESRI Shapefile (pyshp, .shp or a .zip) and CityJSON."""

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapefile
from shapely.geometry import MultiPolygon, Polygon, shape

from yiwang.core.errors import ValidationFailed
from yiwang.geo.coords import gcj02_to_wgs84


@dataclass(frozen=True)
class InFeature:
    """One feature read from a file: its polygon (WGS 84) and its attributes."""

    number: int  # 1-based position in the file, for messages
    geometry: Polygon | MultiPolygon | None
    properties: dict[str, Any]
    problem: str | None = None


def _polygon(geometry: Any, crs: str) -> tuple[Polygon | MultiPolygon | None, str | None]:
    try:
        geom = shape(geometry)
    except Exception as exc:
        return None, f"几何无法读取（{type(exc).__name__}）"
    if not isinstance(geom, Polygon | MultiPolygon):
        return None, f"几何类型 {geom.geom_type} 不是面（Polygon/MultiPolygon）"
    if geom.is_empty:
        return None, "几何为空"
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return None, "坐标不是经纬度（请先转换到 CGCS2000 或 WGS 84 经纬度）"
    if crs == "gcj02":
        from shapely.ops import transform

        def to_wgs84(x: Any, y: Any, z: Any = None) -> tuple[Any, Any]:
            return _vector(gcj02_to_wgs84, x, y)

        geom = transform(to_wgs84, geom)
    repaired = polygonal(geom if geom.is_valid else geom.buffer(0))
    if repaired is None:
        return None, "几何无效且无法修复"
    return repaired, None


def polygonal(geom: Any) -> Polygon | MultiPolygon | None:
    """Only the areal parts of a geometry (an intersection may leave lines or points beside them)."""
    if isinstance(geom, Polygon | MultiPolygon):
        return None if geom.is_empty else geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon) and not g.is_empty]
    parts += [p for g in getattr(geom, "geoms", []) if isinstance(g, MultiPolygon) for p in g.geoms]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _vector(fn: Any, xs: Any, ys: Any) -> tuple[Any, Any]:
    if isinstance(xs, float | int):
        return fn(xs, ys)
    pairs = [fn(x, y) for x, y in zip(xs, ys, strict=True)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def read_geojson(data: bytes, *, crs: str = "wgs84") -> list[InFeature]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"GeoJSON 无法解析：{exc}") from exc
    if not isinstance(doc, dict):
        raise ValidationFailed("GeoJSON 顶层应为对象")
    if doc.get("type") == "CityJSON":
        return read_cityjson(doc)
    if doc.get("type") == "Feature":
        features = [doc]
    elif doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
        features = doc["features"]
    else:
        raise ValidationFailed("GeoJSON 应为 FeatureCollection 或 Feature")
    out = []
    for number, feature in enumerate(features, 1):
        if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
            out.append(InFeature(number, None, {}, "缺少几何"))
            continue
        props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        geom, problem = _polygon(feature["geometry"], crs)
        out.append(InFeature(number, geom, dict(props or {}), problem))
    return out


def read_shapefile(data: bytes, *, name: str, crs: str = "wgs84") -> list[InFeature]:
    """A zipped shapefile (.shp, .dbf and optional .prj together) read with pyshp."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValidationFailed("Shapefile 请打包为 .zip（包含 .shp、.shx、.dbf，文本为 UTF-8 或 GBK）")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = {Path(n).suffix.lower(): n for n in z.namelist()}
        if ".shp" not in names or ".dbf" not in names:
            raise ValidationFailed(f"{name} 中缺少 .shp 或 .dbf 文件")
        parts = {k: io.BytesIO(z.read(v)) for k, v in names.items() if k in (".shp", ".shx", ".dbf")}
        prj = z.read(names[".prj"]).decode("latin-1") if ".prj" in names else ""
    if prj and "GEOGCS" not in prj.upper()[:10] and "PROJCS" in prj.upper():
        raise ValidationFailed("Shapefile 为投影坐标（PROJCS），请先转换到 CGCS2000 或 WGS 84 经纬度")
    out: list[InFeature] = []
    for encoding in ("utf-8", "gbk"):
        try:
            reader = shapefile.Reader(shp=parts[".shp"], shx=parts.get(".shx"), dbf=parts[".dbf"], encoding=encoding)
            out = []
            for number, record in enumerate(reader.iterShapeRecords(), 1):
                geom, problem = _polygon(record.shape.__geo_interface__, crs)
                out.append(InFeature(number, geom, dict(record.record.as_dict()), problem))
            return out
        except (UnicodeDecodeError, shapefile.ShapefileException) as exc:
            if isinstance(exc, UnicodeDecodeError) or "decode" in str(exc):
                for part in parts.values():
                    part.seek(0)
                continue
            raise ValidationFailed(f"Shapefile 无法读取：{exc}") from exc
    raise ValidationFailed("Shapefile 属性表的编码既不是 UTF-8 也不是 GBK")


def read_cityjson(doc: dict[str, Any]) -> list[InFeature]:
    """CityJSON 1.x Buildings: the footprint is the lowest surface of the first geometry, height from attributes."""
    vertices = doc.get("vertices")
    objects = doc.get("CityObjects")
    if not isinstance(vertices, list) or not isinstance(objects, dict):
        raise ValidationFailed("CityJSON 缺少 vertices 或 CityObjects")
    transform = doc.get("transform") or {}
    scale = transform.get("scale", [1, 1, 1])
    origin = transform.get("translate", [0, 0, 0])

    def vertex(i: int) -> tuple[float, float, float]:
        v = vertices[i]
        return (v[0] * scale[0] + origin[0], v[1] * scale[1] + origin[1], v[2] * scale[2] + origin[2])

    out = []
    for number, (key, obj) in enumerate(objects.items(), 1):
        if not isinstance(obj, dict) or obj.get("type") not in ("Building", "BuildingPart"):
            continue
        attrs = dict(obj.get("attributes") or {})
        attrs.setdefault("code", key)
        try:
            geometry = obj["geometry"][0]
            shells = geometry["boundaries"][0] if geometry["type"] == "Solid" else geometry["boundaries"]
            rings = [[vertex(i) for i in surface[0]] for surface in shells]
            zs = [p[2] for ring in rings for p in ring]
            floor = min(rings, key=lambda r: sum(p[2] for p in r) / len(r))
            poly = Polygon([(p[0], p[1]) for p in floor])
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            out.append(InFeature(number, None, attrs, f"CityJSON 几何无法读取（{type(exc).__name__}）"))
            continue
        attrs.setdefault("height", attrs.get("measuredHeight") or (max(zs) - min(zs)))
        geom, problem = _polygon(poly.__geo_interface__, "wgs84")
        out.append(InFeature(number, geom, attrs, problem))
    return out


def read_file(data: bytes, *, name: str, crs: str = "wgs84") -> list[InFeature]:
    """Features of a GeoJSON, CityJSON or zipped Shapefile, chosen by the file name's suffix."""
    suffix = Path(name).suffix.lower()
    if suffix in (".zip", ".shp"):
        return read_shapefile(data, name=name, crs=crs)
    if suffix in (".geojson", ".json", ".cityjson"):
        return read_geojson(data, crs=crs)
    raise ValidationFailed(
        f"不支持的文件类型 {suffix or '（无后缀）'}：请用 GeoJSON、CityJSON 或打包的 Shapefile（.zip）"
    )
