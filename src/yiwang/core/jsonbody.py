"""The one JSON body parser: every failure to parse is the caller's 400, never a server error.

Bodies are UTF-8 (RFC 8259). orjson parses them fast; it refuses integers beyond 64 bits, so a body it
cannot read goes once more through the standard parser, which reads big integers up to Python's digit
limit. Both refuse NaN and Infinity here, and nesting deeper than a fixed bound, so neither a
5,001-digit integer (ValueError), a 100,000-deep array (RecursionError) nor a GBK-encoded body
(UnicodeDecodeError) escapes as a 500.
"""

import functools
import json
from typing import Annotated, Any

import anyio
import orjson
from fastapi import Depends, Request

from yiwang.core.errors import AppError

# Deep enough for any real document (SensorThings deep inserts nest a handful of levels), shallow
# enough that nothing downstream (Pydantic, the encoders) ever recurses near Python's limit.
MAX_DEPTH = 64
# Where the body middleware leaves the value it already parsed, so a route does not parse it again.
PARSED_JSON_SCOPE_KEY = "yiwang.parsed_json"


class MalformedJson(AppError):
    status_code = 400
    code = "malformed_json"
    message = "请求体不是合法的 JSON"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than the limit (a linear scan, no recursion)."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def parse_json(raw: bytes, *, expect: type | tuple[type, ...] | None = None) -> Any:
    """Parse a request body; MalformedJson (400) for anything that is not one acceptable JSON value.

    `expect` names the acceptable top-level types (dict for an object, list for an array)."""
    if not raw.strip():
        raise MalformedJson("请求体为空，应为 JSON", details={"reason": "empty"})
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as fast_error:
        value = _parse_slowly(raw, fast_error)
    else:
        if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _value_too_deep(value, MAX_DEPTH):
            raise MalformedJson(f"JSON 嵌套超过 {MAX_DEPTH} 层", details={"reason": "too_deep"})
    if expect is not None and not isinstance(value, expect):
        kinds = expect if isinstance(expect, tuple) else (expect,)
        wanted = "、".join(_TYPE_NAMES.get(kind, kind.__name__) for kind in kinds)
        raise MalformedJson(f"请求体须为 JSON {wanted}", details={"reason": "wrong_type"})
    return value


def _parse_slowly(raw: bytes, fast_error: Exception) -> Any:
    if _depth_exceeds(raw, MAX_DEPTH):
        raise MalformedJson(f"JSON 嵌套超过 {MAX_DEPTH} 层", details={"reason": "too_deep"}) from fast_error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJson("请求体须为 UTF-8 编码的 JSON", details={"reason": "not_utf8"}) from exc
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
        # What orjson refused but this parser took must also be storable text: no lone surrogates.
        # allow_nan=False: a literal like 1e400 reads as infinity, which is no storable number either.
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, the digit limit, UnicodeEncodeError
        raise MalformedJson(details={"reason": str(exc)[:200]}) from exc
    return value


def _value_too_deep(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than the limit; iterative, so it cannot itself recurse too far."""
    if not isinstance(value, dict | list):
        return False
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


_TYPE_NAMES: dict[type, str] = {dict: "对象", list: "数组"}


# Bodies up to this size parse on the event loop in well under a millisecond; larger ones are parsed in
# a worker thread, so a megabyte that needs the slow path does not hold up every other connection.
PARSE_ON_LOOP_BYTES = 64 * 1024


async def parse_json_body(raw: bytes, *, expect: type | tuple[type, ...] | None = None) -> Any:
    """parse_json for async code: off the event loop when the body is large."""
    if len(raw) <= PARSE_ON_LOOP_BYTES:
        return parse_json(raw, expect=expect)
    return await anyio.to_thread.run_sync(functools.partial(parse_json, raw, expect=expect))


async def json_body(request: Request) -> Any:
    """The body as JSON, read on the event loop so the endpoint itself can be a plain def."""
    return await _body_as(request, None)


async def json_object_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object."""
    body: dict[str, Any] = await _body_as(request, dict)
    return body


async def _body_as(request: Request, expect: type | None) -> Any:
    raw = await request.body()  # read even when parsed already: the stream must be consumed
    if PARSED_JSON_SCOPE_KEY in request.scope:
        value = request.scope[PARSED_JSON_SCOPE_KEY]
        if expect is None or isinstance(value, expect):
            return value
    return await parse_json_body(raw, expect=expect)


JsonBody = Annotated[Any, Depends(json_body)]
JsonObjectBody = Annotated[dict[str, Any], Depends(json_object_body)]
