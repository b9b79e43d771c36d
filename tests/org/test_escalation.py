"""Nobody grants a role or permission they do not hold: accounts, roles, system clients, API keys."""

import secrets

from tests.conftest import bearer, enrol_through_pages, page_login, run_cli, token_for, unique
from yiwang.demo.people import demo_credit_code, demo_id_number


def _me(client, headers) -> dict:
    return client.get("/api/auth/me", headers=headers).json()


def _staff(client, headers, *, roles, department="CGJ", password="Staff2026x"):
    return client.post(
        "/api/org/users",
        headers=headers,
        json={
            "username": unique("esc"),
            "kind": "staff",
            "display_name": "测试人员",
            "password": password,
            "department_code": department,
            "roles": roles,
        },
    )


def _denials(client, actor: str) -> list[dict]:
    params = {"action": "org.grant", "actor": actor, "outcome": "denied"}
    return client.get("/api/audit/entries", headers=bearer(client, "auditor"), params=params).json()["items"]


def test_dept_admin_cannot_make_itself_platform_admin(client, admin_headers):
    headers = bearer(client, "cgj_admin")
    own_id = _me(client, headers)["user_id"]
    before = len(_denials(client, "cgj_admin"))
    escalate = client.patch(f"/api/org/users/{own_id}", headers=headers, json={"roles": ["platform_admin"]})
    assert escalate.status_code == 403
    assert escalate.json()["error"]["code"] == "grant_denied"
    assert _me(client, bearer(client, "cgj_admin"))["roles"] == ["dept_admin"]
    # Still no audit log and no cross-department reach: the escalation did not happen.
    assert client.get("/api/audit/entries", headers=bearer(client, "cgj_admin")).status_code == 403
    assert len(_denials(client, "cgj_admin")) == before + 1


def test_dept_admin_cannot_create_a_platform_admin_or_another_admin(client):
    headers = bearer(client, "cgj_admin")
    for roles in (["platform_admin"], ["dept_admin"], ["handler", "platform_admin"]):
        created = _staff(client, headers, roles=roles)
        assert created.status_code == 403, (roles, created.text)
        assert created.json()["error"]["code"] == "grant_denied"


def test_dept_admin_cannot_grant_a_role_with_rights_it_lacks(client):
    headers = bearer(client, "cgj_admin")
    for role in ("dispatcher", "data_steward", "leader"):
        assert _staff(client, headers, roles=[role]).status_code == 403, role
    # A role whose rights it holds itself, within its department, is fine.
    assert _staff(client, headers, roles=["handler"]).status_code == 201


def test_dept_admin_cannot_withdraw_the_platform_admin_role(client, admin_headers, security_headers):
    created = _staff(client, admin_headers, roles=["handler"], department="CGJ")
    assert created.status_code == 201
    granted = client.put(
        f"/api/org/users/{created.json()['id']}/roles", headers=security_headers, json={"roles": ["platform_admin"]}
    )
    assert granted.status_code == 200, granted.text
    stripped = client.patch(
        f"/api/org/users/{created.json()['id']}", headers=bearer(client, "cgj_admin"), json={"roles": []}
    )
    assert stripped.status_code == 403
    assert client.get(f"/api/org/users/{created.json()['id']}", headers=admin_headers).json()["roles"] == [
        "platform_admin"
    ]


def test_system_admin_grants_business_roles_but_not_the_three_administrators(client, admin_headers):
    for role in ("dispatcher", "data_steward", "dept_admin"):
        assert _staff(client, admin_headers, roles=[role]).status_code == 201, role
    for role in ("platform_admin", "security_admin", "audit_admin"):
        refused = _staff(client, admin_headers, roles=[role])
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "grant_denied", role


def test_a_refused_grant_leaves_the_other_changes_undone(client, admin_headers):
    headers = bearer(client, "cgj_admin")
    target = _staff(client, admin_headers, roles=["handler"]).json()
    refused = client.patch(
        f"/api/org/users/{target['id']}", headers=headers, json={"display_name": "改了", "roles": ["leader"]}
    )
    assert refused.status_code == 403
    after = client.get(f"/api/org/users/{target['id']}", headers=admin_headers).json()
    assert after["display_name"] == "测试人员" and after["roles"] == ["handler"]


def test_role_permissions_cannot_be_widened_beyond_the_editors_own(client, security_headers):
    roles = {r["code"]: r["permissions"] for r in client.get("/api/org/roles", headers=security_headers).json()}
    leader = roles["leader"]
    # Give leaders the right to edit roles, then let a leader try to widen its own role.
    assert (
        client.put(
            "/api/org/roles/leader/permissions",
            headers=security_headers,
            json={"permissions": [*leader, "org.role.read", "org.role.write"]},
        ).status_code
        == 200
    )
    try:
        headers = bearer(client, "leader")
        widened = [*leader, "org.role.read", "org.role.write"]
        for extra in ("core.audit.read", "org.user.read", "core.personal.read_clear"):
            attempt = client.put(
                "/api/org/roles/leader/permissions", headers=headers, json={"permissions": [*widened, extra]}
            )
            assert attempt.status_code == 403, extra
            assert attempt.json()["error"]["code"] == "grant_denied"
        # Nor may it hand its rights to another role, or reshape an administrator role.
        handler = roles["handler"]
        to_handler = client.put(
            "/api/org/roles/handler/permissions", headers=headers, json={"permissions": [*handler, "org.role.write"]}
        )
        assert to_handler.status_code == 403
        # Within a plain role it may pass on only what it holds itself.
        lacking = client.put(
            "/api/org/roles/handler/permissions",
            headers=headers,
            json={"permissions": [*handler, "cityops.event.dispatch"]},
        )
        assert lacking.status_code == 403 and lacking.json()["error"]["details"]["permissions"] == [
            "cityops.event.dispatch"
        ]
        admin_role = client.put(
            "/api/org/roles/platform_admin/permissions", headers=headers, json={"permissions": roles["platform_admin"]}
        )
        assert admin_role.status_code == 403
        assert "core.audit.read" not in _me(client, bearer(client, "leader"))["permissions"]
    finally:
        client.put("/api/org/roles/leader/permissions", headers=security_headers, json={"permissions": leader})


def test_admin_pages_apply_the_same_rule(client, admin_headers):
    csrf = page_login(client, "cgj_admin")
    own_id = _me(client, bearer(client, "cgj_admin"))["user_id"]
    page = client.post(
        f"/admin/users/{own_id}",
        data={
            "csrf_token": csrf,
            "display_name": "王城管（演示）",
            "department_code": "CGJ",
            "roles": ["dept_admin", "platform_admin"],
            "active": "on",
        },
        headers={"accept": "text/html"},
    )
    assert page.status_code == 403 and "不能修改自己账号的角色" in page.text
    assert _me(client, bearer(client, "cgj_admin"))["roles"] == ["dept_admin"]
    new = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf,
            "username": unique("esc"),
            "kind": "staff",
            "display_name": "越权",
            "password": "Staff2026x",
            "department_code": "CGJ",
            "roles": "platform_admin",
        },
        headers={"accept": "text/html"},
    )
    assert new.status_code == 403


def test_roles_page_refuses_a_widening_edit(client, security_headers):
    roles = {r["code"]: r["permissions"] for r in client.get("/api/org/roles", headers=security_headers).json()}
    leader = roles["leader"]
    with_role_write = [*leader, "org.role.read", "org.role.write"]
    client.put("/api/org/roles/leader/permissions", headers=security_headers, json={"permissions": with_role_write})
    try:
        csrf = page_login(client, "leader")
        page = client.post(
            "/admin/roles/leader",
            data={"csrf_token": csrf, "permissions": [*with_role_write, "core.audit.read"]},
            headers={"accept": "text/html"},
        )
        assert page.status_code == 403 and "只能由可授予管理员角色的管理员" in page.text
        roles_now = {r["code"]: r["permissions"] for r in client.get("/api/org/roles", headers=security_headers).json()}
        assert "core.audit.read" not in roles_now["leader"]
    finally:
        client.put("/api/org/roles/leader/permissions", headers=security_headers, json={"permissions": leader})


def test_roles_held_already_can_be_set_again(client, admin_headers):
    created = _staff(client, admin_headers, roles=["handler"]).json()
    again = client.patch(
        f"/api/org/users/{created['id']}", headers=admin_headers, json={"roles": ["handler", "dispatcher"]}
    )
    assert again.status_code == 200, again.text
    assert again.json()["roles"] == ["dispatcher", "handler"]
    same = client.patch(
        f"/api/org/users/{created['id']}", headers=admin_headers, json={"roles": ["dispatcher", "handler", "handler"]}
    )
    assert same.status_code == 200 and same.json()["roles"] == ["dispatcher", "handler"]
    fewer = client.patch(f"/api/org/users/{created['id']}", headers=admin_headers, json={"roles": ["dispatcher"]})
    assert fewer.status_code == 200 and fewer.json()["roles"] == ["dispatcher"]


def test_a_narrowed_token_mints_only_a_narrowed_api_key(client):
    token = token_for(client, "admin", scope="org.division.read")
    headers = {"Authorization": f"Bearer {token}"}
    minted = client.post("/api/auth/api-keys", headers=headers)
    assert minted.status_code == 201
    key = minted.json()["api_key"]
    assert _me(client, {"X-API-Key": key})["permissions"] == ["org.division.read"]
    assert client.get("/api/org/users", headers={"X-API-Key": key}).status_code == 403
    assert client.get("/api/audit/entries", headers={"X-API-Key": key}).status_code == 403
    # Asking for more than the token holds is refused, and a key made by the key stays as narrow.
    wider = client.post("/api/auth/api-keys", headers=headers, params={"scope": "org.division.read core.audit.read"})
    assert wider.status_code == 400 and wider.json()["error"]["code"] == "invalid_scope"
    from_key = client.post("/api/auth/api-keys", headers={"X-API-Key": key}).json()["api_key"]
    assert _me(client, {"X-API-Key": from_key})["permissions"] == ["org.division.read"]


def test_an_api_key_asked_for_a_narrower_scope_gets_it(client):
    headers = bearer(client, "dsj_steward")
    minted = client.post("/api/auth/api-keys", headers=headers, params={"scope": "org.department.read"})
    assert minted.status_code == 201 and minted.json()["scope"] == "org.department.read"
    assert _me(client, {"X-API-Key": minted.json()["api_key"]})["permissions"] == ["org.department.read"]


def test_password_change_revokes_api_keys(client, admin_headers):
    username = _staff(client, admin_headers, roles=["handler"]).json()["username"]
    headers = bearer(client, username, "Staff2026x")
    key = client.post("/api/auth/api-keys", headers=headers).json()["api_key"]
    assert client.get("/api/auth/me", headers={"X-API-Key": key}).status_code == 200
    changed = client.post(
        "/api/auth/password", headers=headers, json={"current_password": "Staff2026x", "new_password": "Changed2026y"}
    )
    assert changed.status_code == 204
    refused = client.get("/api/auth/me", headers={"X-API-Key": key})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_token"


def _fresh_id_number() -> str:
    return demo_id_number(f"1996{secrets.randbelow(12) + 1:02d}{secrets.randbelow(28) + 1:02d}", secrets.randbelow(999))


def test_dept_admin_cannot_open_a_citizen_account_with_someones_id_number(client, admin_headers):
    id_number = _fresh_id_number()
    username = unique("cit")
    attempt = client.post(
        "/api/org/users",
        headers=bearer(client, "cgj_admin"),
        json={
            "username": username,
            "kind": "citizen",
            "display_name": "冒名",
            "password": "Citizen2026x",
            "id_number": id_number,
        },
    )
    assert attempt.status_code == 403 and attempt.json()["error"]["code"] == "grant_denied", attempt.text
    denied = _denials(client, "cgj_admin")
    assert any(e["target_id"] == f"new:{username}" and "citizen" in e["details"] for e in denied)
    enterprise = client.post(
        "/api/org/users",
        headers=bearer(client, "cgj_admin"),
        json={
            "username": unique("ent"),
            "kind": "enterprise",
            "display_name": "冒名企业",
            "password": "Enterprise2026x",
            "credit_code": demo_credit_code(f"MA{secrets.token_hex(4).upper()[:7]}"),
        },
    )
    assert enterprise.status_code == 403, enterprise.text
    # The number stayed free: the real holder's account can still be opened.
    real = client.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": unique("real"),
            "kind": "citizen",
            "display_name": "本人",
            "password": "Citizen2026x",
            "roles": ["citizen"],
            "id_number": id_number,
        },
    )
    assert real.status_code == 201, real.text


def test_cli_operator_still_creates_administrators(runtime, client):
    username = unique("cliadm")
    result = run_cli(
        runtime,
        "user",
        "create",
        "--username",
        username,
        "--password",
        "Cli2026pass",
        "--role",
        "platform_admin",
        "--department",
        "DSJ",
    )
    assert result.exit_code == 0, result.output
    # Its role requires a second factor: the first login leads to enrolment, then it is in.
    enrol_through_pages(client, username, "Cli2026pass")
    assert "platform_admin" in _me(client, bearer(client, username, "Cli2026pass"))["roles"]


def test_cli_acting_for_a_department_admin_applies_its_limits(runtime, client):
    username = unique("cliesc")
    common = ["user", "create", "--username", username, "--password", "Cli2026pass", "--department", "CGJ"]
    refused = run_cli(runtime, *common, "--role", "platform_admin", "--as", "cgj_admin")
    assert refused.exit_code == 1 and "管理员角色" in refused.output
    allowed = run_cli(runtime, *common, "--role", "handler", "--as", "cgj_admin")
    assert allowed.exit_code == 0, allowed.output
    assert _me(client, bearer(client, username, "Cli2026pass"))["roles"] == ["handler"]
