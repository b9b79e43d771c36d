"""Open311 GeoReport v2 at /open311/v2/: services, service definitions, requests, tokens; JSON and XML.

Reads are public (as in the specification); POST requests needs `api_key`, an account's API key
(`yiwang apikey create`), checked by the platform's own authenticator.

A public read shows what the JSON API would show anyone: a report's number, service, status,
responsible department and dates. Its description, address, coordinates, photo and handling notes
are shown only to callers the JSON API lets see the report — its reporter and staff allowed to read
it (`service.can_see`) — identified by `api_key`, a bearer token or a session.
"""

import secrets
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from yiwang.cityops import models as m
from yiwang.cityops import permissions as p
from yiwang.cityops import service
from yiwang.cityops.schemas import EventCreate
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.jsonbody import parse_json_body
from yiwang.core.security import Principal, public
from yiwang.core.timeutil import utcnow
from yiwang.org import service as org_service

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])
CLOSED = ("closed", "rated", "voided")


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status, self.description = status, description


def _fmt(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Open311Error(404, "format must be json or xml")
    return fmt


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> Response:
    top = ET.Element(root)
    for row in rows:
        element = ET.SubElement(top, item)
        for key, value in row.items():
            child = ET.SubElement(element, key)
            if isinstance(value, list):
                for v in value:
                    ET.SubElement(child, "value").text = str(v)
            elif value is not None:
                child.text = str(value).lower() if isinstance(value, bool) else str(value)
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")
    return Response(body, media_type="text/xml; charset=utf-8")


def _reply(fmt: str, root: str, item: str, rows: list[dict[str, Any]] | dict[str, Any], status: int = 200) -> Response:
    if fmt == "xml":
        response = _xml(root, item, rows if isinstance(rows, list) else [rows])
        response.status_code = status
        return response
    return JSONResponse(rows, status_code=status)


def _error(fmt: str, status: int, description: str) -> Response:
    return _reply(
        fmt if fmt in ("json", "xml") else "json",
        "errors",
        "error",
        [{"code": status, "description": description}],
        status,
    )


def _service_row(c: m.Category) -> dict[str, Any]:
    return {
        "service_code": c.code,
        "service_name": c.name,
        "description": f"{c.group}：{c.name}（{c.sla_hours} 小时内办结）",
        "metadata": False,
        "type": "realtime",
        "keywords": c.group,
        "group": c.group,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


# What a report shows to callers who may not see it in the JSON API: reporters' words, places and
# photos are theirs to share, and nobody moderates them for publication.
PRIVATE_FIELDS = ("description", "address", "lat", "long", "media_url")


def _viewer(request: Request, db: Any) -> Principal:
    """Who reads: an `api_key` query parameter or the platform's own credentials; anonymous otherwise."""
    api_key = request.query_params.get("api_key", "")
    if api_key:
        scope = dict(request.scope)
        scope["headers"] = [(b"x-api-key", api_key.encode())]
        request = Request(scope)
    try:
        return request.app.state.authenticator(request, db)
    except AppError:  # a wrong key reads like anyone else: public fields only
        return Principal.anonymous()


def _visible_row(
    db: Any, e: m.Event, viewer: Principal, categories: dict[str, m.Category], departments: dict[int, str]
) -> dict:
    row = _request_row(db, e, categories, departments)
    if service.can_see(db, viewer, e):
        return row
    row["status_notes"] = service.STATUS_NAMES[e.status]  # the handling result may describe the place
    return row | dict.fromkeys(PRIVATE_FIELDS)


def _request_row(db: Any, e: m.Event, categories: dict[str, m.Category], departments: dict[int, str]) -> dict:
    category = categories.get(e.category_code or "")
    return {
        "service_request_id": e.number,
        "status": "closed" if e.status in CLOSED else "open",
        "status_notes": service.STATUS_NAMES[e.status] + (f"：{e.result}" if e.result else ""),
        "service_name": category.name if category else None,
        "service_code": e.category_code,
        "description": e.description,
        "agency_responsible": departments.get(e.department_id) if e.department_id else None,
        "service_notice": None,
        "requested_datetime": _iso(e.created_at),
        "updated_datetime": _iso(e.closed_at or e.replied_at or e.dispatched_at or e.created_at),
        "expected_datetime": _iso(e.deadline),
        "address": e.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": e.lat,
        "long": e.lon,
        "media_url": (e.photos or [None])[0],
    }


def _lookups(db: Any) -> tuple[dict[str, m.Category], dict[int, str]]:
    categories = {c.code: c for c in service.list_categories(db)}
    departments = {d.id: d.full_name for d in org_service.list_departments(db, include_inactive=True)}
    return categories, departments


@router.get("/discovery.{fmt}")
@public
def discovery(fmt: str, request: Request) -> Response:
    """Service discovery: where this endpoint is and what it speaks."""
    try:
        _fmt(fmt)
    except Open311Error as exc:
        return _error("json", exc.status, exc.description)
    base = str(request.base_url).rstrip("/") + "/open311/v2/"
    row = {
        "changeset": "2026-01-01T00:00:00+08:00",
        "contact": "常熟市社会综合治理联动指挥中心 12345",
        "key_service": "yiwang apikey create",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    if fmt == "xml":
        return _xml("discovery", "endpoint", [{"url": base, "specification": "http://wiki.open311.org/GeoReport_v2"}])
    return JSONResponse(row)


@router.get("/services.{fmt}")
@public
def services(fmt: str, db: DbSession) -> Response:
    """Every event category as an Open311 service."""
    try:
        _fmt(fmt)
    except Open311Error as exc:
        return _error("json", exc.status, exc.description)
    return _reply(fmt, "services", "service", [_service_row(c) for c in service.list_categories(db)])


@router.get("/services/{code}.{fmt}")
@public
def service_definition(code: str, fmt: str, db: DbSession) -> Response:
    """A service's definition (no extra attributes are asked for)."""
    try:
        _fmt(fmt)
    except Open311Error as exc:
        return _error("json", exc.status, exc.description)
    if db.get(m.Category, code) is None:
        return _error(fmt, 404, f"service_code {code} not found")
    if fmt == "xml":
        return _xml("service_definition", "service_code", [{"value": code}])
    return JSONResponse({"service_code": code, "attributes": []})


@router.get("/requests.{fmt}")
@public
def list_requests(fmt: str, request: Request, db: DbSession) -> Response:
    """Service requests, filtered by id, service code, date range (≤ 90 days) and status."""
    try:
        _fmt(fmt)
        q = request.query_params
        stmt = select(m.Event).where(m.Event.source.not_in(("sensor", "video")))
        if q.get("service_request_id"):
            ids = [i.strip() for i in q["service_request_id"].split(",") if i.strip()][:200]
            stmt = stmt.where(m.Event.number.in_(ids))
        else:
            if q.get("service_code"):
                stmt = stmt.where(m.Event.category_code.in_(q["service_code"].split(",")))
            start = _date(q.get("start_date"), "start_date")
            end = _date(q.get("end_date"), "end_date")
            if start and end and (end - start).days > 90:
                raise Open311Error(400, "start_date and end_date may not span more than 90 days")
            if start:
                stmt = stmt.where(m.Event.created_at >= start)
            if end:
                stmt = stmt.where(m.Event.created_at <= end)
            if not start and not end:
                from datetime import timedelta

                stmt = stmt.where(m.Event.created_at >= utcnow() - timedelta(days=90))
            statuses = [s for s in q.get("status", "").split(",") if s]
            if any(s not in ("open", "closed") for s in statuses):
                raise Open311Error(400, "status must be open or closed")
            if statuses == ["open"]:
                stmt = stmt.where(m.Event.status.not_in(CLOSED))
            elif statuses == ["closed"]:
                stmt = stmt.where(m.Event.status.in_(CLOSED))
        rows = list(db.execute(stmt.order_by(m.Event.id.desc()).limit(1000)).scalars())
    except Open311Error as exc:
        return _error(fmt, exc.status, exc.description)
    categories, departments = _lookups(db)
    viewer = _viewer(request, db)
    return _reply(
        fmt, "service_requests", "request", [_visible_row(db, e, viewer, categories, departments) for e in rows]
    )


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a W3C datetime") from exc
    if parsed.tzinfo is None:
        from yiwang.core.timeutil import SHANGHAI

        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed


@router.get("/requests/{number}.{fmt}")
@public
def get_request(number: str, fmt: str, request: Request, db: DbSession) -> Response:
    """One service request (as a one-element list, as the specification has it)."""
    try:
        _fmt(fmt)
    except Open311Error as exc:
        return _error("json", exc.status, exc.description)
    event = db.execute(
        select(m.Event).where(m.Event.number == number, m.Event.source.not_in(("sensor", "video")))
    ).scalar_one_or_none()
    if event is None:
        return _error(fmt, 404, f"service_request_id {number} not found")
    categories, departments = _lookups(db)
    row = _visible_row(db, event, _viewer(request, db), categories, departments)
    return _reply(fmt, "service_requests", "request", [row])


@router.get("/tokens/{token}.{fmt}")
@public
def get_token(token: str, fmt: str, db: DbSession) -> Response:
    """The service request id behind a token returned by POST."""
    try:
        _fmt(fmt)
    except Open311Error as exc:
        return _error("json", exc.status, exc.description)
    event = db.execute(select(m.Event).where(m.Event.open311_token == token)).scalar_one_or_none()
    if event is None:
        return _error(fmt, 404, "token not found")
    return _reply(fmt, "service_requests", "request", [{"service_request_id": event.number, "token": token}])


async def _form_values(request: Request) -> dict[str, str]:
    """The form fields, or a JSON object's (read on the event loop; the endpoint runs in the thread pool)."""
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            fields = await parse_json_body(await request.body(), expect=dict)
        else:
            fields = dict((await request.form()).items())
    except Exception:  # a malformed body is answered in Open311's own error shape below
        return {"__malformed__": "1"}
    return {k: v for k, v in fields.items() if isinstance(v, str)}


@router.post("/requests.{fmt}")
@public
def post_request(
    fmt: str, request: Request, db: DbSession, values: Annotated[dict[str, str], Depends(_form_values)]
) -> Response:
    """Create a service request; authenticated by `api_key` (an account's API key)."""
    try:
        _fmt(fmt)
    except Open311Error as exc:
        return _error("json", exc.status, exc.description)
    if "__malformed__" in values:
        return _error(fmt, 400, "the body must be a form (urlencoded or multipart) or a JSON object")
    api_key = values.get("api_key", "")
    if not api_key:
        return _error(fmt, 400, "api_key is required")
    scope = dict(request.scope)
    scope["headers"] = [(b"x-api-key", api_key.encode())]
    try:
        principal = request.app.state.authenticator(Request(scope), db)
    except AppError:
        return _error(fmt, 403, "invalid api_key")
    if not principal.has(p.REPORT):
        return _error(fmt, 403, "this api_key may not create requests")
    code = values.get("service_code", "")
    if not code or db.get(m.Category, code) is None:
        return _error(fmt, 400, "service_code is missing or unknown")
    try:
        lat = float(values["lat"]) if values.get("lat") else None
        lon = float(values["long"]) if values.get("long") else None
    except ValueError:
        return _error(fmt, 400, "lat and long must be numbers")
    if (lat is None or lon is None) and not values.get("address_string") and not values.get("address_id"):
        return _error(fmt, 400, "a location is required: lat & long, address_string or address_id")
    name = " ".join(x for x in (values.get("last_name"), values.get("first_name")) if x) or None
    phone = values.get("phone") or None
    try:
        data = EventCreate(
            description=values.get("description") or "",
            category_code=code,
            source="open311",
            lat=lat,
            lon=lon,
            address=values.get("address_string", ""),
            photos=[values["media_url"]] if values.get("media_url") else [],
            reporter_name=name,
            reporter_phone=phone if phone and phone.isdigit() and len(phone) == 11 else None,
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        return _error(fmt, 400, f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}")
    token = secrets.token_hex(8)
    event = service.create_event(
        db, actor=principal, data=data, cipher=request.app.state.runtime.cipher, open311_token=token
    )
    row = {
        "service_request_id": event.number,
        "token": token,
        "service_notice": "已受理，将在时限内办理",
        "account_id": principal.user_id,
    }
    return _reply(fmt, "service_requests", "request", [row], status=201)
