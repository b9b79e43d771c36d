"""Personal fields: encrypted at rest, masked in every output, clear reads allowed narrowly and audited."""

from sqlalchemy import select

from tests.conftest import bearer, unique
from yiwang.demo.people import demo_id_number
from yiwang.org.models import User


def _create_citizen(client, admin_headers, id_number: str, phone: str = "13955556666") -> dict:
    response = client.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": unique("citizen"),
            "kind": "citizen",
            "display_name": "王小明",
            "password": "Citizen2026a",
            "roles": ["citizen"],
            "id_number": id_number,
            "phone": phone,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_personal_fields_are_encrypted_at_rest_and_masked_on_output(client, admin_headers, runtime):
    id_number = demo_id_number("20000101", 301)
    created = _create_citizen(client, admin_headers, id_number)
    assert created["id_number"] == id_number[:6] + "********" + id_number[-4:]
    assert created["phone"] == "139****6666"
    with runtime.db.unit_of_work() as db:
        row = db.execute(select(User).where(User.id == created["id"])).scalar_one()
        stored = " ".join(str(v) for v in (row.id_number_enc, row.id_number_hash, row.phone_enc, row.phone_hash))
    assert id_number not in stored and "13955556666" not in stored
    listed = client.get("/api/org/users", headers=admin_headers, params={"q": created["username"]}).text
    assert id_number not in listed and "13955556666" not in listed


def test_duplicate_id_number_is_found_through_the_keyed_hash(client, admin_headers):
    id_number = demo_id_number("20010202", 402)
    _create_citizen(client, admin_headers, id_number)
    again = client.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": unique("dup"),
            "kind": "citizen",
            "display_name": "重复",
            "password": "Citizen2026a",
            "roles": ["citizen"],
            "id_number": id_number.lower(),
        },
    )
    assert again.status_code == 409


def test_clear_read_is_audited_with_reason(client, admin_headers, auditor_headers):
    id_number = demo_id_number("20020303", 503)
    created = _create_citizen(client, admin_headers, id_number)
    response = client.get(
        f"/api/org/users/{created['id']}/personal", headers=admin_headers, params={"reason": "核实身份"}
    )
    assert response.status_code == 200
    assert response.json()["id_number"] == id_number and response.json()["phone"] == "13955556666"
    entries = client.get(
        "/api/audit/entries",
        headers=auditor_headers,
        params={"action": "personal.read_clear", "target_type": "user", "target_id": str(created["id"])},
    ).json()["items"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["actor_name"] == "admin" and entry["outcome"] == "success"
    assert "核实身份" in entry["details"] and id_number not in entry["details"]


def test_clear_read_needs_a_reason(client, admin_headers):
    created = _create_citizen(client, admin_headers, demo_id_number("20030404", 604))
    response = client.get(f"/api/org/users/{created['id']}/personal", headers=admin_headers)
    assert response.status_code == 422


def test_staff_without_the_right_are_refused_and_the_attempt_is_audited(client, admin_headers, auditor_headers):
    target = client.get("/api/org/users", headers=admin_headers, params={"q": "cgj_handler"}).json()["items"][0]
    response = client.get(
        f"/api/org/users/{target['id']}/personal", headers=bearer(client, "leader"), params={"reason": "好奇"}
    )
    assert response.status_code == 403
    denied = client.get(
        "/api/audit/entries",
        headers=auditor_headers,
        params={"action": "personal.read_clear", "target_id": str(target["id"]), "outcome": "denied"},
    ).json()["items"]
    assert denied and denied[0]["actor_name"] == "leader"


def test_holder_reads_own_data_in_clear_and_that_is_audited_too(client, auditor_headers):
    me = client.get("/api/auth/me", headers=bearer(client, "zhangsan")).json()
    response = client.get(
        f"/api/org/users/{me['user_id']}/personal", headers=bearer(client, "zhangsan"), params={"reason": "本人查看"}
    )
    assert response.status_code == 200
    assert response.json()["id_number"] == demo_id_number("19900307", 123)
    entries = client.get(
        "/api/audit/entries", headers=auditor_headers, params={"action": "personal.read_clear", "actor": "zhangsan"}
    ).json()["items"]
    assert entries and '"own":true' in entries[0]["details"]


def test_citizen_cannot_read_another_citizens_data(client, admin_headers):
    lisi = client.get("/api/org/users", headers=admin_headers, params={"q": "lisi"}).json()["items"][0]
    response = client.get(
        f"/api/org/users/{lisi['id']}/personal", headers=bearer(client, "zhangsan"), params={"reason": "看看"}
    )
    assert response.status_code == 403


def test_invalid_identifiers_are_refused_with_field_errors(client, admin_headers):
    response = client.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": unique("bad"),
            "kind": "citizen",
            "display_name": "错号",
            "password": "Citizen2026a",
            "roles": ["citizen"],
            "id_number": "320581199003071230",
        },
    )
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "validation_failed"
    assert body["details"][0]["loc"][-1] == "id_number" and "校验位" in body["details"][0]["msg"]
    response = client.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": unique("bad"),
            "kind": "enterprise",
            "display_name": "错码公司",
            "password": "Company2026a",
            "roles": ["enterprise"],
            "credit_code": "91110000600037341M",
        },
    )
    assert response.status_code == 422
    response = client.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": unique("ent"),
            "kind": "enterprise",
            "display_name": "个体户（演示）",
            "password": "Company2026a",
            "roles": ["enterprise"],
            "credit_code": "Y1320581MA1234567" + _check("Y1320581MA1234567"),
        },
    )
    assert response.status_code == 201


def _check(first17: str) -> str:
    from yiwang.core.identifiers import credit_code_check_char

    return credit_code_check_char(first17)
