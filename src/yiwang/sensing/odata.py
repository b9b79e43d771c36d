"""A parser for the OData-style query language of SensorThings 1.1 ($filter, $orderby, $expand, $select).

The filter grammar (precedence low to high): or, and, not, comparison (eq ne gt ge lt le),
additive (add sub), multiplicative (mul div mod), unary minus, primary (literal, `geography'WKT'` literal,
path, function call, parenthesised expression). Parsing yields a small tree; `sta.py` compiles it to SQLAlchemy.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class QueryError(ValueError):
    """A malformed query option; reported as 400 with the message."""


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class GeoLiteral:
    """`geography'POINT(120.75 31.65)'`: a geometry in WKT, parsed when the filter is compiled."""

    wkt: str


@dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Unary:
    op: str  # not | neg
    operand: Any


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT:]))
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<geo>(?i:geography|geometry)'[^']*')
  | (?P<name>[A-Za-z_@][A-Za-z0-9_.@]*(?:/[A-Za-z_@][A-Za-z0-9_.@]*)*)
  | (?P<punct>[(),\-])
    )""",
    re.VERBOSE,
)

COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {
    "substringof": 2,
    "contains": 2,
    "startswith": 2,
    "endswith": 2,
    "length": 1,
    "indexof": 2,
    "substring": (2, 3),
    "tolower": 1,
    "toupper": 1,
    "trim": 1,
    "concat": 2,
    "year": 1,
    "month": 1,
    "day": 1,
    "hour": 1,
    "minute": 1,
    "second": 1,
    "date": 1,
    "time": 1,
    "fractionalseconds": 1,
    "totaloffsetminutes": 1,
    "now": 0,
    "mindatetime": 0,
    "maxdatetime": 0,
    "round": 1,
    "floor": 1,
    "ceiling": 1,
    # spatial (sensing/spatial.py)
    "geo.distance": 2,
    "geo.length": 1,
    "geo.intersects": 2,
    "st_equals": 2,
    "st_disjoint": 2,
    "st_touches": 2,
    "st_within": 2,
    "st_overlaps": 2,
    "st_crosses": 2,
    "st_intersects": 2,
    "st_contains": 2,
    "st_relate": 3,
}


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 instant; a naive one is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QueryError(f"时间格式错误：{text}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryError(f"无法解析查询条件（位置 {pos}）：{text[pos : pos + 20]}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryError("查询条件不完整")
        self.i += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token[1] != value:
            raise QueryError(f"此处应为“{value}”，却是“{token[1]}”")

    def at_word(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "name" and token[1] in words:
            return token[1]
        return None

    def parse(self) -> Any:
        node = self.or_expr()
        if self.peek() is not None:
            raise QueryError(f"多余的内容：{self.peek()[1]}")  # type: ignore[index]
        return node

    def or_expr(self) -> Any:
        node = self.and_expr()
        while self.at_word("or"):
            self.take()
            node = Binary("or", node, self.and_expr())
        return node

    def and_expr(self) -> Any:
        node = self.not_expr()
        while self.at_word("and"):
            self.take()
            node = Binary("and", node, self.not_expr())
        return node

    def not_expr(self) -> Any:
        if self.at_word("not"):
            self.take()
            return Unary("not", self.not_expr())
        return self.comparison()

    def comparison(self) -> Any:
        node = self.additive()
        op = self.at_word(*COMPARISONS)
        if op:
            self.take()
            node = Binary(op, node, self.additive())
        return node

    def additive(self) -> Any:
        node = self.multiplicative()
        while op := self.at_word("add", "sub"):
            self.take()
            node = Binary(op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Any:
        node = self.unary()
        while op := self.at_word("mul", "div", "mod"):
            self.take()
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Any:
        token = self.peek()
        if token and token == ("punct", "-"):
            self.take()
            operand = self.unary()
            if isinstance(operand, Literal) and isinstance(operand.value, int | float):
                return Literal(-operand.value)
            return Unary("neg", operand)
        return self.primary()

    def primary(self) -> Any:
        kind, value = self.take()
        if kind == "punct" and value == "(":
            node = self.or_expr()
            self.expect(")")
            return node
        if kind == "number":
            return Literal(float(value) if any(c in value for c in ".eE") else int(value))
        if kind == "string":
            return Literal(value[1:-1].replace("''", "'"))
        if kind == "geo":
            return GeoLiteral(value[value.index("'") + 1 : -1])
        if kind == "datetime":
            return Literal(parse_datetime(value))
        if kind == "date":
            return Literal(datetime.fromisoformat(value).date())
        if kind == "name":
            lowered = value.lower()
            if lowered in ("true", "false"):
                return Literal(lowered == "true")
            if lowered == "null":
                return Literal(None)
            nxt = self.peek()
            if nxt == ("punct", "("):
                return self.call(value)
            return Path(tuple(value.split("/")))
        raise QueryError(f"此处不应出现“{value}”")

    def call(self, name: str) -> Call:
        if name not in FUNCTIONS:
            raise QueryError(f"不支持的函数：{name}")
        self.expect("(")
        args: list[Any] = []
        if self.peek() != ("punct", ")"):
            args.append(self.or_expr())
            while self.peek() == ("punct", ","):
                self.take()
                args.append(self.or_expr())
        self.expect(")")
        arity = FUNCTIONS[name]
        allowed = arity if isinstance(arity, tuple) else (arity,)
        if len(args) not in allowed:
            raise QueryError(f"函数 {name} 的参数个数不对")
        return Call(name, tuple(args))


def parse_filter(text: str) -> Any:
    """Parse a $filter expression into a tree of Literal, Path, Call, Binary, Unary."""
    if len(text) > 4000:
        raise QueryError("查询条件过长")
    return _Parser(text).parse()


def parse_orderby(text: str) -> list[tuple[Any, bool]]:
    """`$orderby=a desc, b` → [(expression, descending)]."""
    result = []
    for part in _split_top(text, ","):
        part = part.strip()
        descending = False
        lowered = part.lower()
        if lowered.endswith(" desc"):
            descending, part = True, part[:-5].strip()
        elif lowered.endswith(" asc"):
            part = part[:-4].strip()
        if not part:
            raise QueryError("$orderby 为空")
        result.append((parse_filter(part), descending))
    return result


@dataclass
class ExpandItem:
    path: list[str]
    options: dict[str, str] = field(default_factory=dict)


def _split_top(text: str, sep: str) -> list[str]:
    """Split on sep outside parentheses and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth < 0:
                raise QueryError("括号不匹配")
        if ch == sep and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth != 0 or quoted:
        raise QueryError("括号或引号不匹配")
    parts.append("".join(current))
    return parts


def parse_expand(text: str) -> list[ExpandItem]:
    """`Datastreams($top=1;$expand=Observations),Locations` → items with their nested options."""
    items = []
    for raw in _split_top(text, ","):
        raw = raw.strip()
        if not raw:
            raise QueryError("$expand 为空")
        options: dict[str, str] = {}
        if "(" in raw:
            head, _, rest = raw.partition("(")
            if not rest.endswith(")"):
                raise QueryError("$expand 括号不匹配")
            for opt in _split_top(rest[:-1], ";"):
                key, eq, value = opt.strip().partition("=")
                if not eq or not key.startswith("$"):
                    raise QueryError(f"$expand 中的选项无效：{opt}")
                options[key] = value
            raw = head
        items.append(ExpandItem(path=[p for p in raw.split("/") if p], options=options))
    return items


def parse_select(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise QueryError("$select 为空")
    for name in names:
        if not re.fullmatch(r"[A-Za-z@][A-Za-z0-9_.@]*", name):
            raise QueryError(f"$select 中的名称无效：{name}")
    return names
