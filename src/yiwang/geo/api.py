"""JSON API of the map under /api/geo, and the basemap under /geo (file with HTTP Range, XYZ tiles)."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from yiwang.core.db import DbSession, ReadDbSession
from yiwang.core.errors import NotFound
from yiwang.core.security import CurrentUser, Principal, require
from yiwang.geo import permissions as p
from yiwang.geo import service
from yiwang.geo.basemap import MEDIA, open_basemap
from yiwang.geo.coords import gcj02_to_wgs84, wgs84_to_gcj02
from yiwang.geo.schemas import ImportResult, Location

router = APIRouter(tags=["统一标准地图"])


@router.post("/api/geo/import")
def import_layer(
    db: DbSession,
    user: Annotated[Principal, Depends(require(p.WRITE))],
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form(max_length=20)],
    crs: Annotated[str, Form(max_length=20)] = "wgs84",
) -> ImportResult:
    """Import town or community boundaries, grid cells or buildings (GeoJSON, CityJSON, zipped Shapefile)."""
    return service.import_file(db, actor=user, kind=kind, data=file.file.read(), name=file.filename or "", crs=crs)


@router.get("/api/geo/locate")
def locate(
    db: ReadDbSession,
    user: Annotated[Principal, Depends(require(p.READ))],
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    crs: Annotated[str, Query(pattern="^(wgs84|cgcs2000|gcj02)$")] = "wgs84",
) -> Location:
    """The grid cell, community, town and building at a point."""
    if crs == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    found = service.locate(db, lon=lon, lat=lat)
    found.building_code = service.building_at(db, lon=lon, lat=lat)
    return found


@router.get("/api/geo/convert")
def convert(
    user: CurrentUser,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    to: Annotated[str, Query(pattern="^(wgs84|gcj02)$")],
) -> dict[str, float]:
    """Convert a point between WGS 84 / CGCS2000 and GCJ-02."""
    x, y = wgs84_to_gcj02(lon, lat) if to == "gcj02" else gcj02_to_wgs84(lon, lat)
    return {"lon": round(x, 8), "lat": round(y, 8)}


def _basemap_path(request: Request) -> Path | None:
    path = request.app.state.settings.basemap
    return path if path and path.is_file() else None


@router.get("/geo/basemap.json")
def basemap_info(request: Request, user: CurrentUser) -> dict[str, Any]:
    """What basemap the operator set, if any (the map shows outlines only without one)."""
    path = _basemap_path(request)
    if path is None:
        return {"present": False}
    info = open_basemap(path).info
    return {
        "present": True,
        "kind": info.kind,
        "format": info.format,
        "min_zoom": info.min_zoom,
        "max_zoom": info.max_zoom,
        "bounds": info.bounds,
        "name": info.name,
        "tiles": "/geo/tiles/{z}/{x}/{y}",
        "file": "/geo/basemap",
    }


@router.get("/geo/basemap")
def basemap_file(request: Request, user: CurrentUser) -> FileResponse:
    """The basemap file itself, with HTTP Range (PMTiles readers fetch byte ranges)."""
    path = _basemap_path(request)
    if path is None:
        raise NotFound("未配置底图文件（YIWANG_BASEMAP）")
    return FileResponse(path, media_type="application/octet-stream", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/geo/tiles/{z}/{x}/{y}")
def tile(
    request: Request,
    user: CurrentUser,
    z: Annotated[str, PathParam(pattern=r"^\d{1,2}$")],
    x: Annotated[str, PathParam(pattern=r"^\d{1,8}$")],
    y: Annotated[str, PathParam(pattern=r"^\d{1,8}$")],
) -> Response:
    """One XYZ tile of the basemap (MBTiles or PMTiles); 204 where the file has none.

    Tile numbers start at 0, so they are digits checked here rather than row ids."""
    zoom, col, row = int(z), int(x), int(y)
    path = _basemap_path(request)
    if path is None:
        raise NotFound("未配置底图文件（YIWANG_BASEMAP）")
    basemap = open_basemap(path)
    if zoom > 24 or col >= 1 << zoom or row >= 1 << zoom:
        raise NotFound("瓦片不存在")
    data = basemap.tile(zoom, col, row)
    if data is None:
        return Response(status_code=204)
    headers = {"Cache-Control": "private, max-age=3600"}
    if basemap.info.gzip and data[:2] == b"\x1f\x8b":
        headers["Content-Encoding"] = "gzip"
    return Response(data, media_type=MEDIA.get(basemap.info.format, "application/octet-stream"), headers=headers)
