"""Department scope: staff reach their own department and its sub-units only, unless a role grants more."""

from tests.conftest import bearer, unique


def _user_id(client, admin_headers, username: str) -> int:
    items = client.get("/api/org/users", headers=admin_headers, params={"q": username}).json()["items"]
    return next(item["id"] for item in items if item["username"] == username)


def _subtree_codes(client, admin_headers, code: str) -> set[str]:
    departments = client.get("/api/org/departments", headers=admin_headers).json()
    by_id = {d["id"]: d for d in departments}
    root = next(d["id"] for d in departments if d["code"] == code)

    def under(d: dict) -> bool:
        while d is not None:
            if d["id"] == root:
                return True
            d = by_id.get(d["parent_id"])
        return False

    return {d["code"] for d in departments if under(d)}


def test_department_admin_lists_only_own_department_and_sub_units(client, admin_headers):
    listed = client.get("/api/org/users", headers=bearer(client, "cgj_admin"), params={"size": 200}).json()
    departments = {item["department_code"] for item in listed["items"]}
    subtree = _subtree_codes(client, admin_headers, "CGJ")
    assert {"CGJ", "CGJ_ZFDD"} <= subtree and "HBJ" not in subtree
    assert departments <= subtree
    assert {"cgj_handler", "cgj_zfdd_handler"} <= {item["username"] for item in listed["items"]}


def test_department_admin_cannot_read_or_change_another_departments_account(client, admin_headers):
    other = _user_id(client, admin_headers, "hbj_steward")
    headers = bearer(client, "cgj_admin")
    read = client.get(f"/api/org/users/{other}", headers=headers)
    assert read.status_code == 403 and read.json()["error"]["code"] == "department_scope"
    change = client.patch(f"/api/org/users/{other}", headers=headers, json={"display_name": "改名"})
    assert change.status_code == 403
    create = client.post(
        "/api/org/users",
        headers=headers,
        json={
            "username": unique("x"),
            "kind": "staff",
            "display_name": "越权",
            "password": "Abcdefg123",
            "department_code": "HBJ",
            "roles": ["handler"],
        },
    )
    assert create.status_code == 403
    # Its own department works.
    own = _user_id(client, admin_headers, "cgj_handler")
    assert client.get(f"/api/org/users/{own}", headers=headers).status_code == 200


def test_department_admin_cannot_move_an_account_out_of_scope(client, admin_headers):
    own = _user_id(client, admin_headers, "cgj_zfdd_handler")
    moved = client.patch(f"/api/org/users/{own}", headers=bearer(client, "cgj_admin"), json={"department_code": "HBJ"})
    assert moved.status_code == 403
    assert client.get(f"/api/org/users/{own}", headers=admin_headers).json()["department_code"] == "CGJ_ZFDD"


def test_platform_admin_reaches_every_department(client, admin_headers):
    other = _user_id(client, admin_headers, "hbj_steward")
    assert client.get(f"/api/org/users/{other}", headers=admin_headers).status_code == 200


def test_handler_cannot_manage_accounts_at_all(client, admin_headers):
    headers = bearer(client, "cgj_handler")
    assert client.get("/api/org/users", headers=headers).status_code == 403
    own_id = _user_id(client, admin_headers, "cgj_handler")
    assert client.get(f"/api/org/users/{own_id}", headers=headers).status_code == 200  # own account


def test_role_permissions_are_checked_from_the_database(client, security_headers):
    headers = bearer(client, "leader")
    roles = {r["code"]: r for r in client.get("/api/org/roles", headers=security_headers).json()}
    leader = roles["leader"]["permissions"]
    assert client.get("/api/org/users", headers=headers).status_code == 403
    granted = client.put(
        "/api/org/roles/leader/permissions", headers=security_headers, json={"permissions": [*leader, "org.user.read"]}
    )
    assert granted.status_code == 200
    try:
        assert client.get("/api/org/users", headers=bearer(client, "leader")).status_code == 200
    finally:
        client.put("/api/org/roles/leader/permissions", headers=security_headers, json={"permissions": leader})
    unknown = client.put(
        "/api/org/roles/leader/permissions", headers=security_headers, json={"permissions": ["no.such.permission"]}
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["details"]["unknown"] == ["no.such.permission"]
