"""OGC SensorThings API 1.1 at /sta/v1.1/: thin HTTP layer over the `sta` package and ingest.py."""

import secrets
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError, NotFound
from yiwang.core.jsonbody import JsonBody
from yiwang.core.security import CurrentUser, Principal, check, check_department_scope
from yiwang.sensing import data_array, sta
from yiwang.sensing import models as m
from yiwang.sensing import permissions as p
from yiwang.sensing.odata import QueryError
from yiwang.sensing.sta import links as sta_links

PREFIX = "/sta/v1.1"
router = APIRouter(prefix=PREFIX, tags=["SensorThings API 1.1"])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


class BadQuery(AppError):
    status_code = 400
    code = "bad_query"


@router.get("", include_in_schema=False)
@router.get("/")
def service_root(request: Request, user: CurrentUser) -> dict[str, Any]:
    """The service root: entity sets and the conformance classes served."""
    check(user, p.READ)
    base = _base(request)
    return {
        "value": [{"name": name, "url": f"{base}/{name}"} for name in sta.ENTITY_TYPES],
        "serverSettings": {
            "conformance": [
                "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation",
            ],
            "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation": {
                "endpoints": ["mqtt://"]
            },
        },
    }


@router.post("/CreateObservations", status_code=201)
def create_observations(request: Request, db: DbSession, user: CurrentUser, body: JsonBody) -> Response:
    """The dataArray extension: many observations per datastream in one request; one link or "error" per row."""
    check(user, p.INGEST)
    _check_csrf(request, user)
    blocks = data_array.parse(body)
    datastreams = data_array.datastreams(blocks)
    _check_stream_scope(db, user, datastreams)
    links, outcome = data_array.store(db, blocks, base=_base(request))
    audit.record(
        db,
        actor=user,
        action="sensing.observations.create",
        target_type="datastream",
        target_id=",".join(str(d) for d in sorted(datastreams))[:200],
        details={
            "received": outcome.received,
            "accepted": outcome.accepted,
            "duplicates": outcome.duplicates,
            "rejected": outcome.rejected,
        },
    )
    return Response(orjson.dumps(links), status_code=201, media_type="application/json")


def _check_stream_scope(db: Session, principal: Principal, datastreams: set[int]) -> None:
    if not datastreams:
        return
    rows = db.execute(
        select(m.Thing.department_id)
        .join(m.Datastream, m.Datastream.thing_id == m.Thing.id)
        .where(m.Datastream.id.in_(datastreams))
        .distinct()
    ).scalars()
    for department_id in rows:
        check_department_scope(principal, department_id)


def _check_csrf(request: Request, user: Principal) -> None:
    """A browser session's cookie rides along cross-site: writes with it must show the CSRF token too."""
    given = request.headers.get("x-csrf-token") or ""
    if user.via == "session" and not (user.csrf_token and secrets.compare_digest(user.csrf_token, given)):
        raise AppError("缺少或错误的 CSRF 令牌（X-CSRF-Token）", code="csrf_failed", status_code=403)


def _params(request: Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in params:
            raise BadQuery(f"查询选项 {key} 重复")
        params[key] = value
    return params


@router.get("/{path:path}")
def read(path: str, request: Request, db: DbSession, user: CurrentUser) -> Any:
    """Entity sets, single entities, navigation, properties and $value, with all query options."""
    check(user, p.READ)
    try:
        options = sta.QueryOptions.from_params(_params(request))
        resolved = sta.resolve(db, path)
        reader = sta.Reader(db, _base(request))
        if resolved.is_collection:
            return reader.collection(resolved, options, str(request.url))
        result = reader.single(resolved, options)
    except QueryError as exc:
        raise BadQuery(str(exc)) from exc
    if resolved.raw_value:
        return Response(content="" if result is None else str(result), media_type="text/plain")
    return result


@router.post("/{path:path}", status_code=201)
def create(path: str, request: Request, db: DbSession, user: CurrentUser, body: JsonBody) -> Any:
    """Create an entity (with deep insert), or link one through a navigation path or its `$ref`."""
    if sta_links.is_ref_path(path):
        return _write_link(path, request, db, user, body, adding=True)
    _check_csrf(request, user)
    resolved = sta.resolve(db, path)
    if not resolved.is_collection:
        raise AppError("只能向实体集合提交新实体", code="method_not_allowed", status_code=405)
    set_name = resolved.entity.set_name
    check(user, p.INGEST if set_name == "Observations" else p.WRITE)
    link: dict[str, int] = {}
    if resolved.parent is not None:  # the writer authorises the parent like any other linked entity
        parent_entity, parent, nav_name = resolved.parent
        if parent_entity.set_name == "Things" and set_name in ("Datastreams", "Locations", "HistoricalLocations"):
            link["thing_id"] = parent.id
        elif parent_entity.set_name == "Datastreams" and set_name == "Observations":
            link["datastream_id"] = parent.id
        else:
            raise AppError(f"不能通过 {nav_name} 创建", code="method_not_allowed", status_code=405)
    writer = sta.Writer(db, principal=user)
    entity = writer.create(set_name, body, link=link)
    audit.record(
        db,
        actor=user,
        action="sensing.sta.create",
        target_type=resolved.entity.singular,
        target_id=entity.id,
        details={"created": writer.created[:50]},
    )
    location = f"{_base(request)}/{set_name}({entity.id})"
    reader = sta.Reader(db, _base(request))
    return JSONResponse(
        reader.serialize_many(resolved.entity, [entity], sta.QueryOptions())[0],
        status_code=201,
        headers={"Location": location},
    )


def _update(path: str, request: Request, db: Session, user: Principal, body: Any) -> Any:
    if sta_links.is_ref_path(path):
        return _write_link(path, request, db, user, body, adding=False)
    check(user, p.WRITE)
    _check_csrf(request, user)
    resolved = sta.resolve(db, path)
    if resolved.is_collection or resolved.prop:
        raise AppError("只能更新单个实体", code="method_not_allowed", status_code=405)
    row = sta.Writer(db, principal=user).update(resolved, body)
    audit.record(
        db,
        actor=user,
        action="sensing.sta.update",
        target_type=resolved.entity.singular,
        target_id=row.id,
        details={"fields": sorted(body)[:30]},
    )
    return sta.Reader(db, _base(request)).serialize_many(resolved.entity, [row], sta.QueryOptions())[0]


@router.patch("/{path:path}")
def patch(path: str, request: Request, db: DbSession, user: CurrentUser, body: JsonBody) -> Any:
    """Update the given properties of an entity."""
    return _update(path, request, db, user, body)


@router.put("/{path:path}")
def put(path: str, request: Request, db: DbSession, user: CurrentUser, body: JsonBody) -> Any:
    """Update an entity (treated like PATCH for the properties given)."""
    return _update(path, request, db, user, body)


@router.delete("/{path:path}")
def remove(path: str, request: Request, db: DbSession, user: CurrentUser) -> Response:
    """Delete an entity (deleting a Thing or Datastream deletes its observations too), or a link by `$ref`."""
    if sta_links.is_ref_path(path):
        return _remove_link(path, request, db, user)
    check(user, p.WRITE)
    _check_csrf(request, user)
    resolved = sta.resolve(db, path)
    if resolved.is_collection or resolved.prop:
        raise NotFound("只能删除单个实体")
    target_id = resolved.instance.id
    sta.Writer(db, principal=user).delete(resolved)
    audit.record(db, actor=user, action="sensing.sta.delete", target_type=resolved.entity.singular, target_id=target_id)
    return Response(status_code=200)


# ---- association links ($ref) ----------------------------------------------------------------------------


def _write_link(path: str, request: Request, db: Session, user: Principal, body: Any, *, adding: bool) -> Response:
    """POST to a to-many `$ref` adds a link, PUT or PATCH to a to-one `$ref` replaces it: 204 No Content."""
    check(user, p.WRITE)
    _check_csrf(request, user)
    link = sta_links.resolve_link(db, path)
    if link.member_key is not None:
        raise sta_links.LinkNotAllowed("引用须写到导航属性的 $ref，如 Things(1)/Locations/$ref")
    if adding and not link.nav.many:
        raise sta_links.LinkNotAllowed(f"{link.nav_name} 是单个实体：请用 PUT 替换它的引用")
    if not adding and link.nav.many:
        raise sta_links.LinkNotAllowed(f"{link.nav_name} 是实体集合：请用 POST 添加引用、DELETE 删除引用")
    key = sta_links.referenced_key(body, link.target, request_url=str(request.url), service_path=PREFIX)
    writer = sta_links.LinkWriter(db, principal=user)
    target = writer.target_row(link, key)
    writer.authorise_ends(link, target)
    changed = writer.add(link, target) if adding else writer.replace(link, target)
    _audit_link(db, user, "sensing.sta.link", link, target, changed=changed)
    return Response(status_code=204)


def _remove_link(path: str, request: Request, db: Session, user: Principal) -> Response:
    """DELETE `Things(1)/Locations(5)/$ref` or `Things(1)/Locations/$ref?$id=…` removes a link: 204."""
    check(user, p.WRITE)
    _check_csrf(request, user)
    link = sta_links.resolve_link(db, path)
    named = request.query_params.getlist("$id")
    writer = sta_links.LinkWriter(db, principal=user)
    if not link.nav.many:
        writer.remove(link, None)  # refused: to-one relations are required
    if len(named) > 1 or (named and link.member_key is not None):
        raise sta_links.BadReference("只能指明一个要删除的引用")
    if named:
        key = sta_links.key_from_url(named[0], link.target, request_url=str(request.url), service_path=PREFIX)
    elif link.member_key is not None:
        key = link.member_key
    else:
        raise sta_links.BadReference("须指明要删除的引用：…/Locations(5)/$ref 或 …/Locations/$ref?$id=…")
    target = writer.target_row(link, key)
    writer.authorise_ends(link, target)
    writer.remove(link, target)
    _audit_link(db, user, "sensing.sta.unlink", link, target, changed=True)
    return Response(status_code=204)


def _audit_link(db: Session, user: Principal, action: str, link: sta_links.Link, target: Any, *, changed: bool) -> None:
    audit.record(
        db,
        actor=user,
        action=action,
        target_type=link.source.singular,
        target_id=link.source_row.id,
        details={"navigation": link.nav_name, "target": f"{link.target.set_name}({target.id})", "changed": changed},
    )
