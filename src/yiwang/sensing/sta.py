"""The SensorThings API 1.1 engine: entity sets, navigation, query options and writes over the models.

Kept free of HTTP: `sta_api.py` turns requests into calls here. Paths look like
`Things(1)/Datastreams`, `Observations(5)/Datastream/Thing`, `Things(1)/name/$value`.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Float, Numeric, String, and_, cast, delete, extract, func, literal, not_, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from yiwang.core.db import UTCDateTime
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.security import Principal, check_department_scope
from yiwang.core.timeutil import utcnow
from yiwang.sensing import features, processing, spatial, sta_scope
from yiwang.sensing import models as m
from yiwang.sensing.odata import (
    Binary,
    Call,
    Literal,
    Path,
    QueryError,
    Unary,
    parse_datetime,
    parse_expand,
    parse_filter,
    parse_orderby,
    parse_select,
)

DEFAULT_TOP = 100
MAX_TOP = 10000


@dataclass(frozen=True)
class Nav:
    target: str  # entity set name
    many: bool
    # to-one: the local foreign key attribute; to-many: (association model, local col, remote col) or remote fk
    fk: str | None = None
    remote_fk: str | None = None
    assoc: tuple[Any, str, str] | None = None


@dataclass(frozen=True)
class EntityType:
    set_name: str
    singular: str
    model: Any
    props: dict[str, str]  # STA property → model attribute
    navs: dict[str, Nav] = field(default_factory=dict)


ENTITY_TYPES: dict[str, EntityType] = {
    "Things": EntityType(
        "Things",
        "Thing",
        m.Thing,
        {"name": "name", "description": "description", "properties": "properties"},
        {
            "Locations": Nav("Locations", True, assoc=(m.ThingLocation, "thing_id", "location_id")),
            "HistoricalLocations": Nav("HistoricalLocations", True, remote_fk="thing_id"),
            "Datastreams": Nav("Datastreams", True, remote_fk="thing_id"),
        },
    ),
    "Locations": EntityType(
        "Locations",
        "Location",
        m.Location,
        {
            "name": "name",
            "description": "description",
            "encodingType": "encoding_type",
            "location": "location",
            "properties": "properties",
        },
        {
            "Things": Nav("Things", True, assoc=(m.ThingLocation, "location_id", "thing_id")),
            "HistoricalLocations": Nav(
                "HistoricalLocations",
                True,
                assoc=(m.HistoricalLocationLocation, "location_id", "historical_location_id"),
            ),
        },
    ),
    "HistoricalLocations": EntityType(
        "HistoricalLocations",
        "HistoricalLocation",
        m.HistoricalLocation,
        {"time": "time"},
        {
            "Thing": Nav("Things", False, fk="thing_id"),
            "Locations": Nav(
                "Locations", True, assoc=(m.HistoricalLocationLocation, "historical_location_id", "location_id")
            ),
        },
    ),
    "Datastreams": EntityType(
        "Datastreams",
        "Datastream",
        m.Datastream,
        {
            "name": "name",
            "description": "description",
            "observationType": "observation_type",
            "unitOfMeasurement": "unit_of_measurement",
            "observedArea": "observed_area",
            "phenomenonTime": "phenomenon_time_start",
            "resultTime": "phenomenon_time_end",
            "properties": "properties",
        },
        {
            "Thing": Nav("Things", False, fk="thing_id"),
            "Sensor": Nav("Sensors", False, fk="sensor_id"),
            "ObservedProperty": Nav("ObservedProperties", False, fk="observed_property_id"),
            "Observations": Nav("Observations", True, remote_fk="datastream_id"),
        },
    ),
    "Sensors": EntityType(
        "Sensors",
        "Sensor",
        m.Sensor,
        {
            "name": "name",
            "description": "description",
            "encodingType": "encoding_type",
            "metadata": "sensor_metadata",
            "properties": "properties",
        },
        {"Datastreams": Nav("Datastreams", True, remote_fk="sensor_id")},
    ),
    "ObservedProperties": EntityType(
        "ObservedProperties",
        "ObservedProperty",
        m.ObservedProperty,
        {"name": "name", "definition": "definition", "description": "description", "properties": "properties"},
        {"Datastreams": Nav("Datastreams", True, remote_fk="observed_property_id")},
    ),
    "Observations": EntityType(
        "Observations",
        "Observation",
        m.Observation,
        {
            "phenomenonTime": "phenomenon_time",
            "resultTime": "result_time",
            "result": "result",
            "resultQuality": "result_quality",
            "parameters": "parameters",
        },
        {
            "Datastream": Nav("Datastreams", False, fk="datastream_id"),
            "FeatureOfInterest": Nav("FeaturesOfInterest", False, fk="feature_of_interest_id"),
        },
    ),
    "FeaturesOfInterest": EntityType(
        "FeaturesOfInterest",
        "FeatureOfInterest",
        m.FeatureOfInterest,
        {
            "name": "name",
            "description": "description",
            "encodingType": "encoding_type",
            "feature": "feature",
            "properties": "properties",
        },
        {"Observations": Nav("Observations", True, remote_fk="feature_of_interest_id")},
    ),
}
JSON_PROPS = {"properties", "parameters", "unitOfMeasurement", "location", "feature", "observedArea"}
TIME_PROPS = {"phenomenonTime", "resultTime", "time"}


# ---- $filter compilation --------------------------------------------------------------------------


class _Json:
    """A path into a JSON column; typed when compared."""

    def __init__(self, column: Any, keys: list[str]) -> None:
        self.column, self.keys = column, keys

    def typed(self, kind: str) -> Any:
        target = self.column[tuple(self.keys)] if len(self.keys) > 1 else self.column[self.keys[0]]
        if kind == "str":
            return target.as_string()
        if kind == "bool":
            return target.as_boolean()
        return target.as_float()


class Compiler:
    """Compiles a parsed $filter tree to a SQLAlchemy boolean expression for one entity type.

    Spatial calls read geometries through `db`; without it (checking a query) they are only validated.
    """

    def __init__(self, entity: EntityType, dialect: str, db: Session | None = None) -> None:
        self.entity, self.dialect = entity, dialect
        self.spatial = spatial.Spatial(entity, ENTITY_TYPES, db)

    def compile(self, node: Any) -> ColumnElement[bool]:
        expr = self.value(node)
        if isinstance(expr, _Json):
            expr = expr.typed("bool")
        return expr

    # paths ------------------------------------------------------------------------------------------
    def path(self, parts: tuple[str, ...], entity: EntityType | None = None) -> Any:
        entity = entity or self.entity
        head, rest = parts[0], parts[1:]
        model = entity.model
        if head in ("id", "@iot.id"):
            return model.id
        if head in entity.props:
            column = getattr(model, entity.props[head])
            if rest:
                if head not in JSON_PROPS:
                    raise QueryError(f"{head} 没有子属性")
                return _Json(column, list(rest))
            return column
        if head in entity.navs and rest:
            nav = entity.navs[head]
            if nav.many:
                raise QueryError(f"过滤条件不能经过一对多导航 {head}")
            target = ENTITY_TYPES[nav.target]
            inner = self.path(rest, target)
            assert nav.fk is not None
            if isinstance(inner, _Json):
                raise QueryError("暂不支持经过导航的 JSON 属性过滤")
            return select(inner).where(target.model.id == getattr(model, nav.fk)).correlate(model).scalar_subquery()
        raise QueryError(f"{entity.singular} 没有属性 {'/'.join(parts)}")

    # values -----------------------------------------------------------------------------------------
    def value(self, node: Any) -> Any:
        if isinstance(node, Literal):
            if isinstance(node.value, datetime):
                return literal(node.value, UTCDateTime)
            if node.value is None:
                return None
            return literal(node.value)
        if isinstance(node, Path):
            return self.path(node.parts)
        if isinstance(node, Unary):
            operand = self.value(node.operand)
            if node.op == "not":
                return not_(self._bool(operand))
            return -self._num(operand)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Call):
            return self.call(node)
        raise QueryError("无法识别的表达式")

    def _bool(self, expr: Any) -> Any:
        return expr.typed("bool") if isinstance(expr, _Json) else expr

    def _num(self, expr: Any) -> Any:
        return expr.typed("num") if isinstance(expr, _Json) else expr

    def _str(self, expr: Any) -> Any:
        return expr.typed("str") if isinstance(expr, _Json) else expr

    def binary(self, node: Binary) -> Any:
        if node.op in ("and", "or"):
            left, right = self._bool(self.value(node.left)), self._bool(self.value(node.right))
            return and_(left, right) if node.op == "and" else or_(left, right)
        if node.op in ("eq", "ne", "gt", "ge", "lt", "le"):
            measured = self.spatial.comparison(node)
            if measured is not None:
                return measured
        left, right = self.value(node.left), self.value(node.right)
        if node.op in ("add", "sub", "mul", "div", "mod"):
            left, right = self._num(left), self._num(right)
            if node.op == "add":
                return left + right
            if node.op == "sub":
                return left - right
            if node.op == "mul":
                return left * right
            if node.op == "div":
                return cast(left, Float) / right
            if self.dialect == "sqlite":
                return left % right
            return func.mod(cast(left, Numeric), cast(right, Numeric))
        left, right = self._typed_pair(left, right, node)
        if right is None or left is None:
            other = left if right is None else right
            if node.op == "eq":
                return other.is_(None)
            if node.op == "ne":
                return other.is_not(None)
            raise QueryError("null 只能用 eq 或 ne 比较")
        ops = {
            "eq": lambda a, b: a == b,
            "ne": lambda a, b: a != b,
            "gt": lambda a, b: a > b,
            "ge": lambda a, b: a >= b,
            "lt": lambda a, b: a < b,
            "le": lambda a, b: a <= b,
        }
        return ops[node.op](left, right)

    def _typed_pair(self, left: Any, right: Any, node: Binary) -> tuple[Any, Any]:
        def kind_of(n: Any) -> str:
            if isinstance(n, Literal):
                if isinstance(n.value, str):
                    return "str"
                if isinstance(n.value, bool):
                    return "bool"
            if isinstance(n, Call) and n.name in ("tolower", "toupper", "trim", "concat", "substring"):
                return "str"
            return "num"

        if isinstance(left, _Json):
            left = left.typed(kind_of(node.right))
        if isinstance(right, _Json):
            right = right.typed(kind_of(node.left))
        return left, right

    def call(self, node: Call) -> Any:
        name = node.name
        if name in spatial.FUNCTIONS:
            return self.spatial.call(node)
        args = [self.value(a) for a in node.args]
        if name in ("substringof", "contains", "startswith", "endswith"):
            if name == "substringof":
                needle, hay = self._str(args[0]), self._str(args[1])
            else:
                hay, needle = self._str(args[0]), self._str(args[1])
            if name in ("substringof", "contains"):
                return func.instr(hay, needle) > 0 if self.dialect == "sqlite" else func.strpos(hay, needle) > 0
            if name == "startswith":
                return func.substr(hay, 1, func.length(needle)) == needle
            return func.substr(hay, func.length(hay) - func.length(needle) + 1) == needle
        if name == "length":
            return func.length(self._str(args[0]))
        if name == "indexof":
            fn = func.instr if self.dialect == "sqlite" else func.strpos
            return fn(self._str(args[0]), self._str(args[1])) - 1
        if name == "substring":
            start = self._num(args[1]) + 1
            if len(args) == 3:
                return func.substr(self._str(args[0]), start, self._num(args[2]))
            return func.substr(self._str(args[0]), start)
        if name in ("tolower", "toupper", "trim"):
            fn = {"tolower": func.lower, "toupper": func.upper, "trim": func.trim}[name]
            return fn(self._str(args[0]))
        if name == "concat":
            return self._str(args[0]).concat(self._str(args[1])) if hasattr(args[0], "concat") else args[0] + args[1]
        if name in ("year", "month", "day", "hour", "minute", "second"):
            return cast(extract(name, args[0]), Float)
        if name == "fractionalseconds":
            seconds = cast(extract("second", args[0]), Float)
            return seconds - func.floor(seconds)
        if name == "totaloffsetminutes":
            return literal(0)  # instants are stored in UTC
        if name == "date":
            return func.date(args[0])
        if name == "time":
            return func.time(args[0]) if self.dialect == "sqlite" else cast(args[0], String)
        if name == "now":
            return literal(utcnow(), UTCDateTime)
        if name == "mindatetime":
            return func.min(args[0]) if args else literal(datetime.min.replace(tzinfo=UTC), UTCDateTime)
        if name == "maxdatetime":
            return func.max(args[0]) if args else literal(datetime.max.replace(tzinfo=UTC), UTCDateTime)
        if name == "round":
            return func.round(self._num(args[0]))
        if name == "floor":
            return func.floor(self._num(args[0]))
        if name == "ceiling":
            return func.ceil(self._num(args[0])) if self.dialect == "sqlite" else func.ceiling(self._num(args[0]))
        raise QueryError(f"不支持的函数：{name}")


# ---- reading ------------------------------------------------------------------------------------------


@dataclass
class Segment:
    name: str
    key: int | None = None


_SEGMENT = re.compile(r"^([A-Za-z]+)(?:\((\d+|'\d+')\))?$")


def parse_path(path: str) -> list[Segment]:
    segments = []
    for raw in [p for p in path.split("/") if p]:
        if raw in ("$value", "$ref"):
            segments.append(Segment(raw))
            continue
        match = _SEGMENT.match(raw)
        if not match:
            raise NotFound(f"无效的资源路径：{raw}")
        key = match.group(2)
        segments.append(Segment(match.group(1), int(key.strip("'")) if key else None))
    return segments


@dataclass
class Resolved:
    """Where a path leads: a collection (with a base condition), one entity, or a property of one."""

    entity: EntityType
    condition: Any = None
    instance: Any = None
    is_collection: bool = True
    prop: str | None = None
    raw_value: bool = False
    ref: bool = False
    parent: tuple[EntityType, Any, str] | None = None  # (parent type, parent instance, nav name)


def resolve(db: Session, path: str) -> Resolved:
    """Walk a resource path from the service root."""
    segments = parse_path(path)
    if not segments or segments[0].name not in ENTITY_TYPES:
        raise NotFound("未知的实体集")
    entity = ENTITY_TYPES[segments[0].name]
    current = Resolved(entity=entity, condition=true())
    if segments[0].key is not None:
        current = _one(db, entity, segments[0].key)
    for seg in segments[1:]:
        if current.ref:
            raise NotFound("$ref 之后不能再有路径")
        if seg.name == "$value":
            if current.prop is None:
                raise NotFound("$value 只能用于属性")
            current.raw_value = True
            continue
        if seg.name == "$ref":
            if current.prop is not None or current.raw_value:
                raise NotFound("$ref 只能用于实体或实体集合")
            current.ref = True
            continue
        if current.is_collection:
            raise NotFound("集合之后只能跟实体的键")
        parent = current.instance
        if seg.name in current.entity.props and seg.key is None:
            current.prop = seg.name
            continue
        nav = current.entity.navs.get(seg.name)
        if nav is None:
            raise NotFound(f"{current.entity.singular} 没有导航属性 {seg.name}")
        target = ENTITY_TYPES[nav.target]
        if nav.many:
            condition = _nav_condition(current.entity, parent, nav, target)
            if seg.key is not None:
                found = db.execute(select(target.model).where(condition, target.model.id == seg.key)).scalar()
                if found is None:
                    raise NotFound(f"{target.singular}({seg.key}) 不存在")
                current = Resolved(entity=target, instance=found, is_collection=False)
            else:
                current = Resolved(entity=target, condition=condition, parent=(current.entity, parent, seg.name))
        else:
            key = getattr(parent, nav.fk)  # type: ignore[arg-type]
            if key is None:
                raise NotFound(f"{seg.name} 不存在")
            current = _one(db, target, key)
    return current


def _one(db: Session, entity: EntityType, key: int) -> Resolved:
    found = db.get(entity.model, key)
    if found is None:
        raise NotFound(f"{entity.singular}({key}) 不存在")
    return Resolved(entity=entity, instance=found, is_collection=False)


def _nav_condition(source: EntityType, instance: Any, nav: Nav, target: EntityType) -> Any:
    if nav.assoc:
        assoc, local, remote = nav.assoc
        ids = select(getattr(assoc, remote)).where(getattr(assoc, local) == instance.id)
        return target.model.id.in_(ids)
    assert nav.remote_fk
    return getattr(target.model, nav.remote_fk) == instance.id


def _nav_condition_many(nav: Nav, target: EntityType, parent_ids: list[int]) -> tuple[Any, Any]:
    """Condition and the parent-id column for expanding a to-many navigation over several parents."""
    if nav.assoc:
        assoc, local, _remote = nav.assoc
        return getattr(assoc, local).in_(parent_ids), getattr(assoc, local)
    assert nav.remote_fk
    column = getattr(target.model, nav.remote_fk)
    return column.in_(parent_ids), column


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
            raise QueryError(f"查询条件的类型不匹配：{exc}") from exc

    def _apply_order(self, stmt: Any, entity: EntityType, text: str | None) -> Any:
        compiler = Compiler(entity, self.dialect, self.db)
        if text:
            for node, descending in parse_orderby(text):
                expr = compiler.value(node)
                if isinstance(expr, _Json):
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
            condition, parent_col = _nav_condition_many(nav, target, parent_ids)
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


# ---- writing ------------------------------------------------------------------------------------------


class Writer:
    """Creates, updates and deletes entities, including deep insert and links by @iot.id.

    Every entity a write reaches, however it was named, is authorised for `principal` on its row
    (`sta_scope`): what hangs from another department's Thing is out of reach, and shared entities
    used by other departments are neither changed nor deleted.
    """

    def __init__(self, db: Session, *, principal: Principal) -> None:
        self.db = db
        self.principal = principal
        self.created: list[tuple[str, int]] = []

    def create(self, set_name: str, body: Any, *, link: dict[str, int] | None = None) -> Any:
        if not isinstance(body, dict):
            raise ValidationFailed("请求体必须是 JSON 对象")
        entity = ENTITY_TYPES[set_name]
        if "@iot.id" in body:  # a link to an existing entity (other properties are ignored, as FROST does)
            found = self.db.get(entity.model, sta_scope.entity_id(body["@iot.id"]))
            if found is None:
                raise ValidationFailed(f"{entity.singular}({body['@iot.id']}) 不存在")
            self.authorise(entity, found)  # linking to an owned entity writes to it
            return found
        return getattr(self, f"_create_{entity.singular}")(entity, body, link or {})

    def authorise(self, entity: EntityType, row: Any) -> None:
        """403 unless the row is in the caller's department scope (shared rows pass)."""
        sta_scope.check_owned(self.db, self.principal, entity.set_name, row)

    def _authorise_thing(self, thing_id: int) -> None:
        thing = self.db.get(m.Thing, thing_id)
        if thing is None:
            raise ValidationFailed(f"Thing({thing_id}) 不存在")
        check_department_scope(self.principal, thing.department_id)

    def _authorise_datastream(self, datastream_id: int) -> None:
        stream = self.db.get(m.Datastream, datastream_id)
        if stream is not None:  # an unknown datastream is refused (and kept) by ingest
            self.authorise(ENTITY_TYPES["Datastreams"], stream)

    def _named_department(self, props: dict[str, Any]) -> int | None:
        """The department `properties.departmentId` names (None: none named); only one in the caller's scope."""
        if props.get("departmentId") is None:
            return None
        department_id = sta_scope.entity_id(props["departmentId"], what="properties.departmentId")
        check_department_scope(self.principal, department_id)
        return department_id

    def _fields(self, entity: EntityType, body: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
        allowed = set(entity.props) | set(entity.navs) | {"@iot.id"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ValidationFailed(
                f"{entity.singular} 没有这些属性：{', '.join(unknown)}", details={"unknown": unknown}
            )
        missing = [r for r in required if body.get(r) in (None, "")]
        if missing:
            raise ValidationFailed(
                f"{entity.singular} 缺少必填属性：{', '.join(missing)}", details={"missing": missing}
            )
        values: dict[str, Any] = {}
        for name, attr in entity.props.items():
            if name in body and name not in TIME_PROPS:
                value = body[name]
                if name in JSON_PROPS and value is not None and not isinstance(value, dict):
                    raise ValidationFailed(f"{name} 必须是 JSON 对象")
                if name not in JSON_PROPS and name != "result" and value is not None and not isinstance(value, str):
                    raise ValidationFailed(f"{name} 必须是字符串")
                values[attr] = value
        return values

    def _add(self, entity: EntityType, obj: Any) -> Any:
        self.db.add(obj)
        self.db.flush()
        self.created.append((entity.set_name, obj.id))
        return obj

    def _create_Thing(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> m.Thing:
        values = self._fields(entity, body, ("name",))
        props = values.get("properties") or {}
        named = self._named_department(props)
        thing = m.Thing(
            **{"description": "", **values},
            department_id=named if named is not None else self.principal.department_id,
            division_code=props.get("divisionCode") if isinstance(props.get("divisionCode"), str) else None,
            kind=props.get("kind") if isinstance(props.get("kind"), str) else "device",
        )
        self._add(entity, thing)
        for loc in _list(body, "Locations"):
            location = self.create("Locations", loc)
            self.db.add(m.ThingLocation(thing_id=thing.id, location_id=location.id))
            self._historical(thing, location)
        for ds in _list(body, "Datastreams"):
            self.create("Datastreams", ds, link={"thing_id": thing.id})
        return thing

    def _historical(self, thing: m.Thing, location: m.Location) -> None:
        hl = m.HistoricalLocation(thing_id=thing.id, time=utcnow())
        self.db.add(hl)
        self.db.flush()
        self.db.add(m.HistoricalLocationLocation(historical_location_id=hl.id, location_id=location.id))
        coords = (location.location or {}).get("coordinates")
        if isinstance(coords, list) and len(coords) >= 2 and all(isinstance(c, int | float) for c in coords[:2]):
            thing.lon, thing.lat = float(coords[0]), float(coords[1])

    def _create_Location(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> m.Location:
        values = self._fields(entity, body, ("name", "encodingType", "location"))
        location = self._add(entity, m.Location(**values))
        for th in _list(body, "Things"):
            thing = self.create("Things", th)
            self.db.add(m.ThingLocation(thing_id=thing.id, location_id=location.id))
            self._historical(thing, location)
        if "thing_id" in link:
            self._authorise_thing(link["thing_id"])
            thing = self.db.get(m.Thing, link["thing_id"])
            self.db.add(m.ThingLocation(thing_id=link["thing_id"], location_id=location.id))
            self._historical(thing, location)  # type: ignore[arg-type]
        return location

    def _create_HistoricalLocation(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> Any:
        self._fields(entity, body, ("time",))
        thing_id = link.get("thing_id") or self._linked_id(body, "Thing", "Things")
        self._authorise_thing(thing_id)
        hl = self._add(entity, m.HistoricalLocation(thing_id=thing_id, time=_time(body["time"])))
        for loc in _list(body, "Locations"):
            location = self.create("Locations", loc)
            self.db.add(m.HistoricalLocationLocation(historical_location_id=hl.id, location_id=location.id))
        return hl

    def _create_Sensor(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> m.Sensor:
        values = self._fields(entity, body, ("name", "encodingType", "metadata"))
        sensor = self._add(entity, m.Sensor(**values))
        for ds in _list(body, "Datastreams"):
            self.create("Datastreams", ds, link={"sensor_id": sensor.id})
        return sensor

    def _create_ObservedProperty(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> Any:
        values = self._fields(entity, body, ("name", "definition"))
        op = self._add(entity, m.ObservedProperty(**values))
        for ds in _list(body, "Datastreams"):
            self.create("Datastreams", ds, link={"observed_property_id": op.id})
        return op

    def _create_Datastream(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> m.Datastream:
        values = self._fields(entity, body, ("name", "observationType", "unitOfMeasurement"))
        thing_id = link.get("thing_id") or self._linked_id(body, "Thing", "Things")
        sensor_id = link.get("sensor_id") or self._linked_id(body, "Sensor", "Sensors")
        op_id = link.get("observed_property_id") or self._linked_id(body, "ObservedProperty", "ObservedProperties")
        self._authorise_thing(thing_id)
        props = values.get("properties") or {}
        ds = m.Datastream(
            **values,
            thing_id=thing_id,
            sensor_id=sensor_id,
            observed_property_id=op_id,
            min_valid=props.get("minValid") if isinstance(props.get("minValid"), int | float) else None,
            max_valid=props.get("maxValid") if isinstance(props.get("maxValid"), int | float) else None,
        )
        self._add(entity, ds)
        for obs in _list(body, "Observations"):
            self.create("Observations", obs, link={"datastream_id": ds.id})
        return ds

    def _create_FeatureOfInterest(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> Any:
        values = self._fields(entity, body, ("name", "encodingType", "feature"))
        return self._add(entity, m.FeatureOfInterest(**values))

    def _create_Observation(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> m.Observation:
        self._fields(entity, body, ("result",))
        ds_id = link.get("datastream_id") or self._linked_id(body, "Datastream", "Datastreams")
        self._authorise_datastream(ds_id)
        foi_id = None
        if isinstance(body.get("FeatureOfInterest"), dict):
            foi_id = self.create("FeaturesOfInterest", body["FeatureOfInterest"]).id
        from yiwang.sensing import ingest

        phenomenon = _time(body.get("phenomenonTime")) if body.get("phenomenonTime") else utcnow()
        result_time = _time(body["resultTime"]) if body.get("resultTime") else None
        outcome = ingest.store(
            self.db,
            rows=[
                ingest.Incoming(
                    ds_id,
                    phenomenon,
                    body["result"],
                    result_time,
                    body.get("resultQuality"),
                    body.get("parameters"),
                    foi_id,
                )
            ],
            channel="http",
        )
        if outcome.rejected:
            raise ValidationFailed(
                f"观测被拒绝：{outcome.reasons[0]}", details={"reasons": outcome.reasons}, commit=True
            )
        obs = self.db.execute(
            select(m.Observation).where(
                m.Observation.datastream_id == ds_id, m.Observation.phenomenon_time == phenomenon
            )
        ).scalar_one()
        self.created.append((entity.set_name, obs.id))
        return obs

    def _linked_id(self, body: dict[str, Any], nav: str, set_name: str) -> int:
        if nav not in body or body[nav] is None:
            raise ValidationFailed(f"缺少关联实体 {nav}")
        return self.create(set_name, body[nav]).id

    def update(self, resolved: Resolved, body: Any) -> Any:
        if not isinstance(body, dict):
            raise ValidationFailed("请求体必须是 JSON 对象")
        entity, row = resolved.entity, resolved.instance
        self.authorise(entity, row)
        sta_scope.check_shared_change(self.db, self.principal, entity.set_name, row, deleting=False)
        if entity.set_name == "Observations":
            self._refuse_moving_observation(row, body)
            corrected_at = row.phenomenon_time
        values = self._fields(entity, {k: v for k, v in body.items() if k not in entity.navs}, ())
        if entity.set_name == "Things" and isinstance(values.get("properties"), dict):
            # properties.departmentId moves the Thing, within the caller's scope only (as on create)
            named = self._named_department(values["properties"])
            row.department_id = named if named is not None else row.department_id
        changed = {attr for attr, value in values.items() if getattr(row, attr) != value}
        for attr, value in values.items():
            setattr(row, attr, value)
        if entity.set_name == "Locations" and changed & features.FROM_LOCATION:
            row.feature_of_interest_id = None  # later observations get a FeatureOfInterest of the new place
        if entity.set_name == "Observations":
            if "result" in body:
                value = body["result"]
                row.result, row.result_json = (float(value), None) if _is_number(value) else (None, value)
            if "phenomenonTime" in body:
                row.phenomenon_time = _time(body["phenomenonTime"])
        if entity.set_name == "HistoricalLocations" and "time" in body:
            row.time = _time(body["time"])
        for nav_name, nav in entity.navs.items():
            if nav_name in body and not nav.many and isinstance(body[nav_name], dict):
                target = self.create(nav.target, body[nav_name])
                setattr(row, nav.fk, target.id)  # type: ignore[arg-type]
        if entity.set_name == "Things":
            for loc in _list(body, "Locations"):
                location = self.create("Locations", loc)
                self.db.execute(delete(m.ThingLocation).where(m.ThingLocation.thing_id == row.id))
                self.db.add(m.ThingLocation(thing_id=row.id, location_id=location.id))
                self._historical(row, location)
        self.db.flush()
        if entity.set_name == "Observations":  # a corrected value or time: its hours and days again
            ds, now_at = row.datastream_id, row.phenomenon_time
            processing.recompute(self.db, [(ds, corrected_at, corrected_at), (ds, now_at, now_at)])
        return row

    @staticmethod
    def _refuse_moving_observation(row: m.Observation, body: dict[str, Any]) -> None:
        """An observation is keyed by (datastream, phenomenon time) and counted in its datastream's
        rollups and its device's health; like the `$ref` path, an update does not move it."""
        link = body.get("Datastream")
        if link is None:
            return
        target = link.get("@iot.id") if isinstance(link, dict) else None
        if target is None or str(target) != str(row.datastream_id):
            raise Conflict("观测不能改挂到其他数据流")

    def delete(self, resolved: Resolved) -> None:
        entity, row = resolved.entity, resolved.instance
        self.authorise(entity, row)
        sta_scope.check_shared_change(self.db, self.principal, entity.set_name, row, deleting=True)
        if entity.set_name in ("Sensors", "ObservedProperties"):
            column = m.Datastream.sensor_id if entity.set_name == "Sensors" else m.Datastream.observed_property_id
            ids = list(self.db.execute(select(m.Datastream.id).where(column == row.id)).scalars())
            self._delete_datastreams(ids)
        if entity.set_name == "Things":
            ids = list(self.db.execute(select(m.Datastream.id).where(m.Datastream.thing_id == row.id)).scalars())
            self._delete_datastreams(ids)
        if entity.set_name == "Datastreams":
            self._delete_datastreams([row.id])
            return
        if entity.set_name == "FeaturesOfInterest":  # an Observation cannot be without its FeatureOfInterest
            self.db.execute(delete(m.Observation).where(m.Observation.feature_of_interest_id == row.id))
            features.forget(self.db, feature_id=row.id)
        self.db.delete(row)
        self.db.flush()
        if entity.set_name == "Observations":  # its hour and day no longer count it
            processing.recompute(self.db, [(row.datastream_id, row.phenomenon_time, row.phenomenon_time)])

    def _delete_datastreams(self, ids: list[int]) -> None:
        if not ids:
            return
        for model in (m.Observation, m.Rollup):
            self.db.execute(delete(model).where(model.datastream_id.in_(ids)))
        self.db.execute(delete(m.Datastream).where(m.Datastream.id.in_(ids)))
        self.db.flush()


def _list(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed(f"{name} 必须是数组")
    return value


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValidationFailed("时间必须是 ISO 8601 字符串")
    start = value.split("/")[0]
    try:
        return parse_datetime(start)
    except QueryError as exc:
        raise ValidationFailed(str(exc)) from exc


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
