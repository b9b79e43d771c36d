"""Tokens (OAuth2 password and client credentials), expiry, revocation, lock-out, password change."""

from datetime import timedelta

from sqlalchemy import update

from tests.conftest import bearer, token_for, unique
from yiwang.core.crypto import sha256_hex
from yiwang.core.timeutil import utcnow
from yiwang.demo.loader import DEMO_CLIENT_SECRET, DEMO_PASSWORD
from yiwang.org.models import Credential


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
    assert set(body["scope"].split()) == {"org.department.read", "org.division.read", "exchange.data.read"}
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
            .where(Credential.secret_hash == sha256_hex(token.encode()))
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


def test_lock_out_after_repeated_failures(client, admin_headers, runtime):
    username = _new_staff(client, admin_headers)
    limit = runtime.settings.login_max_failures
    for _ in range(limit):
        failed = client.post(
            "/api/auth/token", data={"grant_type": "password", "username": username, "password": "wrong-password1"}
        )
        assert failed.status_code == 401 and failed.json()["error"]["code"] == "invalid_grant"
    locked = client.post(
        "/api/auth/token", data={"grant_type": "password", "username": username, "password": "Handler2026x"}
    )
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "account_locked"
    assert int(locked.headers["retry-after"]) > 60
    entries = client.get(
        "/api/audit/entries", headers=admin_headers, params={"action": "auth.login", "actor": username}
    ).json()["items"]
    outcomes = [e["outcome"] for e in entries]
    assert outcomes.count("failure") == limit and outcomes[0] == "denied"
    # An administrator unlocks it; the right password works again.
    user_id = client.get("/api/org/users", headers=admin_headers, params={"q": username}).json()["items"][0]["id"]
    assert client.post(f"/api/org/users/{user_id}/unlock", headers=admin_headers).status_code == 204
    assert token_for(client, username, "Handler2026x")


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client, admin_headers):
    username = _new_staff(client, admin_headers)
    unknown = client.post(
        "/api/auth/token", data={"grant_type": "password", "username": unique("nobody"), "password": "whatever1"}
    )
    wrong = client.post(
        "/api/auth/token", data={"grant_type": "password", "username": username, "password": "whatever1"}
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


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
