"""Issuing, public verification, revocation, tampering, the wallet, and the transparency log endpoints."""

import base64
import hashlib
import json

import pytest
from sqlalchemy import text

from tests.conftest import bearer
from yiwang.certs import verifier
from yiwang.core.crypto import load_verifying_key


@pytest.fixture
def types(client, admin_headers):
    return {t["name"]: t["code"] for t in client.get("/api/certs/types", headers=admin_headers).json()}


def issue(client, headers, type_code, holder="lisi", department=None, data=None):
    """Issue through the API; without a department the type's issuing department signs."""
    body = {"type_code": type_code, "holder_username": holder, "data": data or {"k": "v"}}
    if department:
        body["department_code"] = department
    response = client.post("/api/certs/issue", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def checkpoint(client):
    body = client.get("/api/transparency/checkpoint").json()
    lines = body["checkpoint"].split("\n")
    return body, lines


def test_checkpoint_is_a_c2sp_signed_note(client, admin_headers, types):
    issue(client, admin_headers, types["居民户口簿"])
    body, lines = checkpoint(client)
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    assert origin == body["origin"] and size == body["tree_size"] >= 1 and len(root) == 32
    text_part, signature_part = body["checkpoint"].split("\n\n", 1)
    assert signature_part.startswith("\u2014 " + origin + " ")
    blob = base64.b64decode(signature_part.strip().split(" ")[-1])
    public = base64.b64decode(body["public_key"])
    algorithms = body["algorithms"]
    note_type = bytes.fromhex(algorithms["note_signature_type"])
    assert note_type == {"Ed25519": b"\x01", "SM2": b"\xff1.2.156.10197.1.501"}[algorithms["signature"]]
    # key ID = SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]; signature over the note text incl. final newline
    assert blob[:4] == hashlib.sha256(origin.encode() + b"\n" + note_type + public).digest()[:4]
    assert load_verifying_key(algorithms["signature"], public).verify(blob[4:], (text_part + "\n").encode())
    assert body["verifier_key"].split("+")[1] == blob[:4].hex() == algorithms["key_id"]
    assert verifier.verify_checkpoint(body["checkpoint"], body["verifier_key"]).tree_size == size


def test_issued_certificate_verifies_for_anyone(client, anon, admin_headers, types):
    cert = issue(client, admin_headers, types["居民户口簿"])
    result = anon.get(f"/api/certs/{cert['identifier']}/verify").json()
    assert result["ok"] is True, result
    assert {c["name"]: c["ok"] for c in result["checks"]} == {
        "identifier": True,
        "signature": True,
        "issuer": True,
        "inclusion": True,
        "revocation": True,
        "validity": True,
    }
    assert result["certificate"]["holder_name"] == "李*"  # masked for the public
    page = anon.get(f"/certs/verify/{cert['identifier']}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "核验通过" in page.text


def test_inclusion_is_checked_with_the_independent_verifier(client, anon, admin_headers, types):
    cert = issue(client, admin_headers, types["居民户口簿"])
    body, lines = checkpoint(client)
    size, root, hash_name = int(lines[1]), base64.b64decode(lines[2]), body["algorithms"]["hash"]
    index = cert["log_index"]
    proof = anon.get("/api/transparency/proof/inclusion", params={"index": index, "tree_size": size}).json()
    entry = anon.get("/api/transparency/entries", params={"start": index, "end": index + 1}).json()["entries"][0]
    leaf = base64.b64decode(entry["leaf_input"])
    assert json.loads(leaf)["identifier"] == cert["identifier"]
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    verifier.verify_inclusion(leaf=leaf, index=index, tree_size=size, path=path, root=root, hash_name=hash_name)
    # the log only grows: a later checkpoint is consistent with this one
    issue(client, admin_headers, types["居民户口簿"])
    _, later_lines = checkpoint(client)
    second, second_root = int(later_lines[1]), base64.b64decode(later_lines[2])
    consistency = anon.get("/api/transparency/proof/consistency", params={"first": size, "second": second}).json()
    verifier.verify_consistency(
        first=size,
        second=second,
        first_root=root,
        second_root=second_root,
        proof=[bytes.fromhex(h) for h in consistency["consistency"]],
        hash_name=hash_name,
    )


def test_the_whole_log_recomputes_to_the_checkpoint(client, anon):
    body, lines = checkpoint(client)
    size = int(lines[1])
    entries = []
    for start in range(0, size, 1000):
        page = anon.get("/api/transparency/entries", params={"start": start, "end": min(size, start + 1000)}).json()
        entries += [base64.b64decode(e["leaf_input"]) for e in page["entries"]]
    assert len(entries) == size
    assert verifier.root_of(entries, body["algorithms"]["hash"]) == base64.b64decode(lines[2])


def test_revocation_is_logged_and_fails_verification(client, anon, admin_headers, types):
    cert = issue(client, admin_headers, types["居民户口簿"])
    response = client.post(
        f"/api/certs/{cert['identifier']}/revoke", headers=admin_headers, json={"reason": "证照信息有误"}
    )
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    revocation = response.json()["revocation_log_index"]
    entry = anon.get("/api/transparency/entries", params={"start": revocation, "end": revocation + 1}).json()["entries"]
    assert json.loads(base64.b64decode(entry[0]["leaf_input"]))["type"] == "revoke"
    result = anon.get(f"/api/certs/{cert['identifier']}/verify").json()
    checks = {c["name"]: c for c in result["checks"]}
    assert (
        result["ok"] is False
        and checks["revocation"]["ok"] is False
        and "证照信息有误" in checks["revocation"]["message"]
    )
    assert checks["signature"]["ok"] and checks["inclusion"]["ok"]
    again = client.post(f"/api/certs/{cert['identifier']}/revoke", headers=admin_headers, json={"reason": "再次注销"})
    assert again.status_code == 409


def test_another_department_cannot_revoke(client, admin_headers, types):
    cert = issue(client, admin_headers, types["居民户口簿"], department="GAJ")
    response = client.post(
        f"/api/certs/{cert['identifier']}/revoke", headers=bearer(client, "cgj_admin"), json={"reason": "越权注销"}
    )
    assert response.status_code == 403


def test_tampered_certificate_fails_signature(client, anon, admin_headers, types, runtime):
    cert = issue(client, admin_headers, types["居民户口簿"], data={"户号": "0001"})
    with runtime.db.engine.begin() as conn:
        content = conn.execute(
            text("SELECT content FROM certs_certificate WHERE identifier = :i"), {"i": cert["identifier"]}
        ).scalar_one()
        conn.execute(
            text("UPDATE certs_certificate SET content = :c WHERE identifier = :i"),
            {"c": content.replace("0001", "0002"), "i": cert["identifier"]},
        )
    try:
        result = anon.get(f"/api/certs/{cert['identifier']}/verify").json()
    finally:
        with runtime.db.engine.begin() as conn:
            conn.execute(
                text("UPDATE certs_certificate SET content = :c WHERE identifier = :i"),
                {"c": content, "i": cert["identifier"]},
            )
    checks = {c["name"]: c for c in result["checks"]}
    assert result["ok"] is False and checks["signature"]["ok"] is False
    assert anon.get(f"/api/certs/{cert['identifier']}/verify").json()["ok"] is True  # restored: passes again


def test_tampered_log_entry_fails_inclusion(client, anon, admin_headers, types, runtime):
    cert = issue(client, admin_headers, types["居民户口簿"])
    where = {"g": cert["log_id"], "i": cert["log_index"]}
    with runtime.db.engine.begin() as conn:
        leaf = conn.execute(
            text("SELECT leaf_input FROM certs_log_leaf WHERE log_id = :g AND idx = :i"), where
        ).scalar_one()
        forged = bytes(leaf).replace(b'"issue"', b'"issuE"')
        conn.execute(
            text("UPDATE certs_log_leaf SET leaf_input = :l WHERE log_id = :g AND idx = :i"), where | {"l": forged}
        )
    try:
        result = anon.get(f"/api/certs/{cert['identifier']}/verify").json()
        body, lines = checkpoint(client)
        size = int(lines[1])
        proof = anon.get(
            "/api/transparency/proof/inclusion", params={"index": cert["log_index"], "tree_size": size}
        ).json()
    finally:
        with runtime.db.engine.begin() as conn:
            conn.execute(
                text("UPDATE certs_log_leaf SET leaf_input = :l WHERE log_id = :g AND idx = :i"), where | {"l": leaf}
            )
    checks = {c["name"]: c for c in result["checks"]}
    assert result["ok"] is False and checks["inclusion"]["ok"] is False
    # and anyone checking the served entry against the signed root finds the forgery
    with pytest.raises(verifier.ProofError):
        verifier.verify_inclusion(
            leaf=forged,
            index=cert["log_index"],
            tree_size=size,
            path=[bytes.fromhex(h) for h in proof["audit_path"]],
            root=base64.b64decode(lines[2]),
            hash_name=body["algorithms"]["hash"],
        )


def test_bad_identifiers_and_ranges_are_4xx(anon):
    result = anon.get("/api/certs/1.2.156.3005.2.NOTANID/verify")
    assert result.status_code == 200 and result.json()["ok"] is False
    assert result.json()["checks"][0]["name"] == "identifier"
    assert anon.get("/api/transparency/proof/inclusion", params={"index": 5, "tree_size": 5}).status_code == 422
    assert anon.get("/api/transparency/proof/inclusion", params={"index": 0, "tree_size": 10**9}).status_code == 422
    assert anon.get("/api/transparency/proof/consistency", params={"first": 9, "second": 3}).status_code == 422
    assert anon.get("/api/transparency/entries", params={"start": -1}).status_code == 422


def test_wallet_certificate_page_has_a_qr_code_to_verification(client, admin_headers, types):
    from tests.conftest import page_login

    cert = issue(client, admin_headers, types["居民户口簿"], holder="lisi")
    page_login(client, "lisi")
    wallet = client.get("/certs/wallet", headers={"accept": "text/html"})
    assert cert["identifier"] in wallet.text
    page = client.get(f"/certs/view/{cert['identifier']}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "<svg" in page.text
    assert f"/certs/verify/{cert['identifier']}" in page.text


def test_only_holder_or_issuer_sees_a_certificate(client, admin_headers, types):
    cert = issue(client, admin_headers, types["营业执照"], holder="lisi", department="SPJ")
    assert client.get(f"/api/certs/{cert['identifier']}", headers=bearer(client, "lisi")).status_code == 200
    assert client.get(f"/api/certs/{cert['identifier']}", headers=bearer(client, "zhangsan")).status_code == 403
    assert client.get(f"/api/certs/{cert['identifier']}", headers=bearer(client, "cgj_handler")).status_code == 403
    assert client.get(f"/api/certs/{cert['identifier']}", headers=bearer(client, "spj_handler")).status_code == 200
