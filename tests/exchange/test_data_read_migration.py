"""exchange_0002: system clients of consumer departments keep reading their grants after the upgrade."""

from datetime import UTC, date, datetime

from sqlalchemy import text

from tests.onestop.test_personal_migration import old_database  # noqa: F401  (fixture)
from yiwang.core.migrate import upgrade


def test_consumer_clients_get_the_data_read_scope_and_no_one_else(old_database):  # noqa: F811
    upgrade(old_database, "exchange_0001")
    now = datetime.now(UTC)
    with old_database.begin() as conn:
        for dept_id, code in ((1, "DSJ"), (2, "CGJ")):
            conn.execute(
                text(
                    "INSERT INTO org_department (id, code, short_name, full_name, kind, active)"
                    " VALUES (:id, :code, :code, :code, 'department', true)"
                ),
                {"id": dept_id, "code": code},
            )
        users = [
            (1, "dsj-client", "system", 1, "org.department.read"),
            (2, "cgj-client", "system", 2, "org.department.read"),
            (3, "dsj-staff", "staff", 1, ""),
        ]
        for user_id, username, kind, dept_id, scopes in users:
            conn.execute(
                text(
                    "INSERT INTO org_user (id, username, kind, display_name, department_id, active, scopes,"
                    " failed_logins, must_change_password, created_at) VALUES (:id, :u, :k, :u, :d, true, :s, 0,"
                    " false, :now)"
                ),
                {"id": user_id, "u": username, "k": kind, "d": dept_id, "s": scopes, "now": now},
            )
        conn.execute(
            text(
                "INSERT INTO exch_application (id, number, entry_code, provider_department_id,"
                " consumer_department_id, applicant_name, fields, row_filter, purpose, period_end, status,"
                " provider_opinion, bureau_opinion, refusal_reason, created_at) VALUES (1, 'GX-1', 'E-1', 2, 1,"
                " 'x', '[]', '{}', '测试用途', :end, 'granted', '', '', '', :now)"
            ),
            {"end": date(2030, 1, 1), "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO exch_grant (application_id, entry_code, provider_department_id, consumer_department_id,"
                " fields, row_filter, masking, expires_at, revoke_reason, created_by, created_at) VALUES (1, 'E-1',"
                " 2, 1, '[]', '{}', '{}', :now, '', 'x', :now)"
            ),
            {"now": now},
        )
    upgrade(old_database)
    with old_database.connect() as conn:
        scopes = dict(conn.execute(text("SELECT username, scopes FROM org_user")).all())
    assert scopes == {
        "dsj-client": "org.department.read exchange.data.read",  # DSJ consumes a grant
        "cgj-client": "org.department.read",  # CGJ only provides
        "dsj-staff": "",  # staff get it through their roles
    }
