"""Every way a request can be wrong gets a clear OAuth error — to the redirect URI only once that URI
is known to be the client's, as JSON otherwise — and never a 5xx."""

import pytest
from sqlalchemy import text

from tests.conftest import page_login
from tests.identity.conftest import authorize_params, code_from, get_code, hidden_fields, pkce_pair, register
from yiwang.demo.loader import DEMO_PASSWORD


def _code(client, runtime, **fields):
    created = register(runtime, **fields)
    page_login(client, "zhangsan")
    verifier, challenge = pkce_pair()
    got = get_code(client, authorize_params(created, challenge))
    return created, got["code"], verifier


def _token(client, created, **data):
    body = {"grant_type": "authorization_code", "redirect_uri": created.client.redirect_uris[0]} | data
    if created.client_secret:
        return client.post("/api/oidc/token", data=body, auth=(created.client.client_id, created.client_secret))
    return client.post("/api/oidc/token", data=body | {"client_id": created.client.client_id})


def test_a_wrong_redirect_uri_is_an_error_page_never_a_redirect(client, runtime):
    created = register(runtime)
    params = authorize_params(created, pkce_pair()[1]) | {"redirect_uri": "https://attacker.example/cb"}
    response = client.get("/oidc/authorize", params=params, headers={"accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 400 and "location" not in response.headers
    assert "invalid_request" in response.text and "无法登录该应用" in response.text
    unknown = client.get("/oidc/authorize", params=params | {"client_id": "nobody"}, follow_redirects=False)
    assert unknown.status_code == 400 and "invalid_client" in unknown.text


def test_quotes_in_parameters_are_a_clear_error_too(client, runtime):
    created = register(runtime)
    params = authorize_params(created, pkce_pair()[1])
    for name, value in (("redirect_uri", 'https://x.example/"cb'), ("response_type", 'co"de'), ("client_id", 'a"\\')):
        response = client.get("/oidc/authorize", params=params | {name: value}, follow_redirects=False)
        assert response.status_code in (302, 400), (name, response.status_code)
        if response.status_code == 302:
            assert code_from(response.headers["location"])["error"]


def test_a_long_state_survives_the_login_and_a_long_nonce_is_refused(client, anon, runtime):
    created = register(runtime)
    params = authorize_params(created, pkce_pair()[1]) | {"state": "s" * 1500}
    page_login(client, "lisi")
    assert get_code(client, params)["state"] == "s" * 1500
    to_login = anon.get("/oidc/authorize", params=params, follow_redirects=False)
    assert to_login.status_code == 303 and to_login.headers["location"].startswith("/login?")
    login_page = anon.get(to_login.headers["location"], headers={"accept": "text/html"})
    fields = hidden_fields(login_page.text) | {"username": "lisi", "password": DEMO_PASSWORD}
    signed_in = anon.post("/login", data=fields, headers={"accept": "text/html"}, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"].startswith("/oidc/authorize?")
    too_long = client.get("/oidc/authorize", params=params | {"nonce": "n" * 256}, follow_redirects=False)
    assert code_from(too_long.headers["location"])["error"] == "invalid_request"


def test_an_unknown_scope_goes_back_as_invalid_scope(client, runtime):
    created = register(runtime)
    params = authorize_params(created, pkce_pair()[1]) | {"scope": "openid admin"}
    response = client.get("/oidc/authorize", params=params, follow_redirects=False)
    assert response.status_code == 302
    answer = code_from(response.headers["location"])
    assert answer["error"] == "invalid_scope" and answer["state"] == params["state"]
    unregistered = client.get("/oidc/authorize", params=params | {"scope": "openid phone"}, follow_redirects=False)
    assert code_from(unregistered.headers["location"])["error"] == "invalid_scope"


def test_a_public_client_must_use_pkce_s256(client, runtime):
    created = register(runtime, public=True)
    assert created.client_secret is None
    page_login(client, "zhangsan")
    params = authorize_params(created, None)
    missing = client.get("/oidc/authorize", params=params, follow_redirects=False)
    answer = code_from(missing.headers["location"])
    assert answer["error"] == "invalid_request" and "PKCE" in answer["error_description"]
    plain = client.get(
        "/oidc/authorize",
        params=params | {"code_challenge": "a" * 43, "code_challenge_method": "plain"},
        follow_redirects=False,
    )
    assert code_from(plain.headers["location"])["error"] == "invalid_request"
    _verifier, challenge = pkce_pair()
    code = get_code(client, authorize_params(created, challenge))["code"]
    without = _token(client, created, code=code)
    assert without.status_code == 400 and without.json()["error"] == "invalid_request"


def test_a_wrong_verifier_is_invalid_grant(client, runtime):
    created, code, _ = _code(client, runtime)
    response = _token(client, created, code=code, code_verifier=pkce_pair()[0])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_replayed_code_is_refused_and_revokes_what_it_gave(client, runtime):
    created, code, verifier = _code(client, runtime)
    first = _token(client, created, code=code, code_verifier=verifier)
    assert first.status_code == 200
    replay = _token(client, created, code=code, code_verifier=verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    userinfo = client.get("/api/oidc/userinfo", headers={"Authorization": f"Bearer {first.json()['access_token']}"})
    assert userinfo.status_code == 401


def test_an_expired_code_is_invalid_grant(client, runtime):
    created, code, verifier = _code(client, runtime)
    with runtime.db.unit_of_work() as db:
        db.execute(text("UPDATE identity_code SET expires_at = created_at WHERE used_at IS NULL"))
    response = _token(client, created, code=code, code_verifier=verifier)
    assert response.status_code == 400 and response.json() == {
        "error": "invalid_grant",
        "error_description": "Authorization code has expired.",
    }


def test_a_code_is_bound_to_its_client_and_redirect_uri(client, runtime):
    created, code, verifier = _code(client, runtime)
    other = register(runtime)
    stolen = _token(client, other, code=code, code_verifier=verifier, redirect_uri=created.client.redirect_uris[0])
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    moved = _token(client, created, code=code, code_verifier=verifier, redirect_uri="http://127.0.0.1:9/other")
    assert moved.status_code == 400 and moved.json()["error"] == "invalid_grant"


def test_a_bad_client_secret_is_invalid_client(client, runtime):
    created, code, verifier = _code(client, runtime)
    response = client.post(
        "/api/oidc/token",
        data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
        auth=(created.client.client_id, "ywc_wrong"),
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_disabled_client_can_neither_sign_in_nor_exchange(client, runtime, admin_headers):
    created, code, verifier = _code(client, runtime)
    disabled = client.patch(
        f"/api/identity/clients/{created.client.client_id}", json={"active": False}, headers=admin_headers
    )
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    response = _token(client, created, code=code, code_verifier=verifier)
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"
    again = client.get("/oidc/authorize", params=authorize_params(created, pkce_pair()[1]), follow_redirects=False)
    assert code_from(again.headers["location"])["error"] == "unauthorized_client"
    introspect = client.post(
        "/api/oidc/introspect", data={"token": "x"}, auth=(created.client.client_id, created.client_secret)
    )
    assert introspect.status_code == 401 and introspect.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"grant_type": "password", "username": "zhangsan", "password": "x"},
        {"grant_type": "authorization_code"},
        {"grant_type": "authorization_code", "code": "nonsense", "client_id": "nobody"},
        {"grant_type": "refresh_token", "refresh_token": "ywr_nonsense", "client_id": "nobody"},
        {"grant_type": "authorization_code", "code": "\u0000\u2028", "client_id": "x" * 5000},
        {"grant_type": 'refresh"\\'},
        {"grant_type": "authorization_code", "code": "c", "client_id": 'a"b'},
    ],
)
def test_malformed_token_requests_get_oauth_errors(client, data):
    response = client.post("/api/oidc/token", data=data)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"] in {"invalid_request", "unsupported_grant_type", "invalid_client", "invalid_grant"}


def test_userinfo_refuses_anything_but_a_live_access_token(client):
    missing = client.get("/api/oidc/userinfo")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    wrong = client.get("/api/oidc/userinfo", headers={"Authorization": "Bearer ywa_nonsense"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]


def test_introspection_and_revocation_need_client_authentication(client):
    assert client.post("/api/oidc/introspect", data={"token": "x"}).status_code == 401
    assert client.post("/api/oidc/revoke", data={"token": "x"}).json()["error"] == "invalid_client"


def test_logout_with_a_forged_hint_is_an_error_page(client):
    response = client.get(
        "/oidc/logout", params={"id_token_hint": "e30.e30.c2ln", "post_logout_redirect_uri": "https://evil.example/"}
    )
    assert response.status_code == 400 and "location" not in response.headers
