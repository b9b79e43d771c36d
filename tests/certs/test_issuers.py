"""Only the department a certificate type names as issuer signs it; verification checks the signer."""

import base64

import pytest
from sqlalchemy import text

from tests.conftest import bearer
from yiwang.certs import service as certs_service
from yiwang.core.errors import PermissionDenied
from yiwang.core.security import Principal


@pytest.fixture
def types(client, admin_headers):
    return {t["name"]: t for t in client.get("/api/certs/types", headers=admin_headers).json()}


def _issue(client, headers, type_code, department=None, holder="lisi"):
    body = {"type_code": type_code, "holder_username": holder, "data": {"说明": "测试"}}
    if department:
        body["department_code"] = department
    return client.post("/api/certs/issue", headers=headers, json=body)


def _tree_size(client) -> int:
    return client.get("/api/transparency/checkpoint").json()["tree_size"]


def _denied_issues(client, type_code: str) -> int:
    params = {"action": "certs.certificate.issue", "outcome": "denied", "target_id": type_code, "actor": "cgj_handler"}
    return client.get("/api/audit/entries", headers=bearer(client, "auditor"), params=params).json()["total"]


def test_a_city_management_handler_cannot_issue_an_identity_card(client, types):
    """The attack: cgj_handler issued a 居民身份证 signed with CGJ's key, and verification accepted it."""
    identity = types["居民身份证"]["code"]
    assert types["居民身份证"]["issuer_department_code"] == "GAJ"
    handler = bearer(client, "cgj_handler")
    before, denied_before = _tree_size(client), _denied_issues(client, identity)
    own_key = _issue(client, handler, identity, department="CGJ")
    assert own_key.status_code == 403, own_key.text
    assert own_key.json()["error"]["code"] == "not_type_issuer"
    issuer_key = _issue(client, handler, identity, department="GAJ")
    assert issuer_key.status_code == 403 and issuer_key.json()["error"]["code"] == "department_scope"
    unnamed = _issue(client, handler, identity)
    assert unnamed.status_code == 403 and unnamed.json()["error"]["code"] == "department_scope"
    assert _tree_size(client) == before  # nothing was signed or logged
    assert _denied_issues(client, identity) == denied_before + 3  # each attempt is in the audit chain


def test_the_types_issuer_signs_and_a_handler_issues_its_own_departments_type(client, anon, types, admin_headers):
    licence = types["户外广告设施设置许可"]
    assert licence["issuer_department_code"] == "CGJ"
    response = _issue(client, bearer(client, "cgj_handler"), licence["code"], holder="yushan_tech")
    assert response.status_code == 201, response.text
    assert response.json()["issuer_code"] == certs_service.department_credit_code("CGJ")
    result = anon.get(f"/api/certs/{response.json()['identifier']}/verify").json()
    checks = {c["name"]: c for c in result["checks"]}
    assert result["ok"] is True and checks["issuer"]["ok"] is True
    # cross-department staff may act, but the signature is still the type's issuer's
    by_admin = _issue(client, admin_headers, types["居民身份证"]["code"])
    assert by_admin.status_code == 201
    assert by_admin.json()["issuer_code"] == certs_service.department_credit_code("GAJ")


def test_issuing_needs_the_issue_permission_even_through_the_service(runtime):
    """Other domains call the service directly; it checks the permission itself, not only the route."""
    clerk = Principal(
        user_id=None, username="t:clerk", display_name="测试", kind="staff", permissions=frozenset({"core.scope.all"})
    )
    with pytest.raises(PermissionDenied) as refused, runtime.db.unit_of_work() as db:
        code = next(t.code for t in certs_service.list_types(db) if t.name == "居民户口簿")
        certs_service.issue_certificate(
            db,
            actor=clerk,
            signing=runtime.certificate_signing,
            type_code=code,
            holder_user_id=None,
            holder_name="某",
            holder_code_masked=None,
            data={},
        )
    assert refused.value.details == {"missing": ["certs.certificate.issue"]}


def test_a_certificate_signed_by_another_department_fails_verification(client, anon, types, runtime):
    """A forged 居民身份证 signed with CGJ's key (as issued before the rule) fails the public checks."""
    identity = types["居民身份证"]["code"]
    set_issuer = text("UPDATE certs_type SET issuer_department_code = :d WHERE code = :c")
    with runtime.db.engine.begin() as conn:  # recreate what the old code let cgj_handler do
        conn.execute(set_issuer, {"d": "CGJ", "c": identity})
    try:
        forged = _issue(client, bearer(client, "cgj_handler"), identity, department="CGJ")
    finally:
        with runtime.db.engine.begin() as conn:
            conn.execute(set_issuer, {"d": "GAJ", "c": identity})
    assert forged.status_code == 201, forged.text
    identifier = forged.json()["identifier"]
    result = anon.get(f"/api/certs/{identifier}/verify").json()
    checks = {c["name"]: c for c in result["checks"]}
    assert result["ok"] is False
    assert checks["signature"]["ok"] is True  # the signature itself is genuine…
    assert checks["issuer"]["ok"] is False and "CGJ" in checks["issuer"]["message"]  # …by the wrong department
    page = anon.get(f"/certs/verify/{identifier}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "核验未通过" in page.text and "无权颁发" in page.text
    # the signing key the public sees is CGJ's, so an offline checker reaches the same answer
    keys = {k["name"]: k for k in anon.get("/api/certs/keys").json()}
    assert keys[result["certificate"]["issuer_key"]]["department"] == "CGJ"
    assert base64.b64decode(result["certificate"]["issuer_public_key"])


def test_a_type_must_name_an_existing_issuing_department(client, admin_headers):
    body = {"code": "11100000000000GABR099", "name": "测试证照", "ministry": "公安部"}
    missing = client.post("/api/certs/types", headers=admin_headers, json=body)
    assert missing.status_code == 422
    unknown = client.post("/api/certs/types", headers=admin_headers, json=body | {"issuer_department_code": "NOPE"})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_issuer"
