"""A fresh gm installation: SM2 seals per department, a log over SM3 with SM2-signed checkpoints that
the shipped verifier and the openssl command line both accept, and tampering caught in either."""

import base64
import json
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.certs.platforms import admin, fresh_platform, issue, type_codes
from yiwang.certs import verifier, verify_log
from yiwang.core.crypto import GM, SM2, load_verifying_key

SM2_NOTE_TYPE = b"\xff1.2.156.10197.1.501"


@pytest.fixture(scope="module")
def gm_app(tmp_path_factory, templates, runtime):
    yield from fresh_platform(tmp_path_factory, templates, runtime, "gm")


@pytest.fixture
def gm(gm_app):
    with TestClient(gm_app, base_url="http://testserver") as client:
        yield client


def _openssl_verifies(tmp_path: Path, public_pem: str, signature: bytes, message: bytes) -> bool:
    (tmp_path / "pub.pem").write_text(public_pem)
    (tmp_path / "sig").write_bytes(signature)
    (tmp_path / "msg").write_bytes(message)
    done = subprocess.run(
        [
            "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"), "-rawin",
            "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig"),
            "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
        ],
        capture_output=True,
    )  # fmt: skip
    return done.returncode == 0 and b"Signature Verified Successfully" in done.stdout


def test_a_fresh_gm_installation_starts_with_a_gm_log(gm):
    issue(gm, admin(gm), type_codes(gm, admin(gm))["居民户口簿"])
    body = gm.get("/api/transparency/checkpoint").json()
    assert body["log_id"] == 1 and body["state"] == "active" and body["origin"] == "yiwang.320581.gov.cn/certs-log"
    assert body["algorithms"]["hash"] == "SM3" and body["algorithms"]["signature"] == "SM2"
    assert bytes.fromhex(body["algorithms"]["note_signature_type"]) == SM2_NOTE_TYPE
    public = base64.b64decode(body["public_key"])
    assert len(public) == 65 and public[0] == 4  # the uncompressed SM2 point
    vkey = body["verifier_key"]
    assert base64.b64decode(vkey.split("+", 2)[2]) == SM2_NOTE_TYPE + public
    checked = verifier.verify_checkpoint(body["checkpoint"], vkey)
    assert checked.tree_size == body["tree_size"] >= 1
    assert [line.split(" ")[0] for line in checked.extensions] == ["timestamp"]
    assert [log["origin"] for log in gm.get("/api/transparency/logs").json()] == [body["origin"]]


def test_the_checkpoint_signature_verifies_with_openssl(gm, tmp_path):
    body = gm.get("/api/transparency/checkpoint").json()
    signed_text, _, signature_line = body["checkpoint"].partition("\n\n")
    signature = base64.b64decode(signature_line.strip().split(" ")[-1])[4:]  # after the 4-byte key ID
    message = (signed_text + "\n").encode()
    assert _openssl_verifies(tmp_path, body["public_key_pem"], signature, message)
    assert not _openssl_verifies(tmp_path, body["public_key_pem"], signature, message.replace(b"\n", b"\n ", 1))
    # a signature line of another key is ignored; a bad signature of the known key rejects the note
    forged = body["checkpoint"].replace(signature_line.strip().split(" ")[-1], base64.b64encode(b"\0" * 80).decode())
    with pytest.raises(verifier.ProofError):
        verifier.verify_checkpoint(forged, body["verifier_key"])


def test_an_sm2_seal_names_its_key_and_verifies(gm, gm_app):
    cert = issue(gm, admin(gm), type_codes(gm, admin(gm))["营业执照"])
    result = gm.get(f"/api/certs/{cert['identifier']}/verify").json()
    assert result["ok"] is True, result
    checks = {c["name"]: c for c in result["checks"]}
    assert "SPJ 第 1 版" in checks["signature"]["message"] and "SM2" in checks["signature"]["message"]
    assert "SM3 树，SM2 签名" in checks["inclusion"]["message"]
    summary = result["certificate"]
    assert summary["signature_algorithm"] == "SM2" and summary["issuer_key_version"] == 1
    keys = {k["name"]: k for k in gm.get("/api/certs/keys").json()}
    key = keys[summary["issuer_key"]]
    raw = base64.b64decode(key["public_key"])
    assert key["algorithm"] == "SM2" and key["version"] == 1 and key["department"] == "SPJ" and key["active"]
    assert key["key_id"] == GM.digest(raw)[:8].hex() and key["not_after"] is None and not key["retired"]
    with gm_app.state.runtime.db.engine.connect() as conn:
        content, signature = conn.execute(
            text("SELECT content, signature FROM certs_certificate WHERE identifier = :i"), {"i": cert["identifier"]}
        ).one()
        leaf = conn.execute(
            text("SELECT leaf_input FROM certs_log_leaf WHERE log_id = :g AND idx = :i"),
            {"g": cert["log_id"], "i": cert["log_index"]},
        ).scalar_one()
    signed = json.loads(content)
    assert signed["key"] == key["name"] and signed["key_version"] == 1 and signed["signature_algorithm"] == "SM2"
    assert load_verifying_key(SM2, raw).verify(base64.b64decode(signature), content.encode())
    entry = json.loads(bytes(leaf))
    assert entry["content_sm3"] == GM.hexdigest(content.encode()) and entry["signature_algorithm"] == "SM2"
    assert "content_sha256" not in entry


def test_tampered_content_and_log_entries_fail_in_gm(gm, gm_app):
    cert = issue(gm, admin(gm), type_codes(gm, admin(gm))["居民户口簿"])
    engine = gm_app.state.runtime.db.engine
    where = {"i": cert["identifier"]}
    with engine.begin() as conn:
        content = conn.execute(text("SELECT content FROM certs_certificate WHERE identifier = :i"), where).scalar_one()
        conn.execute(
            text("UPDATE certs_certificate SET content = :c WHERE identifier = :i"),
            where | {"c": content.replace("0001", "0002")},
        )
    try:
        checks = {c["name"]: c["ok"] for c in gm.get(f"/api/certs/{cert['identifier']}/verify").json()["checks"]}
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE certs_certificate SET content = :c WHERE identifier = :i"), where | {"c": content}
            )
    assert checks["signature"] is False and checks["inclusion"] is False  # the log holds the SM3 of the content
    leaf_at = {"g": cert["log_id"], "i": cert["log_index"]}
    with engine.begin() as conn:
        leaf = conn.execute(
            text("SELECT leaf_input FROM certs_log_leaf WHERE log_id = :g AND idx = :i"), leaf_at
        ).scalar_one()
        conn.execute(
            text("UPDATE certs_log_leaf SET leaf_input = :l WHERE log_id = :g AND idx = :i"),
            leaf_at | {"l": bytes(leaf).replace(b'"issue"', b'"issuE"')},
        )
    try:
        result = gm.get(f"/api/certs/{cert['identifier']}/verify").json()
        with pytest.raises(verifier.ProofError, match="根哈希"):
            verify_log.check(gm)
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE certs_log_leaf SET leaf_input = :l WHERE log_id = :g AND idx = :i"), leaf_at | {"l": leaf}
            )
    checks = {c["name"]: c["ok"] for c in result["checks"]}
    assert checks["signature"] is True and checks["inclusion"] is False
    assert gm.get(f"/api/certs/{cert['identifier']}/verify").json()["ok"] is True  # restored


def test_inclusion_and_consistency_proofs_over_sm3(gm):
    first = gm.get("/api/transparency/checkpoint").json()
    cert = issue(gm, admin(gm), type_codes(gm, admin(gm))["结婚证"])
    second = gm.get("/api/transparency/checkpoint").json()
    size, root = second["tree_size"], base64.b64decode(second["root_hash"])
    proof = gm.get("/api/transparency/proof/inclusion", params={"index": cert["log_index"], "tree_size": size}).json()
    entry = gm.get("/api/transparency/entries", params={"start": cert["log_index"], "end": size}).json()["entries"][0]
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    leaf = base64.b64decode(entry["leaf_input"])
    verifier.verify_inclusion(leaf=leaf, index=cert["log_index"], tree_size=size, path=path, root=root, hash_name="SM3")
    with pytest.raises(verifier.ProofError):  # the same proof is no proof under SHA-256
        verifier.verify_inclusion(leaf=leaf, index=cert["log_index"], tree_size=size, path=path, root=root)
    consistency = gm.get(
        "/api/transparency/proof/consistency", params={"first": first["tree_size"], "second": size}
    ).json()
    verifier.verify_consistency(
        first=first["tree_size"],
        second=size,
        first_root=base64.b64decode(first["root_hash"]),
        second_root=root,
        proof=[bytes.fromhex(h) for h in consistency["consistency"]],
        hash_name="SM3",
    )
    state: dict = {}
    assert verify_log.check(gm, trust=second["verifier_key"], state=state)[0]["hash"] == "SM3"
    issue(gm, admin(gm), type_codes(gm, admin(gm))["结婚证"])
    assert verify_log.check(gm, state=state)[0]["tree_size"] == size + 1  # grew consistently since
