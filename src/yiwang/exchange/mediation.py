"""Forwarding a mediated call (服务中介): `/x/{service}/{path}` → the provider, and its answer back.

A call touches the database twice, each time in a worker thread: once to authenticate the caller
(which also reads the version of the services and grants, `directory`), and once to commit its
record in the message log — shared with the calls that finish at the same time (`log_writer`).
Admission itself is decided in memory (`gateway`); the rest awaits the network, so the event loop
is never blocked. Both bodies pass through a `Spool`: held in
memory up to `mediation_spool_memory_bytes`, beyond that in a temporary file written and read in
worker threads — never whole in memory. A body is hashed as it arrives, because its Content-Digest
(RFC 9530) goes in the signed header before the body: the request is forwarded once the consumer has
sent all of it, and the answer is returned once the provider has sent all of it and the call is logged.
"""

import asyncio
import contextvars
import functools
import math
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from weakref import WeakKeyDictionary

import httpx
from fastapi import Request
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from yiwang.core.errors import AppError
from yiwang.core.httpsig import MessageSignature, content_digest, sign_request, sign_response
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal, get_current_user, get_principal
from yiwang.core.timeutil import utcnow
from yiwang.exchange import counters, gateway, message_log
from yiwang.exchange.breaker import Breakers
from yiwang.exchange.counters import Counters
from yiwang.exchange.directory import Directory, DirectoryCache
from yiwang.exchange.log_writer import LogWriter
from yiwang.exchange.message_keys import MessageKeys
from yiwang.exchange.spool import CHUNK, Spool

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "transfer-encoding", "upgrade",
}  # fmt: skip
# The consumer's credentials never reach the provider; the platform's own fields are set by it alone.
OWN_FIELDS = {
    "content-length", "content-digest", "signature", "signature-input", "x-yiwang-call", "x-yiwang-consumer",
    "x-yiwang-grant", "x-yiwang-operation", "x-yiwang-service",
}  # fmt: skip
DROP_REQUEST = HOP_BY_HOP | OWN_FIELDS | {"host", "authorization", "cookie", "x-api-key", "x-csrf-token"}
DROP_RESPONSE = HOP_BY_HOP | OWN_FIELDS | {"set-cookie", "x-request-id"}
REQUEST_COMPONENTS = (
    "@method", "@target-uri", "content-digest", "x-yiwang-call", "x-yiwang-consumer", "x-yiwang-grant",
    "x-yiwang-operation",
)  # fmt: skip
RESPONSE_COMPONENTS = (
    "@status",
    "content-digest",
    "x-yiwang-call",
    "x-yiwang-service",
    '"@method";req',
    '"@target-uri";req',
)
REQUEST_TAG = "yiwang-request"
RESPONSE_TAG = "yiwang-response"


class CircuitOpen(AppError):
    status_code = 503
    code = "circuit_open"
    message = "服务提供方连续失败，已暂时熔断，请稍后再试"


class ProviderUnreachable(AppError):
    status_code = 502
    code = "provider_unreachable"
    message = "无法连接服务提供方"


class ProviderTimeout(AppError):
    status_code = 504
    code = "provider_timeout"
    message = "服务提供方响应超时"


class BodyTooLarge(AppError):
    status_code = 502
    code = "provider_response_too_large"
    message = "服务提供方的响应超过平台允许的大小"


@dataclass(frozen=True)
class MediatedCaller:
    """The authenticated caller and the services and grants as of its authenticating transaction."""

    principal: Principal
    directory: Directory


class Gateway:
    """The per-process parts of mediation: the message key, the copy of the services and grants, the
    rate and quota figures, the breakers, the log's group commit and the HTTP clients."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.keys = MessageKeys(runtime.keyring)
        self.suite = runtime.keyring.suite
        self.breakers = Breakers()
        self.directory = DirectoryCache()
        self.counters = Counters()
        # Threads of mediation's own: its two hops to the database per call do not queue behind other
        # routes' work, and a hand-off to them costs less than to the shared pool. One writer: the
        # log's appends serialise on its head anyway.
        self._readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mediation-auth")
        self._writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mediation-log")
        self.writer = LogWriter(self._write, self._writer_thread)
        self._clients: WeakKeyDictionary[Any, httpx.AsyncClient] = WeakKeyDictionary()

    def client(self) -> httpx.AsyncClient:
        """One pooled client per event loop (a test client may run several loops, one after another)."""
        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is None:
            limits = httpx.Limits(
                max_connections=self.settings.mediation_max_connections,
                max_keepalive_connections=self.settings.mediation_max_connections,
                keepalive_expiry=30,
            )
            found = self._clients[loop] = httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)
        return found

    async def caller(self, request: Request, service_code: str) -> MediatedCaller:
        """`authenticate` in one of mediation's threads, with the request's context."""
        run = functools.partial(contextvars.copy_context().run, self.authenticate, request, service_code)
        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    def authenticate(self, request: Request, service_code: str) -> MediatedCaller:
        """The caller (as every route has it), the services and grants as of now, and the stored quota
        figures this process has not read yet — in one short transaction.

        A token or API key is resolved in a read transaction (on SQLite one of the reader connections,
        which neither wait for the writer nor hold it up, and the log's writer is busy); only when that
        leaves something to write — the credential's last use, recorded about once a minute, or a
        password or session sign-in — is it done again in a writing one."""
        if _token_sent(request):
            with self.runtime.db.read_only() as db, db.no_autoflush:
                principal = get_current_user(request, get_principal(request, db))
                if not (db.dirty or db.new or db.deleted):
                    return self._admission_view(db, principal, service_code)
            request.state.principal = None  # resolved again below, where its change can be written
        with self.runtime.db.unit_of_work() as db:
            principal = get_current_user(request, get_principal(request, db))
            return self._admission_view(db, principal, service_code)

    def _admission_view(self, db: Session, principal: Principal, service_code: str) -> MediatedCaller:
        directory = self.directory.current(db)
        windows = gateway.quota_windows(
            directory, service_code=service_code, department_id=principal.department_id, now=utcnow()
        )
        self.counters.load(db, self.counters.unknown(windows))
        return MediatedCaller(principal, directory)

    def _write(self, entries: list[message_log.Entry]) -> None:
        """One group commit: the calls' records and the calls they add to the counters."""
        taken = self.counters.drain()
        try:
            with self.runtime.db.unit_of_work() as db:
                message_log.append_many(db, entries=entries, hash_name=self.suite.hash_name, keys=self.keys)
                totals = counters.save(db, taken)
        except BaseException:
            self.counters.give_back(taken)
            raise
        self.counters.settle(totals)


def _token_sent(request: Request) -> bool:
    scheme = request.headers.get("authorization", "").partition(" ")[0].lower()
    return scheme == "bearer" or (not scheme and "x-api-key" in request.headers)


async def gateway_of(request: Request) -> Gateway:
    """The app's gateway, made on first use. A coroutine on purpose: it only reads the app's state, and
    being one saves each call a hop to the thread pool; on the event loop two first uses cannot race."""
    state = request.app.state
    if getattr(state, "exchange_gateway", None) is None:
        state.exchange_gateway = Gateway(state.runtime)
    found: Gateway = state.exchange_gateway
    return found


def _record(
    start: gateway.CallStart, admitted: gateway.Admitted, started: float, **fields: Any
) -> message_log.CallRecord:
    return message_log.CallRecord(
        call_id=start.call_id,
        received_at=start.received_at,
        duration_ms=(time.perf_counter() - started) * 1000,
        service_code=admitted.service_code,
        operation_id=admitted.operation_id,
        method=start.method,
        path=start.path[:1000],
        query=start.query[:1000],
        provider_department_id=admitted.provider_department_id,
        consumer_department_id=admitted.consumer_department_id,
        caller_id=start.caller.user_id,
        caller_name=start.caller.username,
        grant_id=admitted.grant_id,
        **fields,
    )


def _raw_path(request: Request, service_code: str, path: str) -> str:
    """The path as the consumer sent it, still percent-encoded (an encoded `/` stays one segment)."""
    raw = request.scope.get("raw_path")
    prefix = f"/x/{service_code}".encode()
    if isinstance(raw, bytes) and raw.startswith(prefix + b"/"):
        return raw[len(prefix) :].decode("latin-1")
    return quote(path, safe="/:@!$&'()*+,;=-._~")


def _consumer_url(request: Request) -> str:
    """The URL the consumer called, its path as sent (percent-encoded, as RFC 9421's @target-uri is)."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else quote(request.url.path)
    query = request.url.query
    return f"{request.url.scheme}://{request.url.netloc}{path}" + (f"?{query}" if query else "")


def _forward_headers(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.headers.items() if k.lower() not in DROP_REQUEST]


async def forward(gw: Gateway, request: Request, *, caller: MediatedCaller, service_code: str, path: str) -> Response:
    """Admit, forward, sign, log and answer one call; refusals and failures raise in the error shape."""
    started = time.perf_counter()
    start = gateway.CallStart(
        call_id=secrets.token_hex(12),
        received_at=utcnow(),
        service_code=service_code,
        method=request.method,
        path="/" + path,
        query=request.url.query,
        caller=caller.principal,
    )
    try:
        admitted = gateway.admit(caller.directory, gw.counters, start=start)
    except gateway.Refused as refused:
        if refused.record is not None:
            await gw.writer.commit(message_log.Entry(refused.record))
        raise refused.error from None
    breaker = gw.breakers.get(
        admitted.service_code, threshold=admitted.breaker_failures, reset_seconds=admitted.breaker_reset_s
    )
    wait = breaker.admit()
    if wait is not None:
        refusal = CircuitOpen(details={"retry_after_seconds": max(1, math.ceil(wait))})
        record = _record(start, admitted, started, outcome="refused", status_code=503, error_code=refusal.code)
        await gw.writer.commit(message_log.Entry(record))
        raise refusal
    memory = gw.settings.mediation_spool_memory_bytes
    outgoing, answer = Spool(gw.suite.counting_hasher(), memory), Spool(gw.suite.counting_hasher(), memory)
    try:
        async for chunk in request.stream():
            await outgoing.write(chunk)
        target = (
            admitted.base_url
            + _raw_path(request, service_code, start.path)
            + (f"?{start.query}" if start.query else "")
        )
        headers = dict(_forward_headers(request)) | {
            "Content-Digest": outgoing.finish(),
            "X-Yiwang-Call": start.call_id,
            "X-Yiwang-Consumer": admitted.consumer_code,
            "X-Yiwang-Grant": str(admitted.grant_id),
            "X-Yiwang-Operation": admitted.operation_id,
        }
        key_id, key = gw.keys.current()
        components = REQUEST_COMPONENTS + (("content-type",) if "content-type" in request.headers else ())
        signed = sign_request(
            key=key, key_id=key_id, method=start.method, url=target, headers=headers, components=components,
            tag=REQUEST_TAG, created=utcnow(),
        )  # fmt: skip
        headers |= {"Signature-Input": signed.signature_input, "Signature": signed.signature}
        if outgoing.size or start.method not in ("GET", "HEAD", "OPTIONS", "DELETE"):
            headers["Content-Length"] = str(outgoing.size)
        status, provider_headers = await _exchange(gw, admitted, start, target, headers, outgoing, answer)
    except (ProviderTimeout, ProviderUnreachable, BodyTooLarge) as failure:
        breaker.failed()
        record = _record(
            start, admitted, started, outcome="failed", status_code=failure.status_code, error_code=failure.code,
            request_digest=headers["Content-Digest"], request_bytes=outgoing.size, key_id=key_id,
            request_signature_input=signed.signature_input, request_signature=signed.signature,
            request_signature_base=signed.signature_base,
        )  # fmt: skip
        outgoing.close()
        answer.close()
        await gw.writer.commit(message_log.Entry(record))
        raise
    except BaseException:
        outgoing.close()
        answer.close()
        raise
    if status in (502, 503, 504):
        breaker.failed()
    else:
        breaker.succeeded()
    response_headers = provider_headers | {
        "Content-Digest": answer.finish(),
        "X-Yiwang-Call": start.call_id,
        "X-Yiwang-Service": admitted.service_code,
    }
    has_type = any(k.lower() == "content-type" for k in provider_headers)
    reply = sign_response(
        key=key, key_id=key_id, status=status, headers=response_headers, request_method=start.method,
        request_url=_consumer_url(request), components=RESPONSE_COMPONENTS + (("content-type",) if has_type else ()),
        tag=RESPONSE_TAG, created=utcnow(),
    )  # fmt: skip
    response_headers |= {"Signature-Input": reply.signature_input, "Signature": reply.signature}
    keep = _kept(gw, admitted, outgoing, answer)
    record = _answered(start, admitted, started, status, outgoing, answer, key_id, signed, reply, keep)
    try:
        await gw.writer.commit(message_log.Entry(record, *(keep or (None, None))))
    except BaseException:
        outgoing.close()
        answer.close()
        raise
    outgoing.close()
    response_headers["Content-Length"] = str(answer.size)
    held = answer.in_memory()
    if held is not None:  # a small answer is already here: sent at once, with nothing left to clean up
        return Response(held, status_code=status, headers=response_headers)
    return StreamingResponse(
        answer.chunks(), status_code=status, headers=response_headers, background=BackgroundTask(answer.close)
    )


def _kept(
    gw: Gateway, admitted: gateway.Admitted, outgoing: Spool, answer: Spool
) -> tuple[bytes | None, bytes | None] | None:
    """Both bodies, when the service keeps bodies and both are small enough to keep."""
    limit = gw.settings.mediation_keep_body_bytes
    if not admitted.keep_bodies or outgoing.size > limit or answer.size > limit:
        return None
    request_body, response_body = outgoing.in_memory(), answer.in_memory()
    if request_body is None or response_body is None:
        return None
    return request_body or None, response_body or None


def _answered(
    start: gateway.CallStart,
    admitted: gateway.Admitted,
    started: float,
    status: int,
    outgoing: Spool,
    answer: Spool,
    key_id: str,
    signed: MessageSignature,
    reply: MessageSignature,
    keep: tuple[bytes | None, bytes | None] | None,
) -> message_log.CallRecord:
    return _record(
        start, admitted, started, outcome="answered", status_code=status,
        request_digest=content_digest(outgoing.hasher.name, outgoing.digest),
        response_digest=content_digest(answer.hasher.name, answer.digest),
        request_bytes=outgoing.size, response_bytes=answer.size, key_id=key_id,
        request_signature_input=signed.signature_input, request_signature=signed.signature,
        request_signature_base=signed.signature_base, response_signature_input=reply.signature_input,
        response_signature=reply.signature, response_signature_base=reply.signature_base,
        bodies_kept=keep is not None,
    )  # fmt: skip


async def _exchange(
    gw: Gateway,
    admitted: gateway.Admitted,
    start: gateway.CallStart,
    target: str,
    headers: dict[str, str],
    outgoing: Spool,
    answer: Spool,
) -> tuple[int, dict[str, str]]:
    """Send the request and read the whole answer into its spool; the provider's status and fields."""
    timeout = httpx.Timeout(
        connect=admitted.connect_timeout_s, read=admitted.read_timeout_s, write=admitted.read_timeout_s,
        pool=admitted.connect_timeout_s,
    )  # fmt: skip
    client = gw.client()
    limit = gw.settings.mediation_max_body_bytes
    upstream_request = client.build_request(
        start.method, target, headers=headers, content=outgoing.chunks() if outgoing.size else b"", timeout=timeout
    )
    try:
        upstream = await client.send(upstream_request, stream=True)
        try:
            async for chunk in upstream.aiter_raw(CHUNK):
                await answer.write(chunk)
                if answer.size > limit:
                    raise BodyTooLarge(details={"limit_bytes": limit})
        finally:
            await upstream.aclose()
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(details={"service": admitted.service_code, "after": type(exc).__name__}) from exc
    except httpx.HTTPError as exc:
        raise ProviderUnreachable(details={"service": admitted.service_code, "error": type(exc).__name__}) from exc
    kept = {k: v for k, v in upstream.headers.items() if k.lower() not in DROP_RESPONSE}
    return upstream.status_code, kept
