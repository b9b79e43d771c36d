"""OGC SensorThings API 1.1 at /sta/v1.1/: thin HTTP layer over sta.py and ingest.py."""

import hmac
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError, NotFound, ValidationFailed
from yiwang.core.security import CurrentUser, Principal, check, check_department_scope
from yiwang.core.timeutil import utcnow
from yiwang.sensing import ingest, sta
from yiwang.sensing import models as m
from yiwang.sensing import permissions as p
from yiwang.sensing.odata import QueryError, parse_datetime

PREFIX = "/sta/v1.1"
router = APIRouter(prefix=PREFIX, tags=["SensorThings API 1.1"])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


class BadQuery(AppError):
    status_code = 400
    code = "bad_query"


async def _json(request: Request) -> Any:
    """The request body as JSON (read on the event loop; the endpoints then run in the thread pool, so a
    wait for SQLite's write lock never blocks the loop)."""
    raw = await request.body()
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AppError("请求体不是有效的 JSON", code="malformed_json") from exc


JsonBody = Annotated[Any, Depends(_json)]


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
def create_observations(request: Request, db: DbSession, user: CurrentUser, body: JsonBody) -> Any:
    """The dataArray extension: many observations per datastream in one request."""
    check(user, p.INGEST)
    _check_csrf(request, user)
    links, outcome, datastreams = create_from_data_array(db, body, base=_base(request), principal=user)
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
    return JSONResponse(links, status_code=201)


def create_from_data_array(
    db: Session, body: Any, *, base: str, principal: Principal
) -> tuple[list[str], ingest.Outcome, set[int]]:
    """Store each block; returns one link (or "error") per row, in request order."""
    if not isinstance(body, list):
        raise ValidationFailed("CreateObservations 请求体必须是数组")
    parsed = [_parse_block(block_no, block) for block_no, block in enumerate(body)]
    datastreams = {p[0] for p in parsed if type(p[0]) is int}
    _check_stream_scope(db, principal, datastreams)
    total = ingest.Outcome()
    links: list[str] = []
    sqlite = db.get_bind().dialect.name == "sqlite"
    infos = ingest.stream_info(db, datastreams) if datastreams else {}
    extents: dict[int, ingest.Extent] = {}
    for ds_id, keys, results, slow_rows in parsed:
        if slow_rows is not None:
            outcome = ingest.store(db, rows=slow_rows, channel="http")
            keys = [ingest._db_time(r.phenomenon_time, True) for r in slow_rows]
            rejected = set(outcome.rejected_index)
        else:
            outcome, bad = ingest.store_array(
                db, datastream_id=ds_id, keys=keys, results=results, channel="http", infos=infos, extents=extents
            )
            rejected = set(bad)
        for name in ("received", "accepted", "duplicates", "rejected"):
            setattr(total, name, getattr(total, name) + getattr(outcome, name))
        total.reasons += outcome.reasons[: max(0, 20 - len(total.reasons))]
        prefix = f"{base}/Observations("
        if outcome.first_id is not None:
            next_id = iter(range(outcome.first_id, outcome.first_id + outcome.accepted))
            links += ["error" if i in rejected else f"{prefix}{next(next_id)})" for i in range(len(keys))]
            continue
        ids = (
            _ids_for(db, ds_id, [k for i, k in enumerate(keys) if i not in rejected], sqlite)
            if type(ds_id) is int
            else {}
        )
        links += ["error" if i in rejected else f"{prefix}{ids.get(k, 0)})" for i, k in enumerate(keys)]
    if extents:
        ingest.touch(db, extents, utcnow())
    return links, total, datastreams


def _parse_block(block_no: int, block: Any) -> tuple[Any, list[str], list[Any], list[ingest.Incoming] | None]:
    """(datastream id, stored-form instants, results, None) on the fast path, or rows for the general path."""
    if not isinstance(block, dict) or not isinstance(block.get("Datastream"), dict):
        raise ValidationFailed(f"第 {block_no + 1} 组缺少 Datastream")
    ds_id = block["Datastream"].get("@iot.id")
    components = block.get("components")
    data = block.get("dataArray")
    if not isinstance(components, list) or not isinstance(data, list):
        raise ValidationFailed(f"第 {block_no + 1} 组缺少 components 或 dataArray")
    try:
        i_time = components.index("phenomenonTime")
        i_result = components.index("result")
    except ValueError as exc:
        raise ValidationFailed("components 必须包含 phenomenonTime 和 result") from exc
    width = len(components)
    for row in data:
        if type(row) is not list or len(row) != width:
            raise ValidationFailed(f"第 {block_no + 1} 组的数据行格式不对：{str(row)[:80]}")
    if width == 2:
        keys = [ingest.fast_key(row[i_time]) for row in data]
        if all(keys):
            return ds_id, keys, [row[i_result] for row in data], None  # type: ignore[return-value]
    i_rtime = components.index("resultTime") if "resultTime" in components else None
    i_foi = components.index("FeatureOfInterest/id") if "FeatureOfInterest/id" in components else None
    rows = []
    for row in data:
        if not isinstance(row[i_time], str):
            raise ValidationFailed(f"第 {block_no + 1} 组的时间格式不对：{str(row)[:80]}")
        try:
            when = _instant(row[i_time])
            rtime = _instant(row[i_rtime]) if i_rtime is not None and row[i_rtime] else None
        except QueryError as exc:
            raise ValidationFailed(str(exc)) from exc
        foi = row[i_foi] if i_foi is not None and isinstance(row[i_foi], int) else None
        rows.append(ingest.Incoming(ds_id, when, row[i_result], rtime, None, None, foi))
    return ds_id, [], [], rows


def _instant(text: str) -> datetime:
    return parse_datetime(text.split("/")[0])


def _ids_for(db: Session, ds: int, keys: list[str], sqlite: bool) -> dict[Any, int]:
    """Ids of a datastream's observations at the given stored-form instants (one range query)."""
    if not keys:
        return {}
    lo, hi = min(keys), max(keys)
    cursor = db.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    marker = "?" if sqlite else "%s"
    try:
        cursor.execute(
            f"SELECT id, phenomenon_time FROM sensing_observation WHERE datastream_id = {marker} "  # noqa: S608  (constant SQL; values are bound)
            f"AND phenomenon_time >= {marker} AND phenomenon_time <= {marker}",
            (ds, lo, hi),
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if sqlite:
        return {when: obs_id for obs_id, when in rows}
    return {when.isoformat(" ", "microseconds"): obs_id for obs_id, when in rows}


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


def _thing_department(db: Session, resolved: sta.Resolved) -> int | None:
    row = resolved.instance
    name = resolved.entity.set_name
    if name == "Things":
        return row.department_id
    if name == "Datastreams":
        return db.get(m.Thing, row.thing_id).department_id  # type: ignore[union-attr]
    if name == "Observations":
        ds = db.get(m.Datastream, row.datastream_id)
        return db.get(m.Thing, ds.thing_id).department_id if ds else None  # type: ignore[union-attr]
    return None


def _check_csrf(request: Request, user: Principal) -> None:
    """A browser session's cookie rides along cross-site: writes with it must show the CSRF token too."""
    given = request.headers.get("x-csrf-token") or ""
    if user.via == "session" and not (user.csrf_token and hmac.compare_digest(user.csrf_token, given)):
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
    """Create an entity (with deep insert), or link one through a navigation path."""
    _check_csrf(request, user)
    resolved = sta.resolve(db, path)
    if not resolved.is_collection:
        raise AppError("只能向实体集合提交新实体", code="method_not_allowed", status_code=405)
    set_name = resolved.entity.set_name
    check(user, p.INGEST if set_name == "Observations" else p.WRITE)
    link: dict[str, int] = {}
    if resolved.parent is not None:
        parent_entity, parent, nav_name = resolved.parent
        if parent_entity.set_name == "Things" and set_name in ("Datastreams", "Locations", "HistoricalLocations"):
            check_department_scope(user, parent.department_id)
            link["thing_id"] = parent.id
        elif parent_entity.set_name == "Datastreams" and set_name == "Observations":
            link["datastream_id"] = parent.id
        else:
            raise AppError(f"不能通过 {nav_name} 创建", code="method_not_allowed", status_code=405)
    if set_name == "Observations":
        ds_id = (
            link.get("datastream_id") or ((body or {}).get("Datastream") or {}).get("@iot.id")
            if isinstance(body, dict)
            else None
        )
        if isinstance(ds_id, int):
            _check_stream_scope(db, user, {ds_id})
    if set_name == "Datastreams" and isinstance(body, dict) and isinstance(body.get("Thing"), dict):
        thing_id = body["Thing"].get("@iot.id")
        thing = db.get(m.Thing, thing_id) if isinstance(thing_id, int) else None
        if thing is not None:
            check_department_scope(user, thing.department_id)
    writer = sta.Writer(db, default_department_id=user.department_id)
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
    check(user, p.WRITE)
    _check_csrf(request, user)
    resolved = sta.resolve(db, path)
    if resolved.is_collection or resolved.prop:
        raise AppError("只能更新单个实体", code="method_not_allowed", status_code=405)
    if resolved.entity.set_name in ("Things", "Datastreams", "Observations"):
        check_department_scope(user, _thing_department(db, resolved))
    row = sta.Writer(db, default_department_id=user.department_id).update(resolved, body)
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
    """Delete an entity; deleting a Thing or Datastream deletes its observations too."""
    check(user, p.WRITE)
    _check_csrf(request, user)
    resolved = sta.resolve(db, path)
    if resolved.is_collection or resolved.prop:
        raise NotFound("只能删除单个实体")
    if resolved.entity.set_name in ("Things", "Datastreams", "Observations"):
        check_department_scope(user, _thing_department(db, resolved))
    target_id = resolved.instance.id
    sta.Writer(db, default_department_id=user.department_id).delete(resolved)
    audit.record(db, actor=user, action="sensing.sta.delete", target_type=resolved.entity.singular, target_id=target_id)
    return Response(status_code=200)
