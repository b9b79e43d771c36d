"""Seal key rotation per department: new certificates use the new version at once, the old one keeps
verifying and stays published while what it sealed is valid; an unused retired version is withdrawn."""

from tests.certs.platforms import admin, issue, type_codes
from tests.conftest import run_cli


def _keys(client, department: str) -> list[dict]:
    return [k for k in client.get("/api/certs/keys").json() if k["department"] == department]


def test_rotating_a_seal_key_keeps_old_certificates_verifiable(client, anon, runtime):
    headers = admin(client)
    marriage = type_codes(client, headers)["结婚证"]  # issued by 民政局 MZJ
    before = issue(client, headers, marriage)
    old = next(k for k in _keys(anon, "MZJ") if k["active"])
    log_signature = anon.get("/api/transparency/checkpoint").json()["algorithms"]["signature"]

    done = run_cli(runtime, "certs", "rotate-seal", "--department", "MZJ")
    assert done.exit_code == 0, done.output
    assert f"第 {old['version'] + 1} 版" in done.output

    keys = {k["version"]: k for k in _keys(anon, "MZJ")}
    new = keys[old["version"] + 1]
    assert new["active"] and new["algorithm"] == log_signature and new["name"].endswith(f".v{new['version']}")
    retired = keys[old["version"]]
    assert not retired["active"] and retired["retired"] and retired["not_after"] is not None
    assert retired["signatures_valid_until"] is None  # 结婚证 never expire: published for good

    after = issue(client, headers, marriage)
    for cert, version in ((before, old["version"]), (after, new["version"])):
        result = anon.get(f"/api/certs/{cert['identifier']}/verify").json()
        assert result["ok"] is True, result
        assert result["certificate"]["issuer_key_version"] == version

    # a version retired before it sealed anything is withdrawn from the published keys
    assert run_cli(runtime, "certs", "rotate-seal", "--department", "MZJ").exit_code == 0
    assert (
        run_cli(runtime, "keys", "rotate", "seal", "--department", "MZJ").exit_code == 0
    )  # the same, as a key purpose
    versions = [k["version"] for k in _keys(anon, "MZJ")]
    assert new["version"] in versions and new["version"] + 1 not in versions and new["version"] + 2 in versions

    listed = run_cli(runtime, "certs", "keys")
    assert listed.exit_code == 0 and "MZJ" in listed.output and log_signature in listed.output
    assert run_cli(runtime, "certs", "rotate-seal", "--department", "NOPE").exit_code != 0
    assert run_cli(runtime, "keys", "rotate", "seal").exit_code == 2  # which department, then?
