"""ASGI middleware: request ids, security headers, the pre-login CSRF cookie, and body size limits."""

import json
import secrets

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yiwang.core.errors import error_body
from yiwang.core.jsonbody import PARSED_JSON_SCOPE_KEY, MalformedJson, parse_json_body
from yiwang.web.csrf import PRELOGIN_COOKIE

_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", _CSP.encode()),
]


class RequestContextMiddleware:
    """Gives each request an id, adds security headers, and sets the CSRF cookie a page asked for."""

    def __init__(self, app: ASGIApp, *, secure_cookies: bool) -> None:
        self.app = app
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else secrets.token_hex(8)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                present = {name for name, _ in headers}
                headers.extend(h for h in _SECURITY_HEADERS if h[0] not in present)
                token = state.get("new_csrf_cookie")
                if token:
                    cookie = f"{PRELOGIN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
                    if self.secure_cookies:
                        cookie += "; Secure"
                    headers.append((b"set-cookie", cookie.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Interfaces that read their own bodies and answer a malformed one in their protocol's error shape
# (CKAN's {"success": false, ...}, Open311's error list), with the same parser.
OWN_BODY_PARSERS = ("/api/3/action/", "/api/action/", "/open311/")
# Mediated service calls (docs/exchange.md): the body belongs to the provider's protocol, is streamed
# through to it without being parsed here, and has its own, much larger limit.
PASSTHROUGH_PREFIX = "/x/"
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# A refused body is still read and discarded (up to the upload limit, and for at most this long) so
# that a client still sending gets to read the answer instead of a reset connection.
DRAIN_SECONDS = 10.0


class BodyLimitMiddleware:
    """Request bodies: size limits (413 before the application reads them into memory), and every JSON
    body the application will parse checked first by the platform's one parser (400 malformed_json).

    Uploads come as multipart/form-data and get the upload limit. Every other body is read whole by the
    route that takes it (JSON models, forms, CKAN, SensorThings), whatever content type the client
    declares, so it gets the JSON limit: `Content-Type: text/plain` is no way round it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_json_bytes: int, max_passthrough_bytes: int = 0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_bytes = max_json_bytes
        self.max_passthrough_bytes = max_passthrough_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").strip().lower()
        limit = self.max_bytes if content_type.startswith("multipart/form-data") else self.max_json_bytes
        passthrough = scope["path"].startswith(PASSTHROUGH_PREFIX)
        if passthrough:
            limit = self.max_passthrough_bytes
        may_drain = headers.get(b"expect", b"").lower() != b"100-continue"  # else the body is not coming
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            if may_drain:
                await _drain(receive, self.max_bytes)
            await _reject(send, limit)
            return
        if (
            _is_json(content_type)
            and not passthrough
            and scope["method"] in _BODY_METHODS
            and not scope["path"].startswith(OWN_BODY_PARSERS)
        ):
            await self._check_json(scope, receive, send, limit, may_drain)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _limited(receive, limit, self.max_bytes if may_drain else 0), tracked_send)
        except _BodyTooLarge:
            if started:
                raise
            await _reject(send, limit)  # raised where no exception handler answered it

    async def _check_json(self, scope: Scope, receive: Receive, send: Send, limit: int, may_drain: bool) -> None:
        """Read the whole body, parse it once, and hand the application the same bytes and the value."""
        body = await _read_body(receive, limit)
        if body is None:
            if may_drain:
                await _drain(receive, self.max_bytes)
            await _reject(send, limit)
            return
        if body.strip():
            try:
                scope[PARSED_JSON_SCOPE_KEY] = await parse_json_body(body)
            except MalformedJson as exc:
                await _send_json(send, exc.status_code, error_body(exc.code, exc.message, exc.details))
                return
        await self.app(scope, _replay(body, receive), send)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)  # the client went away; the application will notice
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _limited(receive: Receive, limit: int, drain_bytes: int) -> Receive:
    """receive() that refuses a body growing past the limit (no Content-Length, or a false one)."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                if message.get("more_body", False):
                    await _drain(receive, drain_bytes)
                raise _BodyTooLarge()
        return message

    return limited_receive


async def _drain(receive: Receive, max_bytes: int) -> None:
    """Read and discard the rest of a refused body, within a byte and a time bound."""
    drained = 0
    with anyio.move_on_after(DRAIN_SECONDS):
        while drained <= max_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


async def _reject(send: Send, limit: int) -> None:
    body = error_body("payload_too_large", f"请求体超过上限（{limit} 字节）", {"limit": limit})
    await _send_json(send, 413, body)


async def _send_json(send: Send, status: int, payload: dict) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(HTTPException):
    """Raised from receive(); an HTTPException so FastAPI's body parsing re-raises it as a 413."""

    def __init__(self) -> None:
        super().__init__(status_code=413)
