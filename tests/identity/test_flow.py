"""The authorization code flow through the app: codes, PKCE, ID tokens, userinfo claims, refresh
rotation and reuse detection, consent and prompts."""

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import bearer, page_login
from tests.identity.conftest import (
    authorize_params,
    code_from,
    get_code,
    hidden_fields,
    pkce_pair,
    redirect_target,
    register,
)


def _audit(client, admin_headers, action: str, **params) -> list[dict]:
    response = client.get(
        "/api/audit/entries", headers=bearer(client, "auditor"), params={"action": action, "size": 100} | params
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _exchange(client, created, code: str, verifier: str | None):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": created.client.redirect_uris[0]}
    if verifier:
        data["code_verifier"] = verifier
    auth = (created.client.client_id, created.client_secret) if created.client_secret else None
    if auth is None:
        data["client_id"] = created.client.client_id
    return client.post("/api/oidc/token", data=data, auth=auth)


def _signed_in_tokens(client, runtime, username="zhangsan", **fields):
    created = register(runtime, **({"scopes": ["openid", "profile", "phone"]} | fields))
    page_login(client, username)
    verifier, challenge = pkce_pair()
    params = authorize_params(created, challenge)
    got = get_code(client, params)
    assert got["state"] == params["state"]
    response = _exchange(client, created, got["code"], verifier)
    assert response.status_code == 200, response.text
    return created, params, response.json()


def _verified_claims(client, id_token: str) -> dict:
    keys = KeySet.import_key_set(client.get("/api/oidc/jwks").json())
    return dict(jwt.decode(id_token, keys, algorithms=["RS256", "ES256"]).claims)


def test_discovery_describes_the_provider(client, runtime):
    from authlib.oidc.discovery import OpenIDProviderMetadata

    metadata = client.get("/.well-known/openid-configuration").json()
    OpenIDProviderMetadata(metadata).validate()
    assert metadata["issuer"] == runtime.settings.issuer
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert {"RS256", "ES256"} <= set(metadata["id_token_signing_alg_values_supported"])
    assert metadata["end_session_endpoint"].endswith("/oidc/logout")
    jwks = client.get("/api/oidc/jwks").json()["keys"]
    assert {k["kty"] for k in jwks} >= {"RSA", "EC"} and all("d" not in k for k in jwks)


def test_code_flow_gives_a_signed_id_token_bound_to_the_nonce_and_userinfo(client, runtime):
    created, params, tokens = _signed_in_tokens(client, runtime)
    claims = _verified_claims(client, tokens["id_token"])
    assert claims["iss"] == runtime.settings.issuer
    assert claims["aud"] == created.client.client_id
    assert claims["nonce"] == params["nonce"]
    assert claims["sid"] and claims["auth_time"] <= claims["iat"]
    assert claims["name"] == "张三" and "phone_number" not in claims
    info = client.get("/api/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert info["sub"] == claims["sub"] and info["phone_number"] == "13912345678"
    assert "preferred_username" not in info  # a citizen's login name would let applications join users


def test_subjects_are_pairwise_for_citizens_and_public_for_staff(client, runtime):
    _, _, a = _signed_in_tokens(client, runtime)
    _, _, b = _signed_in_tokens(client, runtime)
    sub_a = _verified_claims(client, a["id_token"])["sub"]
    sub_b = _verified_claims(client, b["id_token"])["sub"]
    assert sub_a != sub_b and "zhangsan" not in (sub_a + sub_b)
    _, _, staff = _signed_in_tokens(client, runtime, username="admin", scopes=["openid", "profile", "department"])
    info = client.get("/api/oidc/userinfo", headers={"Authorization": f"Bearer {staff['access_token']}"}).json()
    assert info["sub"] == "admin" and info["preferred_username"] == "admin"
    assert info["department"] and "platform_admin" in info["roles"]


def test_phone_is_masked_without_the_phone_scope_and_a_clear_read_is_audited(client, runtime, admin_headers):
    _, _, masked = _signed_in_tokens(client, runtime, scopes=["openid", "profile"])
    info = client.get("/api/oidc/userinfo", headers={"Authorization": f"Bearer {masked['access_token']}"}).json()
    assert info["phone_number"] == "139****5678"
    created, _, clear = _signed_in_tokens(client, runtime)
    before = len(_audit(client, admin_headers, "personal.release"))
    info = client.get("/api/oidc/userinfo", headers={"Authorization": f"Bearer {clear['access_token']}"}).json()
    assert info["phone_number"] == "13912345678"
    released = _audit(client, admin_headers, "personal.release")
    assert len(released) == before + 1 and released[0]["actor_name"] == f"oidc:{created.client.client_id}"


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(client, runtime, admin_headers):
    created, _, tokens = _signed_in_tokens(client, runtime)
    auth = (created.client.client_id, created.client_secret)
    first = client.post(
        "/api/oidc/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=auth
    )
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    reuse = client.post(
        "/api/oidc/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=auth
    )
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    after = client.post(
        "/api/oidc/token", data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}, auth=auth
    )
    assert after.status_code == 400  # the whole family went with the reuse
    userinfo = client.get("/api/oidc/userinfo", headers={"Authorization": f"Bearer {rotated['access_token']}"})
    assert userinfo.status_code == 401 and userinfo.json()["error"] == "invalid_token"
    assert _audit(client, admin_headers, "identity.token.reuse_detected", target_id=created.client.client_id)


def test_introspection_and_revocation(client, runtime):
    created, _, tokens = _signed_in_tokens(client, runtime)
    resource = register(runtime, name="资源服务", may_introspect=True)
    outsider = register(runtime, name="无关应用")
    rs_auth = (resource.client.client_id, resource.client_secret)
    seen = client.post("/api/oidc/introspect", data={"token": tokens["access_token"]}, auth=rs_auth).json()
    assert seen["active"] and seen["client_id"] == created.client.client_id and "openid" in seen["scope"]
    hidden = client.post(
        "/api/oidc/introspect",
        data={"token": tokens["access_token"]},
        auth=(outsider.client.client_id, outsider.client_secret),
    ).json()
    assert hidden == {"active": False}
    owner_auth = (created.client.client_id, created.client_secret)
    revoked = client.post(
        "/api/oidc/revoke", data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}, auth=owner_auth
    )
    assert revoked.status_code == 200
    after = client.post("/api/oidc/introspect", data={"token": tokens["access_token"]}, auth=rs_auth).json()
    assert after == {"active": False}


def test_consent_is_asked_once_remembered_and_withdrawable(client, runtime, admin_headers):
    created = register(runtime)
    page_login(client, "lisi")
    params = authorize_params(created, pkce_pair()[1])
    first = client.get("/oidc/authorize", params=params, headers={"accept": "text/html"}, follow_redirects=False)
    assert first.status_code == 200 and created.client.name in first.text and "同意并登录" in first.text
    get_code(client, params)
    again = client.get("/oidc/authorize", params=params, headers={"accept": "text/html"}, follow_redirects=False)
    assert again.status_code == 302 and "code=" in again.headers["location"]
    apps = client.get("/account/apps", headers={"accept": "text/html"})
    assert created.client.name in apps.text
    withdrawn = client.post(
        f"/account/consents/{created.client.client_id}/withdraw",
        data={"csrf_token": hidden_fields(apps.text)["csrf_token"]},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    asked = client.get("/oidc/authorize", params=params, headers={"accept": "text/html"}, follow_redirects=False)
    assert asked.status_code == 200 and "同意并登录" in asked.text
    for action in ("identity.consent.give", "identity.consent.withdraw"):
        assert _audit(client, admin_headers, action, target_id=created.client.client_id), action


def test_denying_consent_returns_access_denied(client, runtime):
    created = register(runtime)
    page_login(client, "lisi")
    params = authorize_params(created, pkce_pair()[1])
    page = client.get("/oidc/authorize", params=params, headers={"accept": "text/html"})
    denied = client.post(
        "/oidc/authorize", data=hidden_fields(page.text) | {"decision": "deny"}, follow_redirects=False
    )
    assert denied.status_code == 200  # a page that goes on to the application (see pages._navigate)
    answer = code_from(redirect_target(denied))
    assert answer["error"] == "access_denied" and answer["state"] == params["state"]


def test_first_party_staff_apps_skip_consent(client, runtime):
    created = register(runtime, first_party=True)
    page_login(client, "admin")
    response = client.get("/oidc/authorize", params=authorize_params(created, pkce_pair()[1]), follow_redirects=False)
    assert response.status_code == 302 and "code=" in response.headers["location"]


def test_prompt_none_and_login_and_max_age(client, anon, runtime):
    created = register(runtime)
    params = authorize_params(created, pkce_pair()[1])
    none = anon.get("/oidc/authorize", params=params | {"prompt": "none"}, follow_redirects=False)
    assert none.status_code == 302 and code_from(none.headers["location"])["error"] == "login_required"
    page_login(client, "lisi")
    consent = client.get("/oidc/authorize", params=params | {"prompt": "none"}, follow_redirects=False)
    assert code_from(consent.headers["location"])["error"] == "consent_required"
    get_code(client, params)
    login = client.get("/oidc/authorize", params=params | {"prompt": "login"}, follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"].startswith("/login?")
    assert "reauth=1" in login.headers["location"] and "prompt%3Dlogin" not in login.headers["location"]
    fresh = client.get("/oidc/authorize", params=params | {"max_age": "3600"}, follow_redirects=False)
    assert fresh.status_code == 302 and "code=" in fresh.headers["location"]


def test_es256_clients_get_es256_id_tokens(client, runtime):
    created, _, tokens = _signed_in_tokens(client, runtime, id_token_alg="ES256")
    header = jwt.decode(tokens["id_token"], KeySet.import_key_set(client.get("/api/oidc/jwks").json())).header
    assert header["alg"] == "ES256" and header["kid"]
    assert _verified_claims(client, tokens["id_token"])["aud"] == created.client.client_id
