"""Shared fixtures: one database per test session and worker (SQLite, or PostgreSQL when
YIWANG_TEST_DATABASE_URL is set), the app on it, and helpers to log in as the demo accounts."""

import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.databases import Templates, shared_temp_dir
from tests.second_factor import fresh_code, remember_secret
from yiwang.app import create_app
from yiwang.config import Settings
from yiwang.core.runtime import Runtime
from yiwang.demo.loader import DEMO_PASSWORD
from yiwang.org.auth import SESSION_COOKIE

PG_URL = os.environ.get("YIWANG_TEST_DATABASE_URL")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests are slow tests. Under pytest-xdist (`--dist loadgroup`) a module's tests stay
    together on one worker, in order, sharing their module fixtures, and the serial tests form one
    group, which goes first as it is among the longest (the page crawl at its head). Otherwise each
    worker keeps the collection's order, so a test meets at most the records that the tests before it
    in a one-process run leave."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("xdist_group") is None:
            group = "serial" if item.get_closest_marker("serial") else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))
    if hasattr(config, "workerinput"):
        # The page crawl first of all: it reads the demo as loaded, before other tests add records.
        items.sort(
            key=lambda item: (item.get_closest_marker("crawl") is None, item.get_closest_marker("serial") is None)
        )


# Argon2's lowest cost: hundreds of logins would otherwise each spend the production cost.
TEST_PASSWORD_COST = {"password_time_cost": 1, "password_memory_kib": 32}


def make_settings(data_dir: Path, database_url: str | None = None, **overrides: object) -> Settings:
    """Test settings: demo mode with the small demo and cheap password hashing, unless overridden.
    The crypto profile is YIWANG_CRYPTO_PROFILE's (intl by default): the suite runs in both."""
    defaults: dict[str, object] = {
        "crypto_profile": os.environ.get("YIWANG_CRYPTO_PROFILE", "intl"),
        "run_jobs_in_process": False,
        "demo": True,
        "demo_on_first_start": True,
        "demo_size": "small",
        **TEST_PASSWORD_COST,
    }
    return Settings(data_dir=data_dir, database_url=database_url, **(defaults | overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    return Templates(shared_temp_dir(tmp_path_factory) / "templates")


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Settings:
    """The session's platform: this worker's own database (PostgreSQL when YIWANG_TEST_DATABASE_URL
    is set, else SQLite) and data directory."""
    data_dir = tmp_path_factory.mktemp("yiwang-data")
    # The address live_url serves on, chosen now so that what the platform publishes (the OpenID
    # Connect issuer among others) names the server real clients reach.
    public_url = f"http://127.0.0.1:{free_port()}"
    if PG_URL:
        return make_settings(data_dir, templates.postgres_database(PG_URL), public_url=public_url)
    return make_settings(templates.migrated_data_dir(data_dir), public_url=public_url)


@pytest.fixture(scope="session")
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture(scope="session")
def runtime(app) -> Runtime:
    return app.state.runtime


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def anon(app) -> Iterator[TestClient]:
    """A second, independent client (its own cookies)."""
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def unique(prefix: str = "t") -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def database_of(client: TestClient | httpx.Client) -> str:
    """The database behind a client: the app's for a TestClient, else the server's address."""
    app = getattr(client, "app", None)
    return app.state.settings.resolved_database_url if app is not None else str(client.base_url)


# Tokens and sessions of accounts that log in with a second factor, kept per database (see
# tests/second_factor.py: each time step is accepted once, so codes cannot be typed for every login).
_second_factor_tokens: dict[tuple[str, str, str, str], str] = {}
_second_factor_sessions: dict[tuple[str, str, str], str] = {}


def token_for(client: TestClient, username: str, password: str = DEMO_PASSWORD, scope: str = "") -> str:
    """A password-grant token; for an account with a second factor, with a code of its secret (the
    demo administrators' published one), reusing a live token this process obtained before."""
    key = (database_of(client), username.lower(), password, scope)
    kept = _second_factor_tokens.get(key)
    if kept and client.get("/api/auth/me", headers={"Authorization": f"Bearer {kept}"}).status_code == 200:
        return kept
    data = {"grant_type": "password", "username": username, "password": password, "scope": scope}
    response = client.post("/api/auth/token", data=data)
    if response.status_code == 401 and response.json()["error"]["code"] == "mfa_required":
        data["otp"] = fresh_code(database_of(client), username)
        response = client.post("/api/auth/token", data=data)
        assert response.status_code == 200, response.text
        _second_factor_tokens[key] = response.json()["access_token"]
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(client, username, password)}"}


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def page_login(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """Log in through the form like a browser; returns the session's CSRF token. An account with a
    second factor types a code on the second page (or reuses a live session of this process)."""
    html = {"accept": "text/html"}
    key = (database_of(client), username.lower(), password)
    kept = _second_factor_sessions.get(key)
    client.cookies.delete(SESSION_COOKIE)
    if kept:
        client.cookies.set(SESSION_COOKIE, kept)
        if client.get("/api/auth/me").status_code == 200:
            return csrf_from(client.get("/", headers=html).text)
        client.cookies.delete(SESSION_COOKIE)
    page = client.get("/login", headers=html)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text), "next": "/"},
        headers=html,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    if response.headers["location"] == "/login/second-factor":
        second = client.get("/login/second-factor", headers=html)
        code = fresh_code(database_of(client), username)
        response = client.post(
            "/login/second-factor",
            data={"code": code, "csrf_token": csrf_from(second.text)},
            headers=html,
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        _second_factor_sessions[key] = client.cookies[SESSION_COOKIE]
    home = client.get("/", headers=html)
    return csrf_from(home.text)


TOTP_SECRET_ON_PAGE = re.compile(r'id="totp-secret">([A-Z2-7]+)<')


def enrol_through_pages(client: TestClient, username: str, password: str) -> str:
    """Log in as an account whose role requires a second factor it lacks, enrol an authenticator on
    the page it is sent to (reading the secret shown beside the QR code), and return the secret.
    The client is then logged in with a full session."""
    html = {"accept": "text/html"}
    client.cookies.delete(SESSION_COOKIE)
    page = client.get("/login", headers=html)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text), "next": "/"},
        headers=html,
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/account/second-factor", response.text
    started = client.post(
        "/account/second-factor/start", data={"csrf_token": csrf_from(client.get("/", headers=html).text)}, headers=html
    )
    assert started.status_code == 200, started.text
    secret = TOTP_SECRET_ON_PAGE.search(started.text)
    assert secret, "the enrolment page shows no secret"
    confirmed = client.post(
        "/account/second-factor/confirm",
        data={"csrf_token": csrf_from(started.text), "code": fresh_code(database_of(client), username, secret[1])},
        headers=html,
    )
    assert confirmed.status_code == 200 and "恢复码" in confirmed.text, confirmed.text
    remember_secret(database_of(client), username, secret[1])
    return secret[1]


@pytest.fixture
def admin_headers(client: TestClient) -> dict[str, str]:
    """The system administrator (系统管理员)."""
    return bearer(client, "admin")


@pytest.fixture
def auditor_headers(client: TestClient) -> dict[str, str]:
    """The audit administrator (审计管理员): the only one who reads the audit log."""
    return bearer(client, "auditor")


@pytest.fixture
def security_headers(client: TestClient) -> dict[str, str]:
    """The security administrator (安全管理员): roles, authorisation, second-factor rules."""
    return bearer(client, "secadmin")


def run_cli(runtime: Runtime, *args: str):
    """Invoke the `yiwang` command against the test database, as an operator would."""
    from typer.testing import CliRunner

    from yiwang.cli import app as cli_app
    from yiwang.config import get_settings

    settings = runtime.settings
    env = {
        "YIWANG_DATA_DIR": str(settings.data_dir),
        "YIWANG_DATABASE_URL": settings.resolved_database_url,
        "YIWANG_PUBLIC_URL": settings.public_url,
        "YIWANG_DEMO": "1" if settings.demo else "0",
        "YIWANG_DEMO_SIZE": settings.demo_size,
        "YIWANG_PASSWORD_TIME_COST": str(settings.password_time_cost),
        "YIWANG_PASSWORD_MEMORY_KIB": str(settings.password_memory_kib),
    }
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli_app, list(args), env=env)
    finally:
        get_settings.cache_clear()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless as root, with nothing that reaches beyond this machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_url(app) -> Iterator[str]:
    """The test app served by uvicorn on its public address (a free loopback port), in a thread, for
    real clients and browsers."""
    port = urlsplit(app.state.settings.public_url).port
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
