"""A real relying party against the live server: the example application of docs/identity.md, built on
requests-oauthlib (OAuth 2.0 client, PKCE) and joserfc (signatures checked against the JWKS), none of
it the provider's code path. Runs on SQLite and on PostgreSQL like the rest of the suite."""

import requests
from joserfc import jwt
from requests_oauthlib import OAuth2Session

from tests.identity.conftest import Person, register, wait_for


def test_a_relying_party_signs_in_refreshes_and_logs_out(relying_party, live_url, runtime):
    rp = relying_party(scope="openid profile phone")
    person = Person("zhangsan")
    try:
        home = person.visit(f"{rp.base_url}/login")
        assert home.status_code == 200 and "已登录：张三" in home.text
        signed_in = next(v for v in rp.sessions.values() if "user" in v)
        token, user = signed_in["token"], signed_in["user"]
        assert user["phone_number"] == "13912345678"  # consented phone scope
        claims = rp.verify_id_token(
            signed_in["id_token"], nonce=jwt.decode(signed_in["id_token"], rp.keys()).claims["nonce"]
        )
        assert claims["sub"] == user["sub"] and claims["sid"] == signed_in["sid"]

        # refresh with the client library: rotation, then reuse of the spent token revokes the family
        oauth = OAuth2Session(rp.client_id, token=token)
        auth = (rp.client_id, rp.client_secret)
        rotated = oauth.refresh_token(rp.discover()["token_endpoint"], auth=auth)
        assert rotated["refresh_token"] != token["refresh_token"] and rotated["access_token"] != token["access_token"]
        assert oauth.get(rp.discover()["userinfo_endpoint"]).json()["sub"] == user["sub"]
        reuse = requests.post(
            rp.discover()["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=auth,
            timeout=10,
        )
        assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
        assert oauth.get(rp.discover()["userinfo_endpoint"]).status_code == 401

        # introspection by a resource server, revocation by the application
        resource = register(runtime, name="资源服务", may_introspect=True)
        fresh = person.visit(f"{rp.base_url}/login")
        assert "已登录：张三" in fresh.text  # signed in again without typing: the yiwang session is still there
        newest = max((v for v in rp.sessions.values() if "user" in v), key=lambda v: v["signed_in_at"])["token"]
        introspect = requests.post(
            rp.discover()["introspection_endpoint"],
            data={"token": newest["access_token"]},
            auth=(resource.client.client_id, resource.client_secret),
            timeout=10,
        ).json()
        assert introspect["active"] and introspect["sub"] == user["sub"] and introspect["client_id"] == rp.client_id
        revoke = requests.post(
            rp.discover()["revocation_endpoint"], data={"token": newest["access_token"]}, auth=auth, timeout=10
        )
        assert revoke.status_code == 200
        after = requests.post(
            rp.discover()["introspection_endpoint"],
            data={"token": newest["access_token"]},
            auth=(resource.client.client_id, resource.client_secret),
            timeout=10,
        ).json()
        assert after == {"active": False}

        # RP-initiated logout with the ID token as hint: no question asked, back to the application,
        # and the back-channel logout token arrives (verified by the relying party itself)
        back = person.visit(f"{rp.base_url}/logout")
        assert back.status_code == 200 and "通过统一身份认证登录" in back.text and str(back.url).startswith(rp.base_url)
        assert wait_for(lambda: any(t.get("sid") == signed_in["sid"] for t in rp.logouts))
        logout = next(t for t in rp.logouts if t.get("sid") == signed_in["sid"])
        assert logout["sub"] == user["sub"] and logout["iss"] == live_url
        # the yiwang session is over: the next sign-in asks for the password again
        account = person.http.get(f"{live_url}/account", headers={"accept": "text/html"})
        assert account.status_code == 303 and account.headers["location"].startswith("/login")
    finally:
        person.close()


def test_a_second_application_signs_the_person_in_without_typing(relying_party):
    first = relying_party(name="第一个应用")
    second = relying_party(name="第二个应用")
    person = Person("lisi")
    try:
        assert "已登录：李四" in person.visit(f"{first.base_url}/login").text
        person.password = "never typed again"
        assert "已登录：李四" in person.visit(f"{second.base_url}/login").text
        sub_first = next(v for v in first.sessions.values() if "user" in v)["user"]["sub"]
        sub_second = next(v for v in second.sessions.values() if "user" in v)["user"]["sub"]
        assert sub_first != sub_second  # pairwise: the two applications cannot join their users
    finally:
        person.close()


def test_a_public_client_with_pkce_only(relying_party, runtime):
    rp = relying_party(name="移动应用", public=True)
    assert rp.client_secret is None
    person = Person("zhangsan")
    try:
        assert "已登录：张三" in person.visit(f"{rp.base_url}/login").text
    finally:
        person.close()
