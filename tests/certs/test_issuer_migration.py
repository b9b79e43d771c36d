"""certs_0003: existing certificate types get the department that issues them."""

from datetime import UTC, date, datetime

from sqlalchemy import text

from tests.onestop.test_personal_migration import old_database  # noqa: F401  (fixture)
from yiwang.core.migrate import upgrade

IDENTITY_CARD = "11100000000000GABR001"  # the demo's 居民身份证
LOCAL_PERMIT = "11100000000000TEST001"  # a deployment's own type, issued so far by ZJJ (and once by CGJ)
NEVER_ISSUED = "11100000000000TEST002"


def test_types_get_their_issuer_from_the_demo_mapping_or_from_who_signed_them(old_database):  # noqa: F811
    upgrade(old_database, "certs_0002")
    now = datetime.now(UTC)
    with old_database.begin() as conn:
        for type_id, code in ((1, IDENTITY_CARD), (2, LOCAL_PERMIT), (3, NEVER_ISSUED)):
            conn.execute(
                text(
                    "INSERT INTO certs_type (id, code, name, ministry, holder_kind, high_frequency, created_at)"
                    " VALUES (:id, :code, :code, '测试部', 'citizen', false, :now)"
                ),
                {"id": type_id, "code": code, "now": now},
            )
        for key_id, department in ((1, "ZJJ"), (2, "CGJ")):
            conn.execute(
                text(
                    "INSERT INTO certs_issuer_key (id, department_id, department_code, issuer_code, name,"
                    " public_key, key_file, active, created_at) VALUES (:id, :id, :d, 'x', :d, 'k', 'f', true, :now)"
                ),
                {"id": key_id, "d": department, "now": now},
            )
        signers = [(1, 2), (2, 1), (3, 1), (4, 1), (5, 2)]  # CGJ signed an identity card and one permit
        for cert_id, key_id in signers:
            conn.execute(
                text(
                    "INSERT INTO certs_certificate (id, identifier, type_id, serial, holder_name, issuer_key_id,"
                    " content, signature, issued_at, valid_from, status, log_index) VALUES (:id, :ident, :type,"
                    " 's', '某', :key, '{}', 'sig', :now, :day, 'valid', :id)"
                ),
                {
                    "id": cert_id,
                    "ident": f"C{cert_id}",
                    "type": 1 if cert_id == 1 else 2,
                    "key": key_id,
                    "now": now,
                    "day": date(2026, 1, 1),
                },
            )
    upgrade(old_database)
    with old_database.connect() as conn:
        issuers = dict(conn.execute(text("SELECT code, issuer_department_code FROM certs_type")).all())
    assert issuers == {IDENTITY_CARD: "GAJ", LOCAL_PERMIT: "ZJJ", NEVER_ISSUED: None}
