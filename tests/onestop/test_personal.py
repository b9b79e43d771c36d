"""Personal data in applications: masked by default everywhere, clear only with the permission and a
reason (audited), and encrypted at rest."""

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from tests.conftest import bearer, csrf_from, page_login, unique
from yiwang.demo.people import demo_id_number

ZHANGSAN_ID = demo_id_number("19900307", 123)
ZHANGSAN_PHONE = "13912345678"
ADDRESS = "常熟市虞山街道书院街88号"


@dataclass
class Applied:
    number: str
    task_id: int


def _audit_total(client, number: str, outcome: str = "success") -> int:
    params = {"action": "personal.read_clear", "target_type": "application", "target_id": number, "outcome": outcome}
    return client.get("/api/audit/entries", headers=bearer(client, "auditor"), params=params).json()["total"]


@pytest.fixture
def applied(client, admin_headers) -> Applied:
    """zhangsan applies for a CGJ item whose form asks for his ID number, phone, name and address."""
    code = unique("T-PII-").upper()
    item = {
        "code": code,
        "basic_code": code,
        "department_code": "CGJ",
        "name": "测试：占道经营许可",
        "form": [
            {"name": "applicant_name", "label": "申请人", "prefill": "display_name", "personal": "name"},
            {"name": "applicant_id_number", "label": "身份证号码", "type": "id_number", "prefill": "id_number"},
            {"name": "contact_phone", "label": "手机号码", "type": "phone", "prefill": "phone"},
            {"name": "address", "label": "经营地址", "personal": "address"},
            {"name": "shop_name", "label": "店名"},
        ],
    }
    created = client.post("/api/onestop/items", headers=admin_headers, json=item)
    assert created.status_code == 201, created.text
    response = client.post(
        "/api/onestop/applications",
        headers=bearer(client, "zhangsan"),
        json={"item_code": code, "form": {"address": ADDRESS, "shop_name": "虞山面馆"}},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["form"]["applicant_id_number"] != ZHANGSAN_ID  # the applicant's own answer is masked too
    return Applied(body["number"], body["tasks"][0]["id"])


def test_a_handler_without_the_permission_sees_masked_values_and_no_audit_entry(client, applied):
    handler = bearer(client, "cgj_handler")
    response = client.get(f"/api/onestop/applications/{applied.number}", headers=handler)
    assert response.status_code == 200
    form = response.json()["form"]
    assert form["applicant_id_number"] == ZHANGSAN_ID[:6] + "********" + ZHANGSAN_ID[-4:]
    assert form["contact_phone"] == "139****5678"
    assert form["applicant_name"] == "张*"
    assert form["address"] == "常熟市虞山街道****"
    assert form["shop_name"] == "虞山面馆"
    assert response.json()["has_personal"] is True
    assert response.json()["applicant_name"] == "张*"
    for clear in (ZHANGSAN_ID, ZHANGSAN_PHONE, ADDRESS):
        assert clear not in response.text
    page_login(client, "cgj_handler")
    page = client.get(f"/onestop/tasks/{applied.task_id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "139****5678" in page.text
    assert ZHANGSAN_ID not in page.text and ZHANGSAN_PHONE not in page.text and "查看明文" not in page.text
    assert "张三" not in page.text and "张*" in page.text  # the applicant's name, in the header and the history
    assert _audit_total(client, applied.number) == 0
    # asking for the clear values anyway is refused, and the refusal is what the audit chain records
    refused = client.get(
        f"/api/onestop/applications/{applied.number}/personal", headers=handler, params={"reason": "核对身份"}
    )
    assert refused.status_code == 403 and ZHANGSAN_ID not in refused.text
    assert _audit_total(client, applied.number) == 0
    assert _audit_total(client, applied.number, outcome="denied") == 1


def test_with_the_permission_and_a_reason_staff_see_clear_values_and_the_read_is_audited(client, applied):
    admin = bearer(client, "cgj_admin")  # dept_admin of CGJ holds core.personal.read_clear
    url = f"/api/onestop/applications/{applied.number}/personal"
    assert client.get(url, headers=admin).status_code == 422  # no reason, no clear read
    assert _audit_total(client, applied.number) == 0
    response = client.get(url, headers=admin, params={"reason": "核实申请人身份"})
    assert response.status_code == 200, response.text
    assert response.json()["applicant_name"] == "张三"
    assert response.json()["fields"] == {
        "applicant_name": "张三",
        "applicant_id_number": ZHANGSAN_ID,
        "contact_phone": ZHANGSAN_PHONE,
        "address": ADDRESS,
    }
    entries = client.get(
        "/api/audit/entries",
        headers=bearer(client, "auditor"),
        params={"action": "personal.read_clear", "target_id": applied.number, "outcome": "success"},
    ).json()["items"]
    assert len(entries) == 1 and entries[0]["actor_name"] == "cgj_admin"
    assert json.loads(entries[0]["details"])["reason"] == "核实申请人身份"
    # staff holding the permission but outside the departments handling the application see nothing
    other = client.get(url, headers=bearer(client, "hbj_admin"), params={"reason": "核实申请人身份"})
    assert other.status_code == 403
    # the same through the task page: a reason, the clear values, an audit entry
    csrf = page_login(client, "cgj_admin")
    page = client.get(f"/onestop/tasks/{applied.task_id}", headers={"accept": "text/html"})
    assert ZHANGSAN_ID not in page.text and "查看明文" in page.text
    revealed = client.post(
        f"/onestop/tasks/{applied.task_id}/personal",
        data={"reason": "电话回访申请人", "csrf_token": csrf_from(page.text) or csrf},
        headers={"accept": "text/html"},
    )
    assert revealed.status_code == 200, revealed.text
    assert ZHANGSAN_ID in revealed.text and "已记入审计日志" in revealed.text
    assert _audit_total(client, applied.number) == 2


def test_the_database_row_holds_no_clear_personal_data(client, applied, runtime):
    from yiwang.onestop import personal

    # a supplement correcting the phone keeps it encrypted as well
    with runtime.db.engine.begin() as conn:
        conn.execute(text("UPDATE onestop_task SET stage = 'supplement' WHERE id = :t"), {"t": applied.task_id})
    corrected = client.post(
        f"/api/onestop/applications/{applied.number}/supplement",
        headers=bearer(client, "zhangsan"),
        json={"form": {"contact_phone": "13700001111"}, "note": "更正电话"},
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["form"]["contact_phone"] == "137****1111"
    with runtime.db.engine.connect() as conn:
        row = (
            conn.execute(text("SELECT * FROM onestop_application WHERE number = :n"), {"n": applied.number})
            .one()
            ._asdict()
        )
    raw = json.dumps(row, ensure_ascii=False, default=str)
    for clear in (ZHANGSAN_ID, ZHANGSAN_PHONE, "13700001111", ADDRESS):
        assert clear not in raw
    field_key = runtime.keyring.current("field")
    assert row["personal_data"].startswith(f"{field_key.algorithm}:{field_key.version}:")
    clear = personal.unseal(runtime.cipher, applied.number, row["personal_data"])
    assert clear["applicant_id_number"] == ZHANGSAN_ID and clear["contact_phone"] == "13700001111"
    # the ciphertext is bound to its application: moved to another row it does not open
    with pytest.raises(Exception):  # noqa: B017  (cryptography's InvalidTag)
        personal.unseal(runtime.cipher, applied.number + "X", row["personal_data"])


def test_a_bad_supplement_value_is_refused_not_stored(client, applied, runtime):
    with runtime.db.engine.begin() as conn:
        conn.execute(text("UPDATE onestop_task SET stage = 'supplement' WHERE id = :t"), {"t": applied.task_id})
    response = client.post(
        f"/api/onestop/applications/{applied.number}/supplement",
        headers=bearer(client, "zhangsan"),
        json={"form": {"contact_phone": "12345", "unknown_field": "x"}},
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "form_invalid"


def test_no_demo_application_keeps_a_clear_id_number(runtime):
    """The demo's applications went through the same path: personal fields sealed, none in clear."""
    from yiwang.core.identifiers import id_number_check_char

    def is_id_number(value: object) -> bool:
        return (
            isinstance(value, str)
            and len(value) == 18
            and value[:17].isdigit()
            and id_number_check_char(value[:17]) == value[17]
        )

    with runtime.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT form_data, personal_data FROM onestop_application")).all()
    assert rows and any(personal_data for _, personal_data in rows)
    assert not [v for form_data, _ in rows for v in json.loads(form_data).values() if is_id_number(v)]
