"""The spatial functions of `$filter` (SensorThings 1.1, Table 23): `geo.distance`, `geo.length`,
`geo.intersects` and the nine `st_*` relations of OGC Simple Features, with literals such as
`geography'POINT(120.75 31.65)'` in WKT.

Neither database engine has a spatial extension here (no PostGIS, no SpatiaLite), so a spatial call is
evaluated in Python with shapely (GEOS) over the GeoJSON the entities store (`Location.location`,
`FeatureOfInterest.feature`, `Datastream.observedArea`) and handed back to SQL as the ids it holds for, e.g.
`CASE WHEN id IS NULL THEN NULL WHEN id IN (ids where it holds) THEN TRUE WHEN id IN (ids without a geometry)
THEN NULL ELSE FALSE END`. The rest of the query stays in SQL, on SQLite and PostgreSQL alike, so
`and`/`or`/`not`, `$top`, `$skip`, `$count` and `@iot.nextLink` behave as for any other condition. A row
without a readable geometry gives NULL, as PostGIS does, so it matches neither `st_within(…)` nor
`not st_within(…)`. Each call reads the geometries of its entity set once per query (tens of thousands
parse in well under 0.1 s).

Geometry is planar in the coordinates' own units, the degrees of WGS 84 (as FROST-Server computes
`ST_Distance` on a geometry column): `geo.distance` and `geo.length` are in degrees (0.001° of latitude is
about 111 m; of longitude at Changshu, 31.6° N, about 95 m).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.errors import GEOSException
from sqlalchemy import Integer, Text, bindparam, case, cast, false, literal, literal_column, null, select, true
from sqlalchemy.orm import Session

from yiwang.sensing.odata import Binary, Call, GeoLiteral, Literal, Path, QueryError

if TYPE_CHECKING:
    from yiwang.sensing.sta.entities import EntityType

PREDICATES: dict[str, Callable[[Any, Any], Any]] = {
    "geo.intersects": shapely.intersects,
    "st_equals": shapely.equals,
    "st_disjoint": shapely.disjoint,
    "st_touches": shapely.touches,
    "st_within": shapely.within,
    "st_overlaps": shapely.overlaps,
    "st_crosses": shapely.crosses,
    "st_intersects": shapely.intersects,
    "st_contains": shapely.contains,
}
MEASURES = {"geo.distance", "geo.length"}
FUNCTIONS = {*PREDICATES, *MEASURES, "st_relate"}
GEOMETRY_PROPS = {"location", "feature", "observedArea"}
# Beyond comparisons with a number (`geo.distance(...) lt 0.01`), a distance or length becomes a SQL CASE
# over the geometries' ids (for $orderby and arithmetic): bounded, as every row scans it.
MAX_VALUE_ROWS = 5000

_COMPARE = {
    "eq": np.equal,
    "ne": np.not_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "lt": np.less,
    "le": np.less_equal,
}
_FLIPPED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
_SRID = re.compile(r"^\s*SRID\s*=\s*(\d+)\s*;", re.IGNORECASE)
_RELATE_PATTERN = re.compile(r"^[TF*012]{9}$")


@dataclass(frozen=True)
class GeometryColumn:
    """A GeoJSON property (`prop` of `holder`), reached from the filtered entity through `hops`."""

    hops: tuple[str, ...]
    holder: "EntityType"
    prop: str


Operand = GeometryColumn | shapely.Geometry


class Spatial:
    """Compiles spatial calls of one entity type's $filter or $orderby; without a session it only checks them."""

    def __init__(self, entity: "EntityType", types: dict[str, "EntityType"], db: Session | None) -> None:
        self.entity, self.types, self.db = entity, types, db

    # entry points ---------------------------------------------------------------------------------------
    def call(self, node: Call) -> Any:
        """A spatial call where a value is wanted: a condition for the predicates, a number for the measures."""
        if node.name in MEASURES:
            column, measure = self._measure(node)
            if column is None:
                return literal(float(_evaluate(measure, None)))
            return self._values(column, measure)
        column, test = self._predicate(node)
        if column is None:
            return true() if bool(_evaluate(test, None)) else false()
        return self._condition(column, test)

    def comparison(self, node: Binary) -> Any | None:
        """`geo.distance(...) lt 0.01` (either way round) as one condition; None for any other comparison."""
        left, right, op = node.left, node.right, node.op
        if _is_number(left) and _is_measure(right):
            left, right, op = right, left, _FLIPPED[op]
        if not (_is_measure(left) and _is_number(right)):
            return None
        column, measure = self._measure(left)
        limit, compare = float(right.value), _COMPARE[op]
        if column is None:
            return true() if bool(compare(_evaluate(measure, None), limit)) else false()
        return self._condition(column, lambda geoms: compare(measure(geoms), limit))

    # operands -------------------------------------------------------------------------------------------
    def _predicate(self, node: Call) -> tuple[GeometryColumn | None, Callable[[Any], Any]]:
        first, second = self._operand(node.args[0]), self._operand(node.args[1])
        if node.name == "st_relate":
            pattern = node.args[2]
            if not (isinstance(pattern, Literal) and isinstance(pattern.value, str)):
                raise QueryError("st_relate 的第三个参数须是 DE-9IM 模式字符串，如 'T********'")
            if not _RELATE_PATTERN.match(pattern.value):
                raise QueryError(f"DE-9IM 模式须是 9 个 T、F、*、0、1、2 字符：{pattern.value}")
            function: Callable[[Any, Any], Any] = lambda a, b: shapely.relate_pattern(a, b, pattern.value)  # noqa: E731
        else:
            function = PREDICATES[node.name]
        return _bind(node.name, first, second, function)

    def _measure(self, node: Call) -> tuple[GeometryColumn | None, Callable[[Any], Any]]:
        if node.name == "geo.length":
            only = self._operand(node.args[0])
            if isinstance(only, GeometryColumn):
                return only, shapely.length
            return None, lambda _: shapely.length(only)
        return _bind(node.name, self._operand(node.args[0]), self._operand(node.args[1]), shapely.distance)

    def _operand(self, node: Any) -> Operand:
        if isinstance(node, GeoLiteral):
            return parse_wkt(node.wkt)
        if isinstance(node, Path):
            return self._column(node.parts)
        raise QueryError("空间函数的参数须是几何属性（如 location）或 geography'…' 字面量")

    def _column(self, parts: tuple[str, ...]) -> GeometryColumn:
        entity = self.entity
        for hop in parts[:-1]:
            nav = entity.navs.get(hop)
            if nav is None:
                raise QueryError(f"{entity.singular} 没有导航属性 {hop}")
            entity = self.types[nav.target]
        prop = parts[-1]
        if prop not in GEOMETRY_PROPS or prop not in entity.props:
            raise QueryError(f"{'/'.join(parts)} 不是几何属性（可用 location、feature、observedArea）")
        return GeometryColumn(parts[:-1], entity, prop)

    # evaluation -----------------------------------------------------------------------------------------
    def _condition(self, column: GeometryColumn, test: Callable[[Any], Any]) -> Any:
        if self.db is None:
            return true()
        ids, geoms, unreadable = self._geometries(column)
        holds = np.asarray(_evaluate(test, geoms), dtype=bool) if len(geoms) else np.zeros(0, dtype=bool)
        return self._lift(self.entity, column.hops, _truth(ids[holds], ids[~holds], unreadable))

    def _values(self, column: GeometryColumn, measure: Callable[[Any], Any]) -> Any:
        if self.db is None:
            return literal(0.0)
        if len(column.hops) > 1 or (column.hops and self.entity.navs[column.hops[0]].many):
            raise QueryError("经过导航的距离或长度只能直接与数值比较，如 geo.distance(…) lt 0.01")
        ids, geoms, _unreadable = self._geometries(column)
        if len(ids) > MAX_VALUE_ROWS:
            raise QueryError(f"几何超过 {MAX_VALUE_ROWS} 个，距离或长度只能直接与数值比较")
        model = self.entity.model
        key = getattr(model, self.entity.navs[column.hops[0]].to_one_fk) if column.hops else model.id
        values = _evaluate(measure, geoms) if len(geoms) else []
        whens: list[tuple[Any, Any]] = [
            (key == literal_column(str(int(i))), literal_column(repr(float(v))))
            for i, v in zip(ids, values, strict=True)
            if np.isfinite(v)
        ]
        return case(*whens, else_=null()) if whens else null()

    def _geometries(self, column: GeometryColumn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ids and shapes of the holder's rows with a readable, non-empty geometry, and the ids of the others."""
        assert self.db is not None
        model = column.holder.model
        stored = getattr(model, column.holder.props[column.prop])
        rows = self.db.execute(select(model.id, cast(stored, Text))).all()
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        geoms = shapely.from_geojson(np.array([row[1] or "null" for row in rows], dtype=object), on_invalid="ignore")
        readable = ~shapely.is_missing(geoms)
        readable[readable] = ~shapely.is_empty(geoms[readable])
        return ids[readable], geoms[readable], ids[~readable]

    def _lift(self, entity: "EntityType", hops: tuple[str, ...], holder_condition: Callable[[Any], Any]) -> Any:
        """The holder rows' condition, seen from `entity` through `hops`: the key itself for the holder or a
        direct to-one link (so NULL stays NULL), and "any related row holds" across to-many links."""
        if not hops:
            return holder_condition(entity.model.id)
        nav = entity.navs[hops[0]]
        target = self.types[nav.target]
        if not nav.many and len(hops) == 1:
            return holder_condition(getattr(entity.model, nav.to_one_fk))
        matching = select(target.model.id).where(self._lift(target, hops[1:], holder_condition))
        if not nav.many:
            return getattr(entity.model, nav.to_one_fk).in_(matching)
        if nav.assoc:
            assoc, local, remote = nav.assoc
            return entity.model.id.in_(select(getattr(assoc, local)).where(getattr(assoc, remote).in_(matching)))
        return entity.model.id.in_(select(getattr(target.model, nav.to_many_fk)).where(target.model.id.in_(matching)))


def parse_wkt(text: str) -> shapely.Geometry:
    """A WKT literal (optionally `SRID=4326;…`) → a shapely geometry; malformed → QueryError (400)."""
    srid = _SRID.match(text)
    if srid:
        if srid.group(1) != "4326":
            raise QueryError(f"只支持 WGS 84 坐标（SRID=4326），而不是 SRID={srid.group(1)}")
        text = text[srid.end() :]
    try:
        geometry = shapely.from_wkt(text)
    except (GEOSException, ValueError) as exc:
        raise QueryError(f"几何字面量不是有效的 WKT：{text[:80]}") from exc
    if geometry is None or geometry.is_empty:
        raise QueryError(f"几何字面量为空：{text[:80]}")
    return geometry


def _bind(
    name: str, first: Operand, second: Operand, function: Callable[[Any, Any], Any]
) -> tuple[GeometryColumn | None, Callable[[Any], Any]]:
    """Fix the literal operand in place, keeping the argument order (st_contains(a, b) is not st_contains(b, a))."""
    if isinstance(first, GeometryColumn) and isinstance(second, GeometryColumn):
        raise QueryError(f"{name} 的两个几何参数中须有一个是 geography'…' 字面量")
    if isinstance(first, GeometryColumn):
        return first, lambda geoms: function(geoms, second)
    if isinstance(second, GeometryColumn):
        return second, lambda geoms: function(first, geoms)
    return None, lambda _: function(first, second)


def _evaluate(function: Callable[[Any], Any], geoms: Any) -> Any:
    try:
        return function(geoms)
    except GEOSException as exc:  # e.g. a self-intersecting polygon GEOS cannot relate
        raise QueryError(f"无法计算空间关系：{exc}") from exc


def _truth(true_ids: np.ndarray, false_ids: np.ndarray, unreadable: np.ndarray) -> Callable[[Any], Any]:
    """The condition on a key column: TRUE or FALSE as evaluated, NULL without a geometry. Only the shorter
    of the two id lists is written into the SQL."""
    listed, verdict, otherwise = (
        (true_ids, true(), false()) if len(true_ids) <= len(false_ids) else (false_ids, false(), true())
    )

    def condition(key: Any) -> Any:
        return case(
            (key.is_(None), null()),
            (key.in_(_id_list(listed)), verdict),
            (key.in_(_id_list(unreadable)), null()),
            else_=otherwise,
        )

    return condition


def _id_list(ids: np.ndarray) -> Any:
    # Rendered inline at execution (they are integers): no limit on bound parameters however many rows match.
    return bindparam(None, [int(i) for i in ids], type_=Integer, expanding=True, literal_execute=True)


def _is_measure(node: Any) -> bool:
    return isinstance(node, Call) and node.name in MEASURES


def _is_number(node: Any) -> bool:
    return isinstance(node, Literal) and isinstance(node.value, int | float) and not isinstance(node.value, bool)
