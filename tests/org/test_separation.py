"""Separation of the three administrators (三员分立): system, security and audit administrator.

No account holds two of them, by any path; each does its own job and is refused the others'; the
audit administrator's own reading of the log is in the log."""

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.conftest import csrf_from, page_login, run_cli, unique
from yiwang.org.models import Role, UserRole

HTML = {"accept": "text/html"}
THREE = ("platform_admin", "security_admin", "audit_admin")
PAIRS = [("platform_admin", "security_admin"), ("platform_admin", "audit_admin"), ("security_admin", "audit_admin")]


def _staff(client, headers, roles=("handler",)) -> dict:
    created = client.post(
        "/api/org/users",
        headers=headers,
        json={
            "username": unique("sep"),
            "kind": "staff",
            "display_name": "三员测试",
            "password": "Staff2026x",
            "department_code": "DSJ",
            "roles": list(roles),
        },
    )
    assert created.status_code == 201, created.text
    return created.json()


@pytest.mark.parametrize("pair", PAIRS)
def test_the_api_refuses_two_of_the_three_on_one_account(client, admin_headers, security_headers, pair):
    account = _staff(client, admin_headers)
    refused = client.put(f"/api/org/users/{account['id']}/roles", headers=security_headers, json={"roles": list(pair)})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "admin_roles_combined" and "三员分立" in error["message"]
    assert client.get(f"/api/org/users/{account['id']}", headers=admin_headers).json()["roles"] == ["handler"]
    # One at a time is fine, and adding the second is refused the same way.
    first = client.put(f"/api/org/users/{account['id']}/roles", headers=security_headers, json={"roles": [pair[0]]})
    assert first.status_code == 200, first.text
    second = client.put(f"/api/org/users/{account['id']}/roles", headers=security_headers, json={"roles": list(pair)})
    assert second.status_code == 422 and second.json()["error"]["code"] == "admin_roles_combined"


def test_an_account_moves_from_one_administrator_role_to_another(client, admin_headers, security_headers):
    account = _staff(client, admin_headers)
    path = f"/api/org/users/{account['id']}/roles"
    for role in ("audit_admin", "security_admin", "platform_admin"):
        moved = client.put(path, headers=security_headers, json={"roles": [role]})
        assert moved.status_code == 200 and moved.json()["roles"] == [role], moved.text


def test_the_cli_refuses_two_of_the_three(runtime, client, admin_headers):
    username = unique("clisep")
    created = run_cli(
        runtime, "user", "create", "--username", username, "--password", "Cli2026pass", "--department", "DSJ",
        "--role", "platform_admin", "--role", "audit_admin",
    )  # fmt: skip
    assert created.exit_code == 1 and "三员分立" in created.output
    account = _staff(client, admin_headers)
    assigned = run_cli(
        runtime, "user", "roles", account["username"], "--role", "security_admin", "--role", "audit_admin"
    )
    assert assigned.exit_code == 1 and "三员分立" in assigned.output
    ok = run_cli(runtime, "user", "roles", account["username"], "--role", "audit_admin")
    assert ok.exit_code == 0, ok.output
    assert client.get(f"/api/org/users/{account['id']}", headers=admin_headers).json()["roles"] == ["audit_admin"]


def test_the_page_refuses_two_of_the_three_with_a_chinese_message(client, admin_headers):
    account = _staff(client, admin_headers)
    csrf = page_login(client, "secadmin")
    page = client.post(
        f"/admin/users/{account['id']}/roles",
        headers=HTML,
        data={"csrf_token": csrf, "roles": ["security_admin", "audit_admin"]},
    )
    assert page.status_code == 422 and "不能由同一账号兼任" in page.text
    assert client.get(f"/api/org/users/{account['id']}", headers=admin_headers).json()["roles"] == ["handler"]
    shown = client.get(f"/admin/users/{account['id']}", headers=HTML)
    assert "角色授权" in shown.text and "双因素认证" in shown.text
    done = client.post(
        f"/admin/users/{account['id']}/roles",
        headers=HTML,
        data={"csrf_token": csrf_from(shown.text), "roles": ["handler", "leader"]},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get(f"/api/org/users/{account['id']}", headers=admin_headers).json()["roles"] == ["handler", "leader"]


def test_the_database_refuses_two_of_the_three_too(runtime):
    with runtime.db.unit_of_work() as db:
        ids = dict(db.execute(select(Role.code, Role.id).where(Role.code.in_(THREE))).all())
        user_id = db.execute(
            select(UserRole.user_id).where(UserRole.role_id == ids["platform_admin"]).limit(1)
        ).scalar_one()
    with pytest.raises((IntegrityError, DBAPIError)), runtime.db.unit_of_work() as db:
        db.execute(insert(UserRole).values(user_id=user_id, role_id=ids["audit_admin"]))


def test_the_system_administrator_cannot_make_security_or_audit_administrators(client, admin_headers):
    account = _staff(client, admin_headers)
    for role in THREE:
        refused = client.patch(f"/api/org/users/{account['id']}", headers=admin_headers, json={"roles": [role]})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "grant_denied", role
    # Nor hand the audit or security duties to a system client it registers.
    for scope in ("core.audit.read", "org.role.write"):
        client_id = unique("cli")
        refused = client.post(
            "/api/org/clients",
            headers=admin_headers,
            json={"client_id": client_id, "name": "越权客户端", "department_code": "DSJ", "scopes": [scope]},
        )
        assert refused.status_code == 403, scope


def test_nobody_changes_their_own_roles(client, security_headers):
    own = client.get("/api/auth/me", headers=security_headers).json()["user_id"]
    refused = client.put(
        f"/api/org/users/{own}/roles", headers=security_headers, json={"roles": ["security_admin", "leader"]}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "grant_denied"


def test_no_role_carries_two_administrators_duties(client, security_headers):
    roles = {r["code"]: r["permissions"] for r in client.get("/api/org/roles", headers=security_headers).json()}
    for code, extra in (
        ("security_admin", "core.audit.read"),
        ("audit_admin", "org.role.write"),
        ("platform_admin", "core.audit.read"),
        ("dept_admin", "core.audit.read"),  # account management and the audit log
    ):
        refused = client.put(
            f"/api/org/roles/{code}/permissions", headers=security_headers, json={"permissions": [*roles[code], extra]}
        )
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "admin_roles_combined", code
    after = {r["code"]: r["permissions"] for r in client.get("/api/org/roles", headers=security_headers).json()}
    assert after == roles


def _status(client, headers, method, path, **kwargs) -> int:
    return client.request(method, path, headers=headers, **kwargs).status_code


def test_the_system_administrator_runs_accounts_and_departments_only(client, admin_headers):
    assert _status(client, admin_headers, "GET", "/api/org/users") == 200
    assert _status(client, admin_headers, "POST", "/api/org/departments", json={}) == 422  # past the gate
    for method, path in (
        ("GET", "/api/audit/entries"),
        ("POST", "/api/audit/verify"),
        ("GET", "/api/audit/export"),
        ("PUT", "/api/org/roles/leader/permissions"),
        ("PUT", "/api/org/roles/leader/second-factor"),
        ("PUT", "/api/org/users/1/roles"),
        ("POST", "/api/org/users/1/second-factor/reset"),
    ):
        assert _status(client, admin_headers, method, path, json={}) == 403, (method, path)


def test_the_security_administrator_authorises_and_nothing_else(client, security_headers):
    assert _status(client, security_headers, "GET", "/api/org/roles") == 200
    assert _status(client, security_headers, "GET", "/api/org/users") == 200
    assert _status(client, security_headers, "PUT", "/api/org/roles/leader/permissions", json={}) == 422
    for method, path in (
        ("GET", "/api/audit/entries"),
        ("POST", "/api/audit/verify"),
        ("POST", "/api/org/users"),
        ("PATCH", "/api/org/users/1"),
        ("POST", "/api/org/departments"),
        ("POST", "/api/org/clients"),
        ("POST", "/api/org/divisions"),
    ):
        assert _status(client, security_headers, method, path, json={}) == 403, (method, path)


def test_the_audit_administrator_reads_and_verifies_the_log_only(client, auditor_headers):
    assert _status(client, auditor_headers, "GET", "/api/audit/entries") == 200
    verified = client.post("/api/audit/verify", headers=auditor_headers)
    assert verified.status_code == 200 and verified.json()["ok"] is True
    for method, path in (
        ("GET", "/api/org/users"),
        ("GET", "/api/org/roles"),
        ("GET", "/api/org/departments"),
        ("POST", "/api/org/users"),
        ("PUT", "/api/org/roles/leader/permissions"),
        ("PUT", "/api/org/users/1/roles"),
        ("GET", "/api/brain/indicators"),
        ("GET", "/api/catalog/entries"),
    ):
        assert _status(client, auditor_headers, method, path, json={}) in (403, 405), (method, path)
    permissions = client.get("/api/auth/me", headers=auditor_headers).json()["permissions"]
    assert permissions == ["core.audit.read"]


def test_the_audit_administrators_reading_is_audited(client, auditor_headers):
    marker = unique("marker")
    searched = client.get("/api/audit/entries", headers=auditor_headers, params={"action": marker})
    assert searched.status_code == 200 and searched.json()["total"] == 0
    client.post("/api/audit/verify", headers=auditor_headers)
    exported = client.get("/api/audit/export", headers=auditor_headers, params={"action": "auth."})
    assert exported.status_code == 200 and exported.content[:2] == b"PK"  # an XLSX workbook
    own = client.get("/api/audit/entries", headers=auditor_headers, params={"actor": "auditor", "action": "audit."})
    actions = [e["action"] for e in own.json()["items"]]
    assert actions[:3] == ["audit.export", "audit.verify", "audit.read"], actions
    read = next(e for e in own.json()["items"] if e["action"] == "audit.read" and marker in e["details"])
    assert '"found":0' in read["details"]
    # The page is audited the same way.
    page_login(client, "auditor")
    page = client.get("/admin/audit", headers=HTML, params={"actor": marker})
    assert page.status_code == 200
    again = client.get(
        "/api/audit/entries", headers=auditor_headers, params={"actor": "auditor", "action": "audit.read"}
    )
    assert any(marker in e["details"] for e in again.json()["items"][:2])


def test_role_changes_are_in_the_audit_chain(client, admin_headers, security_headers, auditor_headers):
    account = _staff(client, admin_headers)
    client.put(f"/api/org/users/{account['id']}/roles", headers=security_headers, json={"roles": ["leader"]})
    entries = client.get(
        "/api/audit/entries", headers=auditor_headers, params={"action": "org.user.roles", "target_id": account["id"]}
    ).json()["items"]
    assert entries and entries[0]["actor_name"] == "secadmin"
    assert '"granted":["leader"]' in entries[0]["details"] and '"withdrawn":["handler"]' in entries[0]["details"]


def test_the_service_refuses_two_of_the_three_to_any_caller(runtime, client, admin_headers):
    """Creating and updating an account refuse it even for a caller past every grant rule (the console
    operator), so no path around the page, the API and the CLI can combine them."""
    from yiwang.core.errors import AppError
    from yiwang.core.permissions import registry
    from yiwang.core.security import Principal
    from yiwang.org import accounts
    from yiwang.org.schemas import UserCreate, UserUpdate

    operator = Principal(
        user_id=None,
        username="system:test",
        display_name="测试",
        kind="system",
        permissions=frozenset(registry.permissions),
    )
    account = _staff(client, admin_headers)
    for pair in PAIRS:
        with pytest.raises(AppError) as created, runtime.db.unit_of_work() as db:
            accounts.create_user(
                db,
                actor=operator,
                cipher=runtime.cipher,
                data=UserCreate(
                    username=unique("svc"),
                    kind="staff",
                    display_name="三员",
                    password="Staff2026x",
                    department_code="DSJ",
                    roles=list(pair),
                ),
            )
        assert created.value.code == "admin_roles_combined"
        with pytest.raises(AppError) as updated, runtime.db.unit_of_work() as db:
            accounts.update_user(
                db, actor=operator, user_id=account["id"], data=UserUpdate(roles=list(pair)), cipher=runtime.cipher
            )
        assert updated.value.code == "admin_roles_combined"
    assert client.get(f"/api/org/users/{account['id']}", headers=admin_headers).json()["roles"] == ["handler"]


@pytest.mark.parametrize("role", ["security_admin", "audit_admin"])
def test_the_system_administrator_cannot_disable_or_reroute_another_administrator(
    client, admin_headers, security_headers, auditor_headers, role
):
    account = _staff(client, admin_headers)
    path = f"/api/org/users/{account['id']}"
    made = client.put(f"{path}/roles", headers=security_headers, json={"roles": [role]})
    assert made.status_code == 200, made.text
    for change in ({"active": False}, {"phone": "13912345678"}, {"department_code": "CGJ"}):
        refused = client.patch(path, headers=admin_headers, json=change)
        assert refused.status_code == 403, (change, refused.text)
        assert "三员分立" in refused.json()["error"]["message"]
    still = client.get(path, headers=admin_headers).json()
    assert still["active"] is True and still["department_code"] == "DSJ"
    # A harmless change goes through; the refusals are in the audit chain.
    assert client.patch(path, headers=admin_headers, json={"display_name": "改名"}).status_code == 200
    entries = client.get(
        "/api/audit/entries", headers=auditor_headers, params={"action": "org.grant", "target_id": account["id"]}
    ).json()
    assert sum(1 for e in entries["items"] if e["outcome"] == "denied") >= 3
    # Once the security administrator takes the role back, it is an ordinary account again.
    assert client.put(f"{path}/roles", headers=security_headers, json={"roles": ["handler"]}).status_code == 200
    disabled = client.patch(path, headers=admin_headers, json={"active": False})
    assert disabled.status_code == 200 and disabled.json()["active"] is False
