"""Registering clients (page, API, command line), their secrets, permissions, and signing-key rotation."""

import re

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import text

from tests.conftest import bearer, page_login, run_cli
from tests.identity.conftest import authorize_params, get_code, hidden_fields, pkce_pair, register


def _audit(client, admin_headers, action: str, target_id: str) -> list[dict]:
    params = {"action": action, "target_id": target_id}
    return client.get("/api/audit/entries", headers=bearer(client, "auditor"), params=params).json()["items"]


def test_the_command_line_registers_a_client_and_shows_the_secret_once(client, runtime, admin_headers):
    result = run_cli(
        runtime, "oidc", "client", "create", "--name", "不动产登记系统", "--redirect-uri", "https://bdc.example/cb",
        "--scope", "openid", "--scope", "profile", "--scope", "phone",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    found = dict(re.findall(r"^(client_id|client_secret)=(\S+)$", result.stdout, re.M))
    assert found["client_secret"].startswith("ywc_")
    with runtime.db.read_only() as db:
        stored = db.execute(
            text("SELECT secret_hash, scopes FROM identity_client WHERE client_id = :c"), {"c": found["client_id"]}
        ).one()
    assert stored.secret_hash and found["client_secret"] not in stored.secret_hash
    assert stored.scopes == "openid phone profile"
    shown = client.get(f"/api/identity/clients/{found['client_id']}", headers=admin_headers).json()
    assert "client_secret" not in shown and shown["redirect_uris"] == ["https://bdc.example/cb"]
    public = run_cli(
        runtime, "oidc", "client", "create", "--name", "掌上办", "--redirect-uri", "https://m.example/cb", "--public"
    )
    assert public.exit_code == 0 and "client_secret" not in public.stdout
    refused = run_cli(runtime, "oidc", "client", "create", "--name", "x", "--redirect-uri", "not a uri")
    assert refused.exit_code == 2


def test_the_administrator_page_registers_changes_and_disables_clients(client, runtime, admin_headers):
    csrf = page_login(client, "admin")
    page = client.get("/admin/oidc/clients", headers={"accept": "text/html"})
    assert page.status_code == 200 and "登记接入应用" in page.text
    bad = client.post(
        "/admin/oidc/clients",
        data={"csrf_token": csrf, "name": "公积金系统", "redirect_uris": "ftp://nope", "scopes": ["openid"]},
    )
    assert bad.status_code == 422 and "公积金系统" in bad.text
    created = client.post(
        "/admin/oidc/clients",
        data={
            "csrf_token": csrf,
            "name": "公积金系统",
            "redirect_uris": "https://gjj.example/cb\nhttps://gjj.example/cb2",
            "scopes": ["openid", "profile"],
            "id_token_alg": "ES256",
        },
    )
    assert created.status_code == 200 and "只显示这一次" in created.text
    client_id = re.search(r"<code>(app-[0-9a-f]+)</code>", created.text).group(1)
    secret = re.search(r'<code class="secret">(ywc_[^<]+)</code>', created.text).group(1)
    detail = client.get(f"/admin/oidc/clients/{client_id}", headers={"accept": "text/html"})
    assert secret not in detail.text
    fields = {"csrf_token": csrf, "name": "公积金系统", "redirect_uris": "https://gjj.example/cb", "scopes": ["openid"]}
    saved = client.post(f"/admin/oidc/clients/{client_id}", data=fields, follow_redirects=False)  # active unticked
    assert saved.status_code == 303
    after = client.get(f"/api/identity/clients/{client_id}", headers=admin_headers).json()
    assert after["active"] is False and after["redirect_uris"] == ["https://gjj.example/cb"]
    rotated = client.post(f"/admin/oidc/clients/{client_id}/secret", data={"csrf_token": csrf})
    assert rotated.status_code == 200 and secret not in rotated.text
    for action in ("identity.client.create", "identity.client.disable", "identity.client.secret_rotate"):
        assert _audit(client, admin_headers, action, client_id), action


def test_only_holders_of_the_permission_manage_clients(client, anon):
    citizen = bearer(client, "zhangsan")
    assert anon.get("/api/identity/clients").status_code == 401
    assert client.get("/api/identity/clients", headers=citizen).status_code == 403
    body = {"name": "x", "redirect_uris": ["https://x.example/cb"]}
    assert client.post("/api/identity/clients", json=body, headers=citizen).status_code == 403


def test_the_api_resets_a_secret_and_the_old_one_stops_working(client, runtime, admin_headers):
    created = register(runtime)
    reset = client.post(f"/api/identity/clients/{created.client.client_id}/secret", headers=admin_headers)
    assert reset.status_code == 200 and reset.json()["client_secret"] != created.client_secret
    old = client.post("/api/oidc/revoke", data={"token": "x"}, auth=(created.client.client_id, created.client_secret))
    assert old.status_code == 401
    new = client.post(
        "/api/oidc/revoke", data={"token": "x"}, auth=(created.client.client_id, reset.json()["client_secret"])
    )
    assert new.status_code == 200


def test_key_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(client, runtime, admin_headers):
    created = register(runtime, scopes=["openid"])
    page_login(client, "admin")
    verifier, challenge = pkce_pair()
    code = get_code(client, authorize_params(created, challenge))["code"]
    auth = (created.client.client_id, created.client_secret)
    data = {"grant_type": "authorization_code", "redirect_uri": created.client.redirect_uris[0]}
    before = client.post("/api/oidc/token", data=data | {"code": code, "code_verifier": verifier}, auth=auth).json()
    old_kid = jwt.decode(before["id_token"], KeySet.import_key_set(client.get("/api/oidc/jwks").json())).header["kid"]
    result = run_cli(runtime, "oidc", "keys", "rotate", "--alg", "RS256")
    assert result.exit_code == 0, result.output
    published = {k["kid"] for k in client.get("/api/oidc/jwks").json()["keys"]}
    assert old_kid in published
    verifier, challenge = pkce_pair()
    code = get_code(client, authorize_params(created, challenge))["code"]
    after = client.post("/api/oidc/token", data=data | {"code": code, "code_verifier": verifier}, auth=auth).json()
    keys = KeySet.import_key_set(client.get("/api/oidc/jwks").json())
    new_kid = jwt.decode(after["id_token"], keys).header["kid"]
    assert new_kid != old_kid and new_kid in published
    jwt.decode(before["id_token"], keys)  # tokens signed before the rotation still verify
    assert _audit(client, admin_headers, "identity.key.rotate", new_kid)
    # once the old key's tokens have all expired it leaves the JWKS
    with runtime.db.unit_of_work() as db:
        db.execute(text("UPDATE identity_signing_key SET drop_after = created_at WHERE kid = :k"), {"k": old_kid})
    assert old_kid not in {k["kid"] for k in client.get("/api/oidc/jwks").json()["keys"]}
    private = runtime.settings.key_dir / "oidc" / f"{new_kid}.jwk"
    assert private.stat().st_mode & 0o777 == 0o600 and '"d"' in private.read_text()
    with runtime.db.read_only() as db:
        stored = db.execute(text("SELECT public_jwk FROM identity_signing_key WHERE kid = :k"), {"k": new_kid}).scalar()
    assert '"d"' not in stored


def test_the_consent_page_names_the_application_and_what_it_gets(client, runtime):
    created = register(runtime, name="公积金查询", scopes=["openid", "profile", "phone"])
    page_login(client, "zhangsan")
    page = client.get(
        "/oidc/authorize", params=authorize_params(created, pkce_pair()[1]), headers={"accept": "text/html"}
    )
    assert "公积金查询" in page.text and "完整手机号码" in page.text
    assert hidden_fields(page.text)["client_id"] == created.client.client_id
