"""An intl installation switches to gm (the `crypto.profile_changed` event): its log is frozen with a
final checkpoint naming its successor, a gm log starts from that checkpoint, both stay verifiable,
and certificates sealed before and after the switch both verify."""

import base64
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.certs.platforms import admin, fresh_platform, issue, type_codes
from yiwang.certs import translog, verifier, verify_log
from yiwang.core import events
from yiwang.core.profile import CryptoProfileChanged


def _switch(app, to: str = "gm") -> None:
    """Publish the event as the installation's profile switch does; it is delivered after the commit."""
    with app.state.runtime.db.unit_of_work() as db:
        events.publish(db, CryptoProfileChanged.model_validate({"from": "intl", "to": to}))


@pytest.fixture(scope="module")
def switched(tmp_path_factory, templates, runtime):
    """A fresh intl installation with two certificates sealed in intl, then switched to gm. Each test
    reads this state and changes nothing another test relies on, so they hold in any order."""
    for app in fresh_platform(tmp_path_factory, templates, runtime, "intl"):
        with TestClient(app, base_url="http://testserver") as client:
            headers = admin(client)
            household = type_codes(client, headers)["居民户口簿"]
            before = {"kept": issue(client, headers, household), "revoked": issue(client, headers, household)}
            old = client.get("/api/transparency/checkpoint").json()
        _switch(app)
        yield app, before, old


@pytest.fixture
def intl_app(switched):
    return switched[0]


@pytest.fixture
def site(intl_app):
    with TestClient(intl_app, base_url="http://testserver") as client:
        yield client


def test_the_switch_freezes_the_intl_log_and_starts_a_gm_log(site, intl_app, switched):
    _, sealed, old = switched
    assert old["algorithms"] == old["algorithms"] | {"hash": "SHA-256", "signature": "Ed25519"}
    assert old["log_id"] == 1 and {c["log_id"] for c in sealed.values()} == {1}

    logs = site.get("/api/transparency/logs").json()
    assert [(log["log_id"], log["state"]) for log in logs] == [(1, "frozen"), (2, "active")]
    frozen, current = logs
    assert current["origin"] == old["origin"] + "/2" and current["predecessor"] == old["origin"]
    assert frozen["successor"] == current["origin"] and frozen["verifier_key"] == old["verifier_key"]
    assert current["algorithms"]["hash"] == "SM3" and current["algorithms"]["signature"] == "SM2"
    assert site.get("/api/transparency/checkpoint").json()["log_id"] == 2
    # the frozen log's final checkpoint, signed with its Ed25519 key, names the gm log's SM2 key
    final = verifier.verify_checkpoint(frozen["checkpoint"], old["verifier_key"])
    assert final.tree_size == old["tree_size"] and final.extension("successor") == current["verifier_key"]
    # … and the gm log's first entry is that final checkpoint
    first = site.get("/api/transparency/entries", params={"start": 0, "end": 1, "log": 2}).json()["entries"][0]
    link = json.loads(base64.b64decode(first["leaf_input"]))
    assert link["type"] == "predecessor" and link["checkpoint"] == frozen["checkpoint"]
    assert link["tree_size"] == final.tree_size and base64.b64decode(link["root_hash"]) == final.root_hash
    # a frozen log takes no more entries
    with intl_app.state.runtime.db.unit_of_work() as db, pytest.raises(translog.FrozenLog):
        translog.append(db, 1, [b"late"])
    with intl_app.state.runtime.db.engine.connect() as conn:
        recorded = conn.execute(
            text("SELECT actor_name, details FROM audit_entry WHERE action = 'certs.log.switch'")
        ).all()
    assert len(recorded) == 1 and recorded[0][0] == "system:certs"
    assert json.loads(recorded[0][1])["successor"] == current["origin"]


def test_certificates_of_both_eras_verify_and_keys_stay_published(site, switched):
    headers = admin(site)
    codes = type_codes(site, headers)
    after = issue(site, headers, codes["居民户口簿"])
    assert after["log_id"] == 2
    kept = switched[1]["kept"]
    results = {}
    for identifier in (after["identifier"], kept["identifier"]):
        results[identifier] = site.get(f"/api/certs/{identifier}/verify").json()
    assert all(r["ok"] for r in results.values()), results
    new = results[after["identifier"]]
    assert new["certificate"]["signature_algorithm"] == "SM2" and new["certificate"]["issuer_key_version"] == 2
    assert new["log_hash"] == "SM3" and new["log_id"] == 2
    keys = [k for k in site.get("/api/certs/keys").json() if k["department"] == "GAJ"]
    assert [(k["version"], k["algorithm"], k["active"], k["retired"]) for k in keys] == [
        (1, "Ed25519", False, True),  # retired at the switch, published while what it sealed is valid
        (2, "SM2", True, False),
    ]
    assert keys[0]["not_after"] is not None and keys[0]["certificates"] >= 1


def test_a_certificate_sealed_before_the_switch_still_verifies_after_it(site, switched):
    identifier = switched[1]["revoked"]["identifier"]
    result = site.get(f"/api/certs/{identifier}/verify").json()
    assert result["ok"] is True, result
    assert result["certificate"]["signature_algorithm"] == "Ed25519" and result["log_hash"] == "SHA-256"
    checks = {c["name"]: c["message"] for c in result["checks"]}
    assert "Ed25519" in checks["signature"] and "已冻结" in checks["inclusion"]
    page = site.get(f"/certs/verify/{identifier}", headers={"accept": "text/html"}).text
    assert "核验通过" in page and "第 1 版，Ed25519" in page and "（SHA-256）" in page
    # revoked after the switch: the revocation goes to the gm log; the seal and inclusion still check
    revoked = site.post(f"/api/certs/{identifier}/revoke", headers=admin(site), json={"reason": "换发新证"})
    assert revoked.status_code == 200 and revoked.json()["revocation_log_id"] == 2
    checks = {c["name"]: c["ok"] for c in site.get(f"/api/certs/{identifier}/verify").json()["checks"]}
    assert checks == checks | {"signature": True, "inclusion": True, "revocation": False}


def test_both_logs_pass_the_independent_verifier_and_redelivery_changes_nothing(site, intl_app):
    first_vkey = site.get("/api/transparency/logs").json()[0]["verifier_key"]
    summaries = verify_log.check(site, trust=first_vkey)
    assert [(s["hash"], s["signature"], s["state"]) for s in summaries] == [
        ("SHA-256", "Ed25519", "frozen"),
        ("SM3", "SM2", "active"),
    ]
    _switch(intl_app)  # delivered again (at least once): still two logs
    assert len(site.get("/api/transparency/logs").json()) == 2
    with pytest.raises(verifier.ProofError, match="验证密钥"):
        verify_log.check(site, trust=site.get("/api/transparency/logs").json()[1]["verifier_key"])
    page = site.get("/certs/log", headers={"accept": "text/html"}).text
    assert "全部日志" in page and "已冻结，接续" in page and "SM3 / SM2" in page and "SHA-256 / Ed25519" in page
