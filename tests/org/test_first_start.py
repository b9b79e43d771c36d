"""A default install: no published logins, a first administrator who must change the password,
demo mode only when asked for and then announced, and a data directory only the platform can read."""

import logging
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import database_of, enrol_through_pages, make_settings, run_cli
from tests.second_factor import fresh_code
from yiwang import bootstrap
from yiwang.app import create_app
from yiwang.config import DEMO_NOTICE, Settings
from yiwang.core.runtime import Runtime
from yiwang.demo.loader import DEMO_ACCOUNTS, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD


@pytest.fixture(scope="module")
def fresh_app(tmp_path_factory, templates):
    """A new platform on its defaults: demo mode off (SQLite in its own data directory)."""
    settings = make_settings(templates.migrated_data_dir(tmp_path_factory.mktemp("fresh-install")), demo=False)
    app = create_app(settings)
    yield app
    app.state.runtime.db.dispose()


@pytest.fixture
def fresh(fresh_app):
    with TestClient(fresh_app, base_url="http://testserver") as test_client:
        yield test_client


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_demo_mode_is_off_unless_asked_for(monkeypatch):
    monkeypatch.delenv("YIWANG_DEMO", raising=False)
    assert Settings(_env_file=None).demo is False
    monkeypatch.setenv("YIWANG_DEMO", "1")
    assert Settings(_env_file=None).demo is True


def test_a_default_install_has_no_published_logins(fresh):
    for account in DEMO_ACCOUNTS:
        refused = fresh.post(
            "/api/auth/token", data={"grant_type": "password", "username": account.username, "password": DEMO_PASSWORD}
        )
        assert refused.status_code == 401, account.username
    client_grant = fresh.post(
        "/api/auth/token",
        data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
    )
    assert client_grant.status_code == 401
    # The city's reference organisation is there; the demo's sub-units and accounts are not.
    runtime = fresh.app.state.runtime
    from yiwang.org import service

    with runtime.db.unit_of_work() as db:
        codes = {d.code for d in service.list_departments(db)}
        assert {"DSJ", "CGJ"} <= codes and "CGJ_ZFDD" not in codes
        assert [a for a in service.list_accounts(db) if a.username != "admin"] == []


def test_a_default_install_shows_no_demo_banner(fresh, client):
    assert DEMO_NOTICE not in fresh.get("/login", headers={"accept": "text/html"}).text
    assert DEMO_NOTICE in client.get("/login", headers={"accept": "text/html"}).text
    assert DEMO_NOTICE in client.get("/", headers={"accept": "text/html"}).text


def test_demo_mode_is_announced_at_start(runtime, caplog):
    with caplog.at_level(logging.WARNING, logger="yiwang.bootstrap"):
        bootstrap.prepare(runtime)
    assert DEMO_NOTICE in caplog.text


def test_demo_data_cannot_be_loaded_outside_demo_mode(fresh):
    result = run_cli(fresh.app.state.runtime, "demo", "load")
    assert result.exit_code == 1 and "YIWANG_DEMO" in result.output


def test_a_database_holding_the_demo_is_refused_outside_demo_mode(settings):
    runtime = Runtime.build(settings.model_copy(update={"demo": False}))
    try:
        with pytest.raises(bootstrap.DemoDataWithoutDemoMode):
            bootstrap.prepare(runtime)
    finally:
        runtime.db.dispose()


def test_first_administrator_enrols_a_second_factor_then_changes_the_one_time_password(fresh):
    runtime = fresh.app.state.runtime
    username, password = bootstrap.ensure_initial_admin(runtime)
    assert bootstrap.ensure_initial_admin(runtime) is None  # only once
    data = {"grant_type": "password", "username": username, "password": password}
    refused = fresh.post("/api/auth/token", data=data)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "mfa_enrolment_required"
    # The password alone opens the enrolment page and nothing else; enrolment comes first.
    secret = enrol_through_pages(fresh, username, password)
    token = fresh.post("/api/auth/token", data=data | {"otp": fresh_code(database_of(fresh), username, secret)})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    me = fresh.get("/api/auth/me", headers=headers)
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    for path in ("/api/org/users", "/api/org/departments"):
        blocked = fresh.get(path, headers=headers)
        assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "password_change_required", path
    assert fresh.post("/api/auth/api-keys", headers=headers).status_code == 403
    # Pages (the session the enrolment opened) send it to the change-password page.
    for path in ("/workbench", "/admin/users", "/account"):
        page = fresh.get(path, headers={"accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/account/password", path
    form = fresh.get("/account/password", headers={"accept": "text/html"})
    assert form.status_code == 200 and "请先修改密码" in form.text
    changed = fresh.post(
        "/api/auth/password", headers=headers, json={"current_password": password, "new_password": "Ops2026-Yiwang"}
    )
    assert changed.status_code == 204
    assert fresh.get("/api/org/users", headers=headers).status_code == 200
    assert fresh.get("/api/auth/me", headers=headers).json()["must_change_password"] is False
    # The system administrator does not read the audit log: that is the audit administrator's.
    assert fresh.get("/api/audit/entries", headers=headers).status_code == 403


def test_data_files_are_readable_by_the_platform_only(fresh_app, runtime):
    for data_dir in (fresh_app.state.runtime.settings.data_dir, runtime.settings.data_dir):
        assert _mode(data_dir) == 0o700
        found = list(data_dir.rglob("*"))
        assert any(p.name.endswith(".key") or p.suffix == ".pem" for p in found)
        for path in found:
            if path.is_symlink():
                continue
            assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    database = fresh_app.state.runtime.settings.data_dir / "yiwang.db"
    assert database.exists() and _mode(database) == 0o600


def test_files_written_later_are_private_too(runtime):
    written = runtime.settings.files_dir / "probe" / "snapshot.parquet"
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_bytes(b"PAR1")
    try:
        assert _mode(written) == 0o600 and _mode(written.parent) == 0o700
    finally:
        written.unlink()
        written.parent.rmdir()


def test_an_older_data_directory_is_tightened_on_start(tmp_path):
    data_dir = tmp_path / "var"
    (data_dir / "files").mkdir(parents=True)
    loose = data_dir / "yiwang.db"
    loose.write_bytes(b"")
    loose.chmod(0o644)
    data_dir.chmod(0o755)
    (data_dir / "files").chmod(0o755)
    bootstrap.secure_data_dir(data_dir)
    assert _mode(data_dir) == 0o700 and _mode(data_dir / "files") == 0o700 and _mode(loose) == 0o600
