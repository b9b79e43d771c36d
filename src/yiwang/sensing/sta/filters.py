"""$filter compilation: a parsed OData expression to a SQLAlchemy condition for one entity set."""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Numeric, String, and_, cast, extract, func, literal, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from yiwang.core.db import UTCDateTime
from yiwang.core.timeutil import utcnow
from yiwang.sensing import spatial
from yiwang.sensing.odata import (
    Binary,
    Call,
    Literal,
    Path,
    QueryError,
    Unary,
)
from yiwang.sensing.sta.entities import ENTITY_TYPES, JSON_PROPS, EntityType


class JsonPath:
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
        if isinstance(expr, JsonPath):
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
                return JsonPath(column, list(rest))
            return column
        if head in entity.navs and rest:
            nav = entity.navs[head]
            if nav.many:
                raise QueryError(f"过滤条件不能经过一对多导航 {head}")
            target = ENTITY_TYPES[nav.target]
            inner = self.path(rest, target)
            assert nav.fk is not None
            if isinstance(inner, JsonPath):
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
        return expr.typed("bool") if isinstance(expr, JsonPath) else expr

    def _num(self, expr: Any) -> Any:
        return expr.typed("num") if isinstance(expr, JsonPath) else expr

    def _str(self, expr: Any) -> Any:
        return expr.typed("str") if isinstance(expr, JsonPath) else expr

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

        if isinstance(left, JsonPath):
            left = left.typed(kind_of(node.right))
        if isinstance(right, JsonPath):
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
            return func.min(args[0]) if args else literal(datetime.min)
        if name == "maxdatetime":
            return func.max(args[0]) if args else literal(datetime.max)
        if name == "round":
            return func.round(self._num(args[0]))
        if name == "floor":
            return func.floor(self._num(args[0]))
        if name == "ceiling":
            return func.ceil(self._num(args[0])) if self.dialect == "sqlite" else func.ceiling(self._num(args[0]))
        raise QueryError(f"不支持的函数：{name}")
