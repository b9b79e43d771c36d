"""OGC API – Features Part 1 (Core, GeoJSON) under /ogc: landing page, conformance, collections, items.

Every route needs an authenticated caller (GIS tools send an API key in `X-API-Key`, a bearer token, or
HTTP Basic); each collection names the permissions that open it and reads as the caller may see.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from yiwang.core.db import ReadDbSession
from yiwang.core.errors import AppError, NotFound, PermissionDenied
from yiwang.core.security import CurrentUser, Principal
from yiwang.geo import collections as registry
from yiwang.geo.schemas import BBox, Feature, FeatureCollection, FeatureQuery

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
MAX_LIMIT = 10000
CITY_BBOX = [120.53, 31.48, 121.12, 31.85]  # 常熟市, for the extents


class BadParameter(AppError):
    """OGC API answers malformed query parameters with 400."""

    status_code = 400
    code = "invalid_parameter"


def _json(body: dict[str, Any], media: str = "application/json") -> JSONResponse:
    return JSONResponse(body, media_type=media)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


@router.get("", include_in_schema=False)
@router.get("/")
def landing(request: Request, user: CurrentUser) -> JSONResponse:
    """Landing page: links to the API definition, conformance and collections."""
    base = _base(request)
    return _json(
        {
            "title": "一网 统一标准地图 OGC API – Features",
            "description": "常熟市行政区划、网格、建筑、城市事件、物联感知设备与告警图层",
            "links": [
                {"href": f"{base}/", "rel": "self", "type": "application/json", "title": "本页"},
                {
                    "href": str(request.base_url) + "openapi.json",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "API 定义",
                },
                {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json", "title": "符合类"},
                {"href": f"{base}/collections", "rel": "data", "type": "application/json", "title": "图层"},
            ],
        }
    )


@router.get("/conformance")
def conformance(user: CurrentUser) -> JSONResponse:
    return _json({"conformsTo": CONFORMANCE})


def _describe(c: FeatureCollection, base: str) -> dict[str, Any]:
    extent: dict[str, Any] = {"spatial": {"bbox": [CITY_BBOX], "crs": CRS84}}
    if c.temporal:
        extent["temporal"] = {"interval": [[None, None]], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": extent,
        "links": [
            {"href": f"{base}/collections/{c.id}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections/{c.id}/items", "rel": "items", "type": "application/geo+json"},
        ],
    }


@router.get("/collections")
def collections(request: Request, user: CurrentUser) -> JSONResponse:
    """The layers this caller may read."""
    base = _base(request)
    return _json(
        {
            "collections": [_describe(c, base) for c in registry.readable_collections(user)],
            "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}],
        }
    )


def _collection(name: str, user: Principal) -> FeatureCollection:
    found = registry.find_collection(name)
    if found is None:
        raise NotFound(f"图层 {name} 不存在")
    if not any(user.has(x) for x in found.permissions):
        raise PermissionDenied("无权读取该图层")
    return found


@router.get("/collections/{name}")
def collection(name: str, request: Request, user: CurrentUser) -> JSONResponse:
    return _json(_describe(_collection(name, user), _base(request)))


def parse_bbox(text: str | None) -> BBox | None:
    if text is None or text == "":
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise BadParameter("bbox 应为 4 个数字：最小经度,最小纬度,最大经度,最大纬度") from exc
    if len(values) == 6:  # with heights: drop them
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not (values[0] <= values[2] and values[1] <= values[3]):
        raise BadParameter("bbox 应为 4 个数字：最小经度,最小纬度,最大经度,最大纬度（最小值不大于最大值）")
    if not (
        -180 <= values[0] <= 180 and -180 <= values[2] <= 180 and -90 <= values[1] <= 90 and -90 <= values[3] <= 90
    ):
        raise BadParameter("bbox 超出经纬度范围")
    return (values[0], values[1], values[2], values[3])


def _instant(text: str) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadParameter("datetime 应为 RFC 3339 时间或区间（如 2026-01-01T00:00:00Z/..）") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_datetime(text: str | None) -> tuple[datetime | None, datetime | None]:
    if not text:
        return None, None
    if "/" in text:
        start_text, _, end_text = text.partition("/")
        start, end = _instant(start_text), _instant(end_text)
        if start and end and start > end:
            raise BadParameter("datetime 区间的开始晚于结束")
        return start, end
    at = _instant(text)
    return at, at


def _feature(f: Feature) -> dict[str, Any]:
    return {"type": "Feature", "id": f.id, "geometry": f.geometry, "properties": f.properties}


@router.get("/collections/{name}/items")
def items(
    name: str,
    request: Request,
    db: ReadDbSession,
    user: CurrentUser,
    bbox: Annotated[str | None, Query(max_length=200)] = None,
    datetime_: Annotated[str | None, Query(alias="datetime", max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JSONResponse:
    """Features of a layer: bbox (CRS84) and datetime filters, limit/offset paging with next and prev links."""
    layer = _collection(name, user)
    start, end = parse_datetime(datetime_)
    query = FeatureQuery(bbox=parse_bbox(bbox), start=start, end=end, limit=limit, offset=offset)
    page = layer.items(db, user, query)
    base = f"{_base(request)}/collections/{name}/items"
    keep = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}

    def link(rel: str, at: int) -> dict[str, str]:
        params = "&".join(f"{k}={v}" for k, v in {**keep, "limit": str(limit), "offset": str(at)}.items())
        return {"href": f"{base}?{params}", "rel": rel, "type": "application/geo+json"}

    links = [link("self", offset)]
    if offset + len(page.features) < page.matched:
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    return _json(
        {
            "type": "FeatureCollection",
            "features": [_feature(f) for f in page.features],
            "numberMatched": page.matched,
            "numberReturned": len(page.features),
            "timeStamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "links": links,
        },
        "application/geo+json",
    )


@router.get("/collections/{name}/items/{fid}")
def item(name: str, fid: str, request: Request, db: ReadDbSession, user: CurrentUser) -> JSONResponse:
    layer = _collection(name, user)
    if len(fid) > 100:
        raise NotFound("要素不存在")
    found = layer.one(db, user, fid)
    if found is None:
        raise NotFound("要素不存在")
    body = _feature(found)
    base = f"{_base(request)}/collections/{name}"
    body["links"] = [
        {"href": f"{base}/items/{fid}", "rel": "self", "type": "application/geo+json"},
        {"href": base, "rel": "collection", "type": "application/json"},
    ]
    return _json(body, "application/geo+json")
