"""Reading: query options ($select, $expand, $orderby, $top, $skip, $count) and serialisation."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.sensing import models as m
from yiwang.sensing.odata import (
    QueryError,
    parse_expand,
    parse_filter,
    parse_orderby,
    parse_select,
)
from yiwang.sensing.sta.entities import ENTITY_TYPES, EntityType
from yiwang.sensing.sta.filters import Compiler, JsonPath
from yiwang.sensing.sta.paths import Resolved, nav_condition_many

DEFAULT_TOP = 100


MAX_TOP = 10000


@dataclass
class QueryOptions:
    filter: str | None = None
    orderby: str | None = None
    top: int | None = None
    skip: int = 0
    count: bool = False
    select: str | None = None
    expand: str | None = None
    result_format: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, str]) -> "QueryOptions":
        known = {"$filter", "$orderby", "$top", "$skip", "$count", "$select", "$expand", "$resultFormat"}
        unknown = [k for k in params if k.startswith("$") and k not in known]
        if unknown:
            raise QueryError(f"不支持的查询选项：{', '.join(unknown)}")
        try:
            top = int(params["$top"]) if "$top" in params else None
            skip = int(params.get("$skip", 0))
        except ValueError as exc:
            raise QueryError("$top 和 $skip 必须是非负整数") from exc
        if (top is not None and top < 0) or skip < 0:
            raise QueryError("$top 和 $skip 必须是非负整数")
        for key in ("$filter", "$orderby", "$select", "$expand", "$top", "$skip", "$count"):
            if key in params and not params[key].strip():
                raise QueryError(f"{key} 不能为空")
        count = params.get("$count", "false").lower()
        if count not in ("true", "false"):
            raise QueryError("$count 只能是 true 或 false")
        return cls(
            filter=params.get("$filter"),
            orderby=params.get("$orderby"),
            top=top,
            skip=skip,
            count=count == "true",
            select=params.get("$select"),
            expand=params.get("$expand"),
            result_format=params.get("$resultFormat"),
        )


class Reader:
    """Serialises entities with selected properties, navigation links and expansions."""

    def __init__(self, db: Session, base_url: str) -> None:
        self.db, self.base_url = db, base_url.rstrip("/")
        self.dialect = db.get_bind().dialect.name

    def self_link(self, entity: EntityType, key: int) -> str:
        return f"{self.base_url}/{entity.set_name}({key})"

    def collection(self, resolved: Resolved, options: QueryOptions, request_url: str) -> dict[str, Any]:
        entity = resolved.entity
        _check_ref_options(resolved, options)
        self.validate(entity, options)
        stmt = select(entity.model).where(resolved.condition)
        stmt = self._apply_filter(stmt, entity, options.filter)
        total = None
        if options.count:
            total = self.db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        stmt = self._apply_order(stmt, entity, options.orderby)
        top = min(options.top if options.top is not None else DEFAULT_TOP, MAX_TOP)
        rows = list(self.db.execute(stmt.offset(options.skip).limit(top + 1)).scalars())
        more = len(rows) > top
        rows = rows[:top]
        if resolved.ref:  # an association link: only the related entities' selfLinks
            values = [{"@iot.selfLink": self.self_link(entity, row.id)} for row in rows]
        else:
            values = self.serialize_many(entity, rows, options)
        body: dict[str, Any] = {}
        if total is not None:
            body["@iot.count"] = total
        if more:
            body["@iot.nextLink"] = _next_link(request_url, options.skip + top, top)
        body["value"] = values
        if options.result_format == "dataArray" and entity.set_name == "Observations" and not resolved.ref:
            return self._data_array(rows, body)
        return body

    def _data_array(self, rows: list[Any], body: dict[str, Any]) -> dict[str, Any]:
        groups: dict[int, list[Any]] = {}
        for row in rows:
            groups.setdefault(row.datastream_id, []).append(row)
        components = ["id", "phenomenonTime", "result", "resultTime"]
        value = [
            {
                "Datastream@iot.navigationLink": f"{self.base_url}/Datastreams({ds})",
                "components": components,
                "dataArray@iot.count": len(items),
                "dataArray": [[o.id, _iso(o.phenomenon_time), _result(o), _iso(o.result_time)] for o in items],
            }
            for ds, items in groups.items()
        ]
        out = {k: v for k, v in body.items() if k != "value"}
        out["value"] = value
        return out

    def _apply_filter(self, stmt: Any, entity: EntityType, text: str | None) -> Any:
        if not text:
            return stmt
        try:
            return stmt.where(Compiler(entity, self.dialect, self.db).compile(parse_filter(text)))
        except QueryError:
            raise
        except (TypeError, AttributeError, NotImplementedError) as exc:
            # SQLAlchemy raises these when an operator does not apply to a column's type (a string
            # compared with arithmetic, say): the client's filter is wrong, so it is a 400, not a 500
            raise QueryError(f"查询条件的类型不匹配：{exc}") from exc

    def _apply_order(self, stmt: Any, entity: EntityType, text: str | None) -> Any:
        compiler = Compiler(entity, self.dialect, self.db)
        if text:
            for node, descending in parse_orderby(text):
                expr = compiler.value(node)
                if isinstance(expr, JsonPath):
                    expr = expr.typed("str")
                stmt = stmt.order_by(expr.desc() if descending else expr.asc())
        elif entity.set_name == "Observations":
            stmt = stmt.order_by(m.Observation.phenomenon_time.desc())
        return stmt.order_by(entity.model.id.asc())

    def single(self, resolved: Resolved, options: QueryOptions) -> Any:
        entity, instance = resolved.entity, resolved.instance
        _check_ref_options(resolved, options)
        self.validate(entity, options)
        if resolved.prop:
            value = _prop_value(entity, instance, resolved.prop)
            return value if resolved.raw_value else {resolved.prop: value}
        if resolved.ref:
            return {"@iot.selfLink": self.self_link(entity, instance.id)}
        return self.serialize_many(entity, [instance], options)[0]

    def validate(self, entity: EntityType, options: QueryOptions) -> None:
        """Check $select and $expand names even when there are no rows to apply them to."""
        if options.select:
            for name in parse_select(options.select):
                if (
                    name not in entity.props
                    and name not in entity.navs
                    and name not in ("id", "@iot.id", "@iot.selfLink")
                ):
                    raise QueryError(f"{entity.singular} 没有属性 {name}")
        if options.expand:
            for item in parse_expand(options.expand):
                current = entity
                for step in item.path:
                    nav = current.navs.get(step)
                    if nav is None:
                        raise QueryError(f"{current.singular} 没有导航属性 {step}，无法展开")
                    current = ENTITY_TYPES[nav.target]
                self.validate(current, QueryOptions.from_params(item.options))
        if options.filter:
            Compiler(entity, self.dialect).compile(parse_filter(options.filter))
        if options.orderby:
            parse_orderby(options.orderby)

    def serialize_many(self, entity: EntityType, rows: list[Any], options: QueryOptions) -> list[dict[str, Any]]:
        selected = parse_select(options.select) if options.select else None
        out = [self._serialize(entity, row, selected) for row in rows]
        if options.expand and rows:
            for item in parse_expand(options.expand):
                self._expand(entity, rows, out, item.path, item.options)
        return out

    def _serialize(self, entity: EntityType, row: Any, selected: list[str] | None) -> dict[str, Any]:
        data: dict[str, Any] = {}
        want = (lambda name: True) if selected is None else (lambda name: name in selected)
        if selected is not None:
            for name in selected:
                if (
                    name not in entity.props
                    and name not in entity.navs
                    and name not in ("id", "@iot.id", "@iot.selfLink")
                ):
                    raise QueryError(f"{entity.singular} 没有属性 {name}")
        if want("id") or want("@iot.id"):
            data["@iot.id"] = row.id
        if want("@iot.selfLink") or selected is None:
            data["@iot.selfLink"] = self.self_link(entity, row.id)
        for name in entity.props:
            if want(name):
                data[name] = _prop_value(entity, row, name)
        for name in entity.navs:
            if selected is None or name in selected:
                data[f"{name}@iot.navigationLink"] = f"{self.self_link(entity, row.id)}/{name}"
        return data

    def _expand(
        self, entity: EntityType, rows: list[Any], out: list[dict[str, Any]], path: list[str], opts: dict[str, str]
    ) -> None:
        name = path[0]
        nav = entity.navs.get(name)
        if nav is None:
            raise QueryError(f"{entity.singular} 没有导航属性 {name}，无法展开")
        target = ENTITY_TYPES[nav.target]
        rest = path[1:]
        sub_options = QueryOptions.from_params(opts) if not rest else QueryOptions()
        if rest:
            sub_options.expand = "/".join(rest)
        if nav.many:
            parent_ids = [r.id for r in rows]
            condition, parent_col = nav_condition_many(nav, target, parent_ids)
            if nav.assoc:
                assoc = nav.assoc[0]
                remote = getattr(assoc, nav.assoc[2])
                stmt = select(target.model, parent_col).join(assoc, remote == target.model.id).where(condition)
            else:
                stmt = select(target.model, parent_col).where(condition)
            stmt = self._apply_filter(stmt, target, sub_options.filter)
            stmt = self._apply_order(stmt, target, sub_options.orderby)
            top = min(sub_options.top if sub_options.top is not None else DEFAULT_TOP, MAX_TOP)
            grouped: dict[int, list[Any]] = {pid: [] for pid in parent_ids}
            if len(parent_ids) == 1:
                for child, pid in self.db.execute(stmt.offset(sub_options.skip).limit(top + 1)).all():
                    grouped[pid].append(child)
            else:
                for child, pid in self.db.execute(stmt).all():
                    grouped[pid].append(child)
            for row, data in zip(rows, out, strict=True):
                children = (
                    grouped[row.id][sub_options.skip : sub_options.skip + top + 1]
                    if len(parent_ids) > 1
                    else grouped[row.id]
                )
                more = len(children) > top
                children = children[:top]
                data[name] = self.serialize_many(target, children, sub_options)
                if sub_options.count:
                    data[f"{name}@iot.count"] = len(children)
                if more:
                    data[f"{name}@iot.nextLink"] = (
                        f"{self.self_link(entity, row.id)}/{name}?$top={top}&$skip={sub_options.skip + top}"
                    )
        else:
            assert nav.fk
            keys = {getattr(r, nav.fk) for r in rows} - {None}
            found = {t.id: t for t in self.db.execute(select(target.model).where(target.model.id.in_(keys))).scalars()}
            for row, data in zip(rows, out, strict=True):
                child = found.get(getattr(row, nav.fk))
                if child is not None:
                    data[name] = self.serialize_many(target, [child], sub_options)[0]


def _check_ref_options(resolved: Resolved, options: QueryOptions) -> None:
    if resolved.ref and (options.select or options.expand):
        raise QueryError("$ref 只返回实体链接，不能与 $select 或 $expand 同用")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def _result(obs: m.Observation) -> Any:
    return obs.result if obs.result is not None else obs.result_json


def _prop_value(entity: EntityType, row: Any, name: str) -> Any:
    if entity.set_name == "Observations" and name == "result":
        return _result(row)
    if entity.set_name == "Datastreams" and name in ("phenomenonTime", "resultTime"):
        if row.phenomenon_time_start is None:
            return None
        return f"{_iso(row.phenomenon_time_start)}/{_iso(row.phenomenon_time_end)}"
    value = getattr(row, entity.props[name])
    if isinstance(value, datetime):
        return _iso(value)
    if name == "properties" and value is None:
        return {}
    return value


def _next_link(request_url: str, skip: int, top: int) -> str:
    base, _, query = request_url.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith(("%24skip=", "$skip=", "%24top=", "$top="))]
    kept += [f"$top={top}", f"$skip={skip}"]
    return f"{base}?{'&'.join(kept)}"


def _quote(value: str) -> str:
    return quote(value, safe="")
