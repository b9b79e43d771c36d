"""Tokens (OAuth2 password and client credentials), expiry, revocation, throttling, password change."""

import statistics
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.conftest import bearer, token_for, unique
from yiwang.config import Settings
from yiwang.core import passwords
from yiwang.core.crypto import token_digest
from yiwang.core.timeutil import utcnow
from yiwang.demo.loader import DEMO_CLIENT_SECRET, DEMO_PASSWORD
from yiwang.org.models import Credential, LoginThrottle


def _new_staff(client, admin_headers, department="CGJ", role="handler", password="Handler2026x") -> str:
    username = unique("staff")
    response = client.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": username,
            "kind": "staff",
            "display_name": "测试人员",
            "password": password,
            "department_code": department,
            "roles": [role],
        },
    )
    assert response.status_code == 201, response.text
    return username


def test_password_grant_returns_an_oauth2_token_that_works(client):
    response = client.post(
        "/api/auth/token", data={"grant_type": "password", "username": "cgj_handler", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert "org.division.read" in body["scope"].split()
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "cgj_handler" and me.json()["department_code"] == "CGJ"


def test_client_credentials_grant_for_system_clients(client):
    body = client.post(
        "/api/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "demo-exchange-client",
            "client_secret": DEMO_CLIENT_SECRET,
        },
    ).json()
    assert set(body["scope"].split()) == {
        "org.department.read",
        "org.division.read",
        "exchange.data.read",
        "exchange.service.call",
    }
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/org/departments", headers=headers).status_code == 200
    assert client.get("/api/org/users", headers=headers).status_code == 403
    # The same credentials in an HTTP Basic header (RFC 6749 §2.3.1).
    basic = client.post(
        "/api/auth/token", data={"grant_type": "client_credentials"}, auth=("demo-exchange-client", DEMO_CLIENT_SECRET)
    )
    assert basic.status_code == 200
    # People cannot use the client grant, and clients cannot use the password grant.
    assert (
        client.post(
            "/api/auth/token",
            data={"grant_type": "password", "username": "demo-exchange-client", "password": DEMO_CLIENT_SECRET},
        ).status_code
        == 401
    )


def test_scope_narrows_a_token(client):
    token = token_for(client, "admin", scope="org.division.read")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/org/divisions", headers=headers).status_code == 200
    assert client.get("/api/org/users", headers=headers).status_code == 403
    too_wide = client.post(
        "/api/auth/token",
        data={
            "grant_type": "password",
            "username": "cgj_handler",
            "password": DEMO_PASSWORD,
            "scope": "core.audit.read",
        },
    )
    assert too_wide.status_code == 400 and too_wide.json()["error"]["code"] == "invalid_scope"


def test_unsupported_grant_and_missing_fields_are_clear_errors(client):
    response = client.post("/api/auth/token", data={"grant_type": "implicit"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "unsupported_grant_type"
    response = client.post("/api/auth/token", data={"grant_type": "password", "username": "admin"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


def test_expired_token_is_refused(client, runtime):
    token = token_for(client, "cgj_handler")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    with runtime.db.unit_of_work() as db:
        db.execute(
            update(Credential)
            .where(Credential.secret_hash == token_digest(db, token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = client.get("/api/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_token_is_refused(client):
    token = token_for(client, "cgj_handler")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/auth/revoke", headers=headers, data={"token": token}).json() == {"revoked": True}
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_someone_elses_token_cannot_be_revoked_without_admin_rights(client):
    victim = token_for(client, "hbj_steward")
    other = bearer(client, "cgj_handler")
    assert client.post("/api/auth/revoke", headers=other, data={"token": victim}).json() == {"revoked": False}
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {victim}"}).status_code == 200


def _login(app, username: str, password: str, ip: str):
    """A password login from the given client address."""
    with TestClient(app, client=(ip, 40000)) as other:
        return other.post(
            "/api/auth/token", data={"grant_type": "password", "username": username, "password": password}
        )


def _fail_until_throttled(app, username: str, ip: str, attempts: int) -> None:
    for _ in range(attempts):
        failed = _login(app, username, "wrong-password1", ip)
        assert failed.status_code == 401 and failed.json()["error"]["code"] == "invalid_grant"


def test_failures_from_one_address_back_off_without_locking_the_account_elsewhere(
    app, client, admin_headers, auditor_headers, runtime
):
    username = _new_staff(client, admin_headers)
    usual, attacker, elsewhere = "10.1.0.1", "203.0.113.9", "198.51.100.7"
    assert _login(app, username, "Handler2026x", usual).status_code == 200
    limit = runtime.settings.login_max_failures
    _fail_until_throttled(app, username, attacker, limit)
    held = _login(app, username, "Handler2026x", attacker)  # even the right password waits there
    assert held.status_code == 429 and held.json()["error"]["code"] == "login_throttled"
    first_wait = int(held.headers["retry-after"])
    assert 0 < first_wait <= runtime.settings.login_backoff_seconds
    # The holder signs in from their usual address, and from a new one too.
    assert _login(app, username, "Handler2026x", usual).status_code == 200
    assert _login(app, username, "Handler2026x", elsewhere).status_code == 200
    # Once the wait is over, the next failure doubles it.
    with runtime.db.unit_of_work() as db:
        db.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username == username.lower(), LoginThrottle.ip == attacker)
            .values(blocked_until=utcnow() - timedelta(seconds=1))
        )
    assert _login(app, username, "wrong-password1", attacker).status_code == 401
    doubled = _login(app, username, "wrong-password1", attacker)
    assert doubled.status_code == 429
    assert int(doubled.headers["retry-after"]) > runtime.settings.login_backoff_seconds
    outcomes = [
        e["outcome"]
        for e in client.get(
            "/api/audit/entries", headers=auditor_headers, params={"action": "auth.login", "actor": username}
        ).json()["items"]
    ]
    assert outcomes.count("failure") == limit + 1 and outcomes.count("denied") == 2
    # An administrator releases the name; the address may try again at once.
    listed = client.get("/api/org/users", headers=admin_headers, params={"q": username}).json()["items"][0]
    assert listed["locked"] is True
    assert client.post(f"/api/org/users/{listed['id']}/unlock", headers=admin_headers).status_code == 204
    assert _login(app, username, "Handler2026x", attacker).status_code == 200


def test_many_addresses_cannot_lock_the_holder_out_of_their_usual_address(
    app, client, admin_headers, runtime, monkeypatch
):
    monkeypatch.setattr(runtime.settings, "login_account_max_failures", 8)
    username = _new_staff(client, admin_headers)
    usual = "10.2.0.1"
    assert _login(app, username, "Handler2026x", usual).status_code == 200
    for n in range(4):  # a spread-out guess: two failures from each of four addresses
        _fail_until_throttled(app, username, f"203.0.113.{n + 20}", 2)
    unfamiliar = _login(app, username, "Handler2026x", "198.51.100.99")
    assert unfamiliar.status_code == 429 and unfamiliar.json()["error"]["code"] == "login_throttled"
    assert _login(app, username, "Handler2026x", usual).status_code == 200


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(app, client, admin_headers, runtime):
    username = _new_staff(client, admin_headers)
    nobody = unique("nobody")
    unknown = client.post(
        "/api/auth/token", data={"grant_type": "password", "username": nobody, "password": "whatever1"}
    )
    wrong = client.post(
        "/api/auth/token", data={"grant_type": "password", "username": username, "password": "whatever1"}
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    # Repeated, both are throttled alike: the answer never tells whether the account exists.
    address = "192.0.2.77"
    limit = runtime.settings.login_max_failures
    _fail_until_throttled(app, nobody, address, limit)
    _fail_until_throttled(app, username, address, limit)
    held_unknown, held_known = _login(app, nobody, "whatever1", address), _login(app, username, "whatever1", address)
    assert held_unknown.status_code == held_known.status_code == 429
    first, second = held_unknown.json()["error"], held_known.json()["error"]
    assert first["code"] == second["code"] == "login_throttled" and first["message"] == second["message"]


@pytest.fixture
def production_password_cost(runtime):
    """Hashing at the production default cost, so that the password work dominates a login's time."""
    defaults = Settings.model_fields
    passwords.configure(
        time_cost=defaults["password_time_cost"].default, memory_kib=defaults["password_memory_kib"].default
    )
    yield
    settings = runtime.settings
    passwords.configure(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)


@pytest.mark.usefixtures("production_password_cost")
def test_unknown_and_known_names_cost_the_same_password_work(app, client, admin_headers):
    username, nobody = _new_staff(client, admin_headers), unique("nobody")
    times: dict[str, list[float]] = {username: [], nobody: []}
    for n in range(6):  # interleaved, so warm-up and machine load fall on both alike
        for name in (nobody, username) if n % 2 else (username, nobody):
            started = time.perf_counter()
            assert _login(app, name, "whatever1", f"192.0.2.{100 + n}").status_code == 401
            times[name].append(time.perf_counter() - started)
    ratio = statistics.median(times[nobody]) / statistics.median(times[username])
    assert 0.5 < ratio < 2, times


def test_password_change_signs_out_other_tokens_and_checks_policy(client, admin_headers):
    username = _new_staff(client, admin_headers)
    other_token = token_for(client, username, "Handler2026x")
    headers = {"Authorization": f"Bearer {token_for(client, username, 'Handler2026x')}"}
    weak = client.post(
        "/api/auth/password", headers=headers, json={"current_password": "Handler2026x", "new_password": "short"}
    )
    assert weak.status_code == 422 and "至少8位" in weak.json()["error"]["message"]
    wrong = client.post(
        "/api/auth/password", headers=headers, json={"current_password": "nope-nope1", "new_password": "Changed2026y"}
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "bad_current_password"
    ok = client.post(
        "/api/auth/password", headers=headers, json={"current_password": "Handler2026x", "new_password": "Changed2026y"}
    )
    assert ok.status_code == 204
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {other_token}"}).status_code == 401
    assert client.get("/api/auth/me", headers=headers).status_code == 200  # the one that made the change stays
    assert token_for(client, username, "Changed2026y")


def test_api_keys_work_as_bearer_and_header(client, runtime):
    from tests.conftest import run_cli

    result = run_cli(runtime, "apikey", "create", "--username", "dsj_steward")
    assert result.exit_code == 0, result.output
    key = result.stdout.splitlines()[0].strip()
    assert key.startswith("ywk_")
    assert client.get("/api/auth/me", headers={"X-API-Key": key}).json()["via"] == "api_key"
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"}).json()["username"] == "dsj_steward"
    assert client.get("/api/auth/me", headers={"X-API-Key": key + "x"}).status_code == 401


def test_http_basic_is_accepted_for_clients_that_speak_only_that(client, admin_headers):
    username = _new_staff(client, admin_headers)
    assert client.get("/api/auth/me", auth=(username, "Handler2026x")).json()["via"] == "basic"
    assert client.get("/api/auth/me", auth=(username, "wrong1234")).status_code == 401
