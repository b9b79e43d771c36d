"""Admission control: past its capacity the process sheds the excess with 503 instead of queueing it.

Without it every request is accepted, waits for a worker thread and then for a database connection;
past capacity the waits grow until each request times out after the pool's 30 s, and the process
finishes nothing at all. Here a process serves at most `max_in_flight` requests at once. A few more
(`max_queue`) wait in arrival order for a slot, each for at most `queue_ms` (the head of the queue,
next to be served, a little longer); an arrival that finds the queue full, or gets no slot in time, is
answered with 503 `overloaded` and `Retry-After`. The short queue is what keeps the goodput at
capacity: a finishing request always finds the next one waiting, so no slot idles while requests are
being refused; and it is short so that an admitted request waits about one service time, not the
seconds a long queue would add.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from yiwang.core.errors import error_body
from yiwang.web.errors import wants_html

log = logging.getLogger(__name__)

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/favicon.ico"})
EXEMPT_PREFIXES = ("/static/",)
OVERLOADED_MESSAGE = "系统繁忙，请稍后再试"
_HTML_PAGE = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>系统繁忙</title></head>'
    f"<body><main><h1>系统繁忙</h1><p>当前访问人数较多，{OVERLOADED_MESSAGE}。</p>"
    '<p><a href="/">返回首页</a></p></main></body></html>'
)
_SHEDDING_LOG_SECONDS = 10.0
_DRAIN_LIMIT_BYTES = 64 * 1024
_HEAD_WAIT_FACTOR = 10


@dataclass(frozen=True)
class AdmissionLimits:
    """How much work one process takes on; `max_in_flight` 0 turns admission control off."""

    max_in_flight: int
    max_queue: int
    queue_ms: int
    retry_after_seconds: int


class AdmissionMiddleware:
    """Serve at most `max_in_flight` requests at once; a bounded wait for the rest, then 503."""

    def __init__(self, app: ASGIApp, *, limits: AdmissionLimits) -> None:
        self.app = app
        self.limits = limits
        self.in_flight = 0
        self.rejected = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._last_shedding_log = 0.0
        self._rejection_json = json.dumps(error_body("overloaded", OVERLOADED_MESSAGE), ensure_ascii=False).encode()
        self._rejection_html = _HTML_PAGE.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limits.max_in_flight <= 0 or _is_exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        if not await self._acquire():
            await self._reject(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _acquire(self) -> bool:
        """Take a slot now, or wait in the short queue for one; False when none came in time."""
        if self.in_flight < self.limits.max_in_flight and not self._waiters:
            self.in_flight += 1
            return True
        if len(self._waiters) >= self.limits.max_queue:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await self._wait_for_slot(waiter)
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return True  # the slot was handed over just as the wait ran out
            waiter.cancel()
            self._forget(waiter)
            return False
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot it will not use
            else:
                waiter.cancel()
                self._forget(waiter)
            raise
        return True

    async def _wait_for_slot(self, waiter: asyncio.Future[None]) -> None:
        """Wait `queue_ms`; the head of the queue keeps waiting (up to `_HEAD_WAIT_FACTOR` times as long).

        When requests are slow, slots free up less often than every `queue_ms`; if every waiter gave up
        by then, a freed slot would idle until the next arrival while arrivals are being refused. The
        head of the queue is the next to be served, so it waits on, and the slot never idles."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        budget = self.limits.queue_ms / 1000
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(waiter), budget)
                return
            except TimeoutError:
                waited = loop.time() - began
                head = bool(self._waiters) and self._waiters[0] is waiter
                if not head or waited >= budget * _HEAD_WAIT_FACTOR:
                    raise

    def _release(self) -> None:
        """Hand the slot straight to the longest waiter still waiting, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_flight -= 1

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.rejected += 1
        now = time.monotonic()
        if now - self._last_shedding_log > _SHEDDING_LOG_SECONDS:
            self._last_shedding_log = now
            log.warning(
                "overloaded: shedding requests (%d in flight, %d waiting, %d shed so far)",
                self.in_flight,
                len(self._waiters),
                self.rejected,
            )
        if wants_html(Request(scope)):
            body, content_type = self._rejection_html, b"text/html; charset=utf-8"
        else:
            body, content_type = self._rejection_json, b"application/json"
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(self.limits.retry_after_seconds).encode()),
            (b"cache-control", b"no-store"),
        ]
        if not await _drain_small_body(receive):
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _drain_small_body(receive: Receive) -> bool:
    """Read a small unread request body so the client's connection stays usable for its retry; a large
    one (an upload) is not read, and the connection is closed instead. True when drained."""
    received = 0
    while received <= _DRAIN_LIMIT_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return False
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


def _is_exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)
