"""onestop_0002 encrypts the personal fields of applications stored before it, on SQLite and PostgreSQL."""

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.conftest import unique
from yiwang.core.crypto import FieldCipher
from yiwang.core.db import make_engine
from yiwang.core.migrate import upgrade
from yiwang.demo.people import demo_id_number

ID_NUMBER = demo_id_number("19850214", 321)
TYPED_INTO_A_TEXT_FIELD = demo_id_number("19600101", 555)
PHONE = "13800138000"
FORM = [
    {"name": "applicant_id_number", "label": "身份证号码", "type": "id_number"},
    {"name": "contact_phone", "label": "电话", "type": "phone"},
    {"name": "note", "label": "备注"},
]


@pytest.fixture
def old_database(tmp_path, settings) -> Iterator[Engine]:
    """An empty database of its own: a SQLite file, or a fresh schema of this worker's PostgreSQL database."""
    if not settings.database_url:
        engine = make_engine(f"sqlite:///{tmp_path / 'before.db'}")
        yield engine
        engine.dispose()
        return
    schema = unique("mig_").lower()
    admin = create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(settings.database_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _store_old_rows(engine: Engine) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO onestop_item (id, code, basic_code, name, department_id, department_code, category,"
                " audience, legal_basis, conditions, legal_days, promised_days, visits, fee, fee_note, process,"
                " online, online_depth, entry_point, form, active, updated_at) VALUES (1, 'T-1', 'T-1', '测试事项',"
                " 1, 'CGJ', '公共服务', 'citizen', '', '', 20, 5, 0, false, '', '[]', true, 4, false, :form, true,"
                " :now)"
            ),
            {"form": json.dumps(FORM, ensure_ascii=False), "now": now},
        )
        rows = [
            (1, "BJ-20261201-000001", 1, {"applicant_id_number": ID_NUMBER, "contact_phone": PHONE, "note": "无"}),
            # an item since deleted: its form is unknown, yet an ID number typed anywhere is still found
            (2, "BJ-20261201-000002", None, {"note": TYPED_INTO_A_TEXT_FIELD, "shop": "虞山面馆"}),
            (3, "BJ-20261201-000003", 1, {"note": "无个人信息"}),
        ]
        for row_id, number, item_id, form in rows:
            conn.execute(
                text(
                    "INSERT INTO onestop_application (id, number, applicant_id, applicant_name, applicant_kind,"
                    " item_id, title, status, form_data, channel, submitted_at) VALUES (:id, :number, 1, '某某',"
                    " 'citizen', :item, '测试', 'processing', :form, 'online', :now)"
                ),
                {"id": row_id, "number": number, "item": item_id, "form": json.dumps(form), "now": now},
            )


def test_the_upgrade_encrypts_the_personal_fields_of_existing_applications(old_database):
    upgrade(old_database, "onestop_0001")
    _store_old_rows(old_database)
    master = secrets.token_bytes(32)
    cipher = FieldCipher.legacy(master)
    upgrade(old_database, master_key=master)
    upgrade(old_database, master_key=master)  # a second run changes nothing
    with old_database.connect() as conn:
        rows = {
            r.number: r for r in conn.execute(text("SELECT number, form_data, personal_data FROM onestop_application"))
        }
    first, second, third = (rows[f"BJ-20261201-00000{n}"] for n in (1, 2, 3))
    raw = json.dumps([list(r) for r in rows.values()], ensure_ascii=False)
    for clear in (ID_NUMBER, PHONE, TYPED_INTO_A_TEXT_FIELD):
        assert clear not in raw
    assert json.loads(first.form_data) == {
        "applicant_id_number": ID_NUMBER[:6] + "********" + ID_NUMBER[-4:],
        "contact_phone": "138****8000",
        "note": "无",
    }
    context = "onestop_application.personal_data:"
    sealed = json.loads(cipher.decrypt(first.personal_data, context=context + first.number))
    assert sealed == {"applicant_id_number": ID_NUMBER, "contact_phone": PHONE}
    assert json.loads(cipher.decrypt(second.personal_data, context=context + second.number)) == {
        "note": TYPED_INTO_A_TEXT_FIELD
    }
    assert json.loads(second.form_data)["shop"] == "虞山面馆"
    assert third.personal_data is None and json.loads(third.form_data) == {"note": "无个人信息"}
