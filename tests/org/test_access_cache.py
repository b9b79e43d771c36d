"""The per-process cache of roles, permissions and department scope never outlives a change.

A token issued before a change must see it on its very next request, in this process and in any
other process on the same database (the access version is raised by triggers in the database).
"""

from fastapi import Request
from sqlalchemy import text

from tests.conftest import bearer, token_for, unique
from yiwang.core.crypto.keys import bind
from yiwang.core.db import Database
from yiwang.core.security import Principal
from yiwang.org import auth, service

SYSTEM = Principal(user_id=None, username="system:test", display_name="测试", kind="system")


def _me(client, headers) -> dict:
    response = client.get("/api/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _user_id(client, admin_headers, username: str) -> int:
    items = client.get("/api/org/users", headers=admin_headers, params={"q": username}).json()["items"]
    return next(item["id"] for item in items if item["username"] == username)


def _new_staff(client, admin_headers, *, department_code: str = "CGJ", roles: tuple[str, ...] = ("handler",)):
    """A fresh staff account and a bearer header for it."""
    username = unique("acc")
    created = client.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": username,
            "kind": "staff",
            "display_name": "缓存测试",
            "password": "Abcdefg12345",
            "department_code": department_code,
            "roles": list(roles),
        },
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], {"Authorization": f"Bearer {token_for(client, username, 'Abcdefg12345')}"}


def _principal(database: Database, secret: str) -> Principal:
    scope = {"type": "http", "method": "GET", "path": "/api/auth/me", "headers": [(b"x-api-key", secret.encode())]}
    with database.unit_of_work() as db:
        return auth.authenticate_request(Request(scope), db)


def test_a_role_permission_change_reaches_an_existing_token_at_once(client, security_headers):
    headers = bearer(client, "leader")
    before = set(_me(client, headers)["permissions"])  # warms the cache
    assert "org.user.read" not in before
    granted = client.put(
        "/api/org/roles/leader/permissions", headers=security_headers, json={"permissions": [*before, "org.user.read"]}
    )
    assert granted.status_code == 200
    try:
        assert "org.user.read" in _me(client, headers)["permissions"]
        assert client.get("/api/org/users", headers=headers).status_code == 200
    finally:
        client.put("/api/org/roles/leader/permissions", headers=security_headers, json={"permissions": sorted(before)})
    assert set(_me(client, headers)["permissions"]) == before
    assert client.get("/api/org/users", headers=headers).status_code == 403


def test_a_role_assignment_change_reaches_an_existing_token_at_once(client, admin_headers):
    user_id, headers = _new_staff(client, admin_headers)
    assert _me(client, headers)["roles"] == ["handler"]
    changed = client.patch(f"/api/org/users/{user_id}", headers=admin_headers, json={"roles": ["dept_admin"]})
    assert changed.status_code == 200, changed.text
    assert _me(client, headers)["roles"] == ["dept_admin"]


def test_a_new_sub_unit_joins_the_scope_of_an_existing_token(client, admin_headers):
    headers = bearer(client, "cgj_admin")
    assert _me(client, headers)["department_code"] == "CGJ"
    code = unique("CGJ_SUB").upper().replace("-", "_")[:20]
    made = client.post(
        "/api/org/departments",
        headers=admin_headers,
        json={"code": code, "short_name": "新科室", "full_name": "城管局新科室", "parent_code": "CGJ"},
    )
    assert made.status_code == 201, made.text
    user_id, _ = _new_staff(client, admin_headers, department_code=code)
    # The same token now reaches the new unit's accounts.
    assert client.get(f"/api/org/users/{user_id}", headers=headers).status_code == 200


def test_a_deactivated_account_is_refused_on_its_next_request(client, admin_headers):
    user_id, headers = _new_staff(client, admin_headers)
    assert _me(client, headers)["kind"] == "staff"
    client.patch(f"/api/org/users/{user_id}", headers=admin_headers, json={"active": False})
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_another_process_on_the_same_database_sees_the_change(runtime, settings):
    """Two engines on one database stand for two processes: each has its own cache."""
    from yiwang.org import accounts

    with runtime.db.unit_of_work() as db:
        user = accounts.get_user_by_username(db, username="leader")
        secret, _ = auth.issue_api_key(db, actor=SYSTEM, user=user, settings=settings, label="cache test")
        leader = sorted(service.role_permissions(db, role_codes=["leader"]))
    other = Database(settings.resolved_database_url)
    bind(runtime.keyring, other.engine)  # the same installation's keys, as the other process would load them
    try:
        assert "org.user.read" not in _principal(other, secret).permissions  # the other process caches it
        with runtime.db.unit_of_work() as db:
            service.set_role_permissions(db, actor=SYSTEM, code="leader", permissions=[*leader, "org.user.read"])
        try:
            assert "org.user.read" in _principal(other, secret).permissions
        finally:
            with runtime.db.unit_of_work() as db:
                service.set_role_permissions(db, actor=SYSTEM, code="leader", permissions=leader)
        assert "org.user.read" not in _principal(other, secret).permissions
    finally:
        other.dispose()


def test_every_watched_table_raises_the_access_version(runtime):
    def version() -> int:
        with runtime.db.engine.connect() as conn:
            return conn.execute(text("SELECT value FROM org_access_version WHERE id = 1")).scalar_one()

    statements = [
        "UPDATE org_role SET description = description WHERE code = 'leader'",
        "UPDATE org_role_permission SET permission = permission WHERE id = (SELECT MIN(id) FROM org_role_permission)",
        "UPDATE org_user_role SET role_id = role_id WHERE id = (SELECT MIN(id) FROM org_user_role)",
        "UPDATE org_department SET short_name = short_name WHERE code = 'CGJ'",
    ]
    for statement in statements:
        before = version()
        with runtime.db.engine.begin() as conn:
            conn.execute(text(statement))
        assert version() > before, statement
