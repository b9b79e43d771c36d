"""Helpers for the OpenID Connect tests: registering clients, a person's browser without a browser,
PKCE pairs, and the example relying party served on its own port."""

import base64
import hashlib
import html
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import uvicorn

from tests.conftest import free_port
from yiwang.core.permissions import registry
from yiwang.core.security import Principal
from yiwang.demo.loader import DEMO_PASSWORD
from yiwang.identity import service as identity
from yiwang.identity.schemas import ClientCreate, ClientCreated

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import oidc_rp

ADMIN = Principal(
    user_id=None, username="test:admin", display_name="测试", kind="system", permissions=frozenset(registry.permissions)
)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
META_REFRESH = re.compile(r'<meta http-equiv="refresh" content="\d+;url=([^"]+)"')


@pytest.fixture(autouse=True, scope="session")
def _loopback_http_for_oauthlib() -> None:
    """oauthlib refuses plain http; the tests talk to loopback servers only."""
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def register(runtime, **fields) -> ClientCreated:
    """Register a client straight through the service, as the administrator."""
    values = {"name": "测试应用", "redirect_uris": ["http://127.0.0.1:9/cb"]} | fields
    with runtime.db.unit_of_work() as db:
        return identity.create_client(db, actor=ADMIN, data=ClientCreate(**values))


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(created: ClientCreated, challenge: str | None, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": created.client.client_id,
        "redirect_uri": created.client.redirect_uris[0],
        "scope": " ".join(s for s in created.client.scopes if s != "offline_access"),
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return params | extra


def redirect_target(response) -> str | None:
    """Where an answer sends the browser: a Location header, or a page's meta refresh."""
    if response.status_code in (301, 302, 303) and "location" in response.headers:
        return response.headers["location"]
    found = META_REFRESH.search(response.text) if response.status_code == 200 else None
    return html.unescape(found.group(1)) if found else None


def hidden_fields(page: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in HIDDEN.findall(page)}


def code_from(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(client, params: dict[str, str], *, consent: bool = True) -> dict[str, str]:
    """As a signed-in person: authorize, consent if asked, and return the redirect's parameters."""
    response = client.get("/oidc/authorize", params=params, headers={"accept": "text/html"}, follow_redirects=False)
    if response.status_code == 200 and 'name="decision"' in response.text and consent:
        response = client.post(
            "/oidc/authorize",
            data=hidden_fields(response.text) | {"decision": "allow"},
            headers={"accept": "text/html"},
            follow_redirects=False,
        )
    target = redirect_target(response)
    assert target and target.startswith(params["redirect_uri"]), (response.status_code, response.text[:500])
    return code_from(target)


class Person:
    """A person's browser without a browser: cookies, redirects, meta refreshes and the two forms
    (login, consent) filled in like the person would."""

    def __init__(self, username: str, password: str = DEMO_PASSWORD) -> None:
        self.username, self.password = username, password
        self.http = httpx.Client(timeout=20, follow_redirects=False)

    def visit(self, url: str, *, consent: str = "allow", max_hops: int = 20) -> httpx.Response:
        response = self.http.get(url)
        for _ in range(max_hops):
            target = redirect_target(response)
            page = response.text if response.status_code in (200, 401, 403) else ""
            if target:
                response = self.http.get(urljoin(str(response.url), target))
            elif 'action="/login"' in page and 'name="username"' in page:
                fields = hidden_fields(page) | {"username": self.username, "password": self.password}
                response = self.http.post(urljoin(str(response.url), "/login"), data=fields)
            elif 'name="decision"' in page:
                fields = hidden_fields(page) | {"decision": consent}
                response = self.http.post(urljoin(str(response.url), "/oidc/authorize"), data=fields)
            else:
                return response
        raise AssertionError("too many redirects")

    def close(self) -> None:
        self.http.close()


class ServedApp:
    """A Starlette app served by uvicorn in a thread on a free loopback port."""

    def __init__(self, app, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("relying party did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def relying_party(runtime, live_url) -> Iterator:
    """Factory: the example relying party on its own port, registered at the live yiwang."""
    served: list[ServedApp] = []

    def make(name: str = "部门应用", scope: str = "openid profile", **fields) -> oidc_rp.RelyingParty:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        created = register(
            runtime,
            name=name,
            redirect_uris=[f"{base}/cb"],
            post_logout_redirect_uris=[f"{base}/"],
            scopes=scope.split(),
            backchannel_logout_uri=f"{base}/backchannel-logout",
            **fields,
        )
        rp = oidc_rp.RelyingParty(
            issuer=live_url,
            client_id=created.client.client_id,
            client_secret=created.client_secret,
            base_url=base,
            scope=scope,
        )
        app = ServedApp(oidc_rp.create_app(rp), port)
        served.append(app)
        return rp

    yield make
    for app in served:
        app.stop()


def wait_for(predicate, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()
