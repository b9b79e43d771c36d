"""A submission reads the applicant's clear personal data only to pre-fill what the form leaves out, and
appends to the audit chain last: every audited write in the city queues on the chain's head row from
its first append to its commit."""

from sqlalchemy import func, select

from tests.conftest import bearer, unique
from yiwang.core.audit import AuditEntry
from yiwang.demo.people import demo_id_number

ZHANGSAN_ID = demo_id_number("19900307", 123)


def _item(client, admin_headers) -> str:
    code = unique("T-AUD-").upper()
    item = {
        "code": code,
        "basic_code": code,
        "department_code": "CGJ",
        "name": "测试：门头招牌设置",
        "form": [
            {"name": "applicant_name", "label": "申请人", "prefill": "display_name", "personal": "name"},
            {"name": "applicant_id_number", "label": "身份证号码", "type": "id_number", "prefill": "id_number"},
            {"name": "contact_phone", "label": "手机号码", "type": "phone", "prefill": "phone", "required": False},
            {"name": "shop_name", "label": "店名"},
        ],
    }
    assert client.post("/api/onestop/items", headers=admin_headers, json=item).status_code == 201
    return code


def _submit_and_audited_actions(client, runtime, code: str, form: dict) -> list[str]:
    headers = bearer(client, "zhangsan")  # signing in is audited too: before the count starts
    with runtime.db.unit_of_work() as db:
        before = db.execute(select(func.max(AuditEntry.seq))).scalar_one()
    response = client.post("/api/onestop/applications", headers=headers, json={"item_code": code, "form": form})
    assert response.status_code == 201, response.text
    with runtime.db.unit_of_work() as db:
        rows = db.execute(
            select(AuditEntry.action)
            .where(AuditEntry.seq > before, AuditEntry.actor_name == "zhangsan")
            .order_by(AuditEntry.seq)
        ).scalars()
        return list(rows)


def test_a_form_that_gives_every_prefilled_field_reads_no_personal_data(client, runtime, admin_headers):
    code = _item(client, admin_headers)
    form = {"applicant_id_number": ZHANGSAN_ID, "contact_phone": "13912345678", "shop_name": "虞山面馆"}
    assert _submit_and_audited_actions(client, runtime, code, form) == ["onestop.application.submit"]


def test_a_form_that_leaves_the_id_number_out_is_prefilled_with_an_audited_read(client, runtime, admin_headers):
    code = _item(client, admin_headers)
    actions = _submit_and_audited_actions(client, runtime, code, {"shop_name": "虞山面馆"})
    assert actions == ["personal.read_clear", "onestop.application.submit"]
