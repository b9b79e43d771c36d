"""A provider department's HTTP service for the mediation tests, served by uvicorn on a free port.

It verifies every request's RFC 9421 signature itself, with the `http-message-signatures` library and
the platform's published key — independently of the platform's own signing code — and keeps what it
saw so the tests can look."""

import asyncio
import threading
import time
from dataclasses import dataclass, field

import http_message_signatures as hms
import httpx
import uvicorn
from http_message_signatures.structures import CaseInsensitiveDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.conftest import free_port
from tests.exchange import signature_profile
from yiwang.core.crypto import INTL


@dataclass
class Seen:
    method: str
    url: str
    headers: dict[str, str]
    body_size: int
    body_sha256: str
    verified: bool
    verify_error: str = ""
    covered: dict[str, str] = field(default_factory=dict)


class _Message:
    def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.method, self.url, self.headers = method, url, CaseInsensitiveDict(headers)


class Provider:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.public_keys: dict[str, bytes] = {}  # key id → PEM, fetched from the platform
        self.fail_status = 503
        self.failing = False
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None

    def load_keys(self, platform_url: str) -> None:
        keys = httpx.get(f"{platform_url}/api/exchange/message-keys").json()
        self.public_keys = {k["key_id"]: k["pem"].encode() for k in keys}

    def _verify(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[bool, str, dict]:
        provider = self

        class Keys(hms.HTTPSignatureKeyResolver):
            def resolve_public_key(self, key_id: str):
                return provider.public_keys.get(key_id)

        verifier = signature_profile.verifier(Keys())
        try:
            results = verifier.verify(
                _Message(method, url, headers),
                expect_tag="yiwang-request",
                require_components=("@method", "@target-uri", "content-digest", "x-yiwang-consumer"),
                body=body,
            )
        except Exception as exc:  # the test reads the reason
            return False, f"{type(exc).__name__}: {exc}", {}
        return True, "", results[0].covered_components

    async def _record(self, request: Request, body: bytes, size: int, sha: str) -> Seen:
        headers = dict(request.headers)
        raw = request.scope["raw_path"].decode("latin-1")  # the target URI as sent, still percent-encoded
        url = f"{request.url.scheme}://{request.url.netloc}{raw}" + (
            f"?{request.url.query}" if request.url.query else ""
        )
        verified, error, covered = (False, "not checked", {})
        if body is not None:
            verified, error, covered = self._verify(request.method, url, headers, body)
        seen = Seen(request.method, url, headers, size, sha, verified, error, covered)
        self.seen.append(seen)
        return seen

    async def person(self, request: Request) -> Response:
        body = await request.body()
        await self._record(request, body, len(body), INTL.hexdigest(body))
        if self.failing:
            return JSONResponse({"down": True}, status_code=self.fail_status)
        return JSONResponse({"id": request.path_params["person_id"], "name": "王**", "query": request.url.query})

    async def echo(self, request: Request) -> Response:
        body = await request.body()
        await self._record(request, body, len(body), INTL.hexdigest(body))
        return Response(body[::-1], media_type="application/octet-stream", headers={"X-Provider": "echo"})

    async def upload(self, request: Request) -> Response:
        """Counts and hashes a large body as it streams in (signature checked on the header fields only)."""
        hasher = INTL.counting_hasher()
        async for chunk in request.stream():
            hasher.update(chunk)
        seen = await self._record(request, None, hasher.size, hasher.digest().hex())
        return JSONResponse({"size": seen.body_size, "sha256": seen.body_sha256})

    async def download(self, request: Request) -> Response:
        size = int(request.query_params["size"])
        block = bytes(range(256)) * 256

        async def blocks():
            sent = 0
            while sent < size:
                part = block[: min(len(block), size - sent)]
                sent += len(part)
                yield part

        await self._record(request, None, 0, "")
        return StreamingResponse(blocks(), media_type="application/octet-stream", headers={"Content-Length": str(size)})

    async def slow(self, request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("seconds", "2")))
        return JSONResponse({"slow": True})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/persons/{person_id}", self.person, methods=["GET"]),
                Route("/v1/echo", self.echo, methods=["POST"]),
                Route("/v1/upload", self.upload, methods=["PUT"]),
                Route("/v1/download", self.download, methods=["GET"]),
                Route("/v1/slow", self.slow, methods=["GET"]),
            ]
        )

    def start(self) -> "Provider":
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        threading.Thread(target=self.server.run, daemon=True).start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("provider did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True


OPERATIONS = [
    {"id": "getPerson", "method": "GET", "path": "/persons/{person_id}"},
    {"id": "echo", "method": "POST", "path": "/echo"},
    {"id": "upload", "method": "PUT", "path": "/upload"},
    {"id": "download", "method": "GET", "path": "/download"},
    {"id": "slow", "method": "GET", "path": "/slow"},
]
