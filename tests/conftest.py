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

import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.databases import Templates, shared_temp_dir
from yiwang.app import create_app
from yiwang.config import Settings
from yiwang.core.runtime import Runtime
from yiwang.demo.loader import DEMO_PASSWORD

PG_URL = os.environ.get("YIWANG_TEST_DATABASE_URL")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests are slow tests. Under pytest-xdist (`--dist loadgroup`) a module's tests stay
    together on one worker, in order, sharing their module fixtures, and the serial tests form one
    group, which goes first as it is among the longest. Otherwise each worker keeps the collection's
    order, so a test meets at most the records that the tests before it in a one-process run leave."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("xdist_group") is None:
            group = "serial" if item.get_closest_marker("serial") else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("serial") is None)


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
    if PG_URL:
        return make_settings(data_dir, templates.postgres_database(PG_URL))
    return make_settings(templates.migrated_data_dir(data_dir))


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


def token_for(client: TestClient, username: str, password: str = DEMO_PASSWORD, scope: str = "") -> str:
    response = client.post(
        "/api/auth/token", data={"grant_type": "password", "username": username, "password": password, "scope": scope}
    )
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
    """Log in through the form like a browser; returns the session's CSRF token."""
    page = client.get("/login", headers={"accept": "text/html"})
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text), "next": "/"},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/", headers={"accept": "text/html"})
    return csrf_from(home.text)


@pytest.fixture
def admin_headers(client: TestClient) -> dict[str, str]:
    return bearer(client, "admin")


def run_cli(runtime: Runtime, *args: str):
    """Invoke the `yiwang` command against the test database, as an operator would."""
    from typer.testing import CliRunner

    from yiwang.cli import app as cli_app
    from yiwang.config import get_settings

    settings = runtime.settings
    env = {
        "YIWANG_DATA_DIR": str(settings.data_dir),
        "YIWANG_DATABASE_URL": settings.resolved_database_url,
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
    """The test app served by uvicorn on a free loopback port, in a thread, for real clients and browsers."""
    port = free_port()
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
