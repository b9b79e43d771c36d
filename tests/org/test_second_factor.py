"""Two-factor login (双因素认证): enrolment, the second step on the page and the token endpoint,
replays, recovery codes, throttling, removal, the administrator's reset and the role rule."""

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.conftest import (
    bearer,
    csrf_from,
    database_of,
    enrol_through_pages,
    run_cli,
    token_for,
    unique,
)
from tests.second_factor import fresh_code, remember_secret
from yiwang.org import mfa
from yiwang.org.models import TotpFactor

HTML = {"accept": "text/html"}
PASSWORD = "Handler2026x"


def _staff(client, admin_headers, roles=("handler",)) -> str:
    username = unique("mfa")
    created = client.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": username,
            "kind": "staff",
            "display_name": "双因素测试",
            "password": PASSWORD,
            "department_code": "CGJ",
            "roles": list(roles),
        },
    )
    assert created.status_code == 201, created.text
    return username


def _token(client, username, otp=None):
    data = {"grant_type": "password", "username": username, "password": PASSWORD}
    if otp is not None:
        data["otp"] = otp
    return client.post("/api/auth/token", data=data)


def _enrol_by_api(client, username) -> tuple[str, list[str]]:
    headers = bearer(client, username, PASSWORD)
    begun = client.post("/api/auth/second-factor/totp", headers=headers)
    assert begun.status_code == 201, begun.text
    secret = begun.json()["secret"]
    assert f"secret={secret}" in begun.json()["otpauth_uri"]
    # Not in force until confirmed: the password alone still logs in.
    assert _token(client, username).status_code == 200
    code = fresh_code(database_of(client), username, secret)
    confirmed = client.post("/api/auth/second-factor/totp/confirm", headers=headers, json={"code": code})
    assert confirmed.status_code == 200, confirmed.text
    remember_secret(database_of(client), username, secret)
    return secret, confirmed.json()["recovery_codes"]


def _bearer_with(client, username, code) -> dict[str, str]:
    response = _token(client, username, code)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _entries(client, **params) -> list[dict]:
    response = client.get("/api/audit/entries", headers=bearer(client, "auditor"), params=params | {"size": 100})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_an_optional_factor_is_enrolled_and_then_asked_for_by_the_token_endpoint(client, admin_headers):
    username = _staff(client, admin_headers)
    _, recovery = _enrol_by_api(client, username)
    assert len(recovery) == 10 and len(set(recovery)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code) for code in recovery)
    missing = _token(client, username)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "mfa_required"
    code = fresh_code(database_of(client), username)
    assert _token(client, username, code).status_code == 200
    replayed = _token(client, username, code)
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "invalid_otp"
    wrong = _token(client, username, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_otp"
    # A recovery code works once, in place of a code.
    assert _token(client, username, recovery[0]).status_code == 200
    assert _token(client, username, recovery[0].upper().replace("-", " ")).status_code == 401
    assert _token(client, username, recovery[1].upper().replace("-", " ")).status_code == 200  # as typed
    headers = _bearer_with(client, username, recovery[2])
    status = client.get("/api/auth/second-factor", headers=headers).json()
    assert status["enrolled"] and not status["required"] and status["recovery_codes_left"] == 7
    enrolled = _entries(client, action="auth.second_factor", target_type="user")
    mine = [e for e in enrolled if e["actor_name"] == username]
    assert {"auth.second_factor.enrol", "auth.second_factor.verify"} <= {e["action"] for e in mine}
    outcomes = [e["outcome"] for e in mine if e["action"] == "auth.second_factor.verify"]
    assert outcomes.count("failure") == 3 and outcomes.count("success") == 4  # replay, wrong, spent code
    assert any('"method":"recovery_code"' in e["details"] for e in mine)


def test_the_secret_is_encrypted_at_rest_bound_to_its_column(client, admin_headers, runtime):
    username = _staff(client, admin_headers)
    secret, _ = _enrol_by_api(client, username)
    user_id = client.get("/api/auth/me", headers=bearer(client, username, PASSWORD)).json()["user_id"]
    with runtime.db.unit_of_work() as db:
        stored = db.execute(select(TotpFactor.secret_enc).where(TotpFactor.user_id == user_id)).scalar_one()
    assert secret not in stored
    assert runtime.cipher.decrypt(stored, context=mfa.SECRET_CONTEXT) == secret
    with pytest.raises(Exception):  # noqa: B017  (AES-GCM refuses another column's context)
        runtime.cipher.decrypt(stored, context="org_user.phone")


def test_recovery_codes_are_regenerated_and_the_old_ones_stop_working(client, admin_headers):
    username = _staff(client, admin_headers)
    _, first = _enrol_by_api(client, username)
    headers = bearer(client, username, PASSWORD)
    second = client.post("/api/auth/second-factor/recovery-codes", headers=headers)
    assert second.status_code == 200 and not set(second.json()["recovery_codes"]) & set(first)
    assert _token(client, username, first[1]).status_code == 401
    assert _token(client, username, second.json()["recovery_codes"][0]).status_code == 200
    assert _entries(client, action="auth.second_factor.recovery_codes", actor=username)


def test_a_user_removes_an_optional_factor_with_a_current_code(client, admin_headers):
    username = _staff(client, admin_headers)
    _, recovery = _enrol_by_api(client, username)
    headers = _bearer_with(client, username, recovery[0])
    refused = client.post("/api/auth/second-factor/remove", headers=headers, json={"code": "123456"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_otp"
    code = fresh_code(database_of(client), username)
    assert client.post("/api/auth/second-factor/remove", headers=headers, json={"code": code}).status_code == 204
    assert _token(client, username).status_code == 200  # the password alone again
    assert [e["outcome"] for e in _entries(client, action="auth.second_factor.remove", actor=username)] == [
        "success",
        "failure",
    ]


def test_the_page_login_asks_for_the_code_after_the_password(app, admin_headers):
    # An application's sign-in request waiting behind the login (any same-site address, however long).
    target = "/account?" + urlencode({"state": "s" * 1500, "next": "/oidc/authorize?client_id=x"})
    with TestClient(app, base_url="http://testserver") as client:
        username = _staff(client, admin_headers)
        _enrol_by_api(client, username)
        login = client.get("/login", headers=HTML)
        step = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(login.text), "next": target},
            headers=HTML,
            follow_redirects=False,
        )
        assert step.status_code == 303 and step.headers["location"].startswith("/login/second-factor?next=")
        # The password alone opened nothing.
        assert client.get("/account", headers=HTML, follow_redirects=False).status_code == 303
        page = client.get(step.headers["location"], headers=HTML)
        assert page.status_code == 200 and "动态口令" in page.text
        form = {"csrf_token": csrf_from(page.text), "next": target}
        wrong = client.post("/login/second-factor", data=form | {"code": "12345"}, headers=HTML)
        assert wrong.status_code == 422
        bad = client.post("/login/second-factor", data=form | {"code": "9999999999"}, headers=HTML)
        assert bad.status_code == 401 and "动态口令或恢复码不正确" in bad.text
        assert 'name="next" value="' + target.replace("&", "&amp;") + '"' in bad.text  # kept for the retry
        done = client.post(
            "/login/second-factor",
            data=form | {"code": fresh_code(database_of(client), username)},
            headers=HTML,
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == target
        account = client.get("/account", headers=HTML)
        assert account.status_code == 200 and "已启用" in account.text
        # The pending login was used once: going back to the second step leads to the login page.
        again = client.get("/login/second-factor", headers=HTML, follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"].startswith("/login")


def test_the_second_step_goes_only_to_addresses_of_the_platform(app, admin_headers):
    with TestClient(app, base_url="http://testserver") as client:
        username = _staff(client, admin_headers)
        _enrol_by_api(client, username)
        login = client.get("/login", headers=HTML)
        client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(login.text), "next": "/"},
            headers=HTML,
            follow_redirects=False,
        )
        page = client.get("/login/second-factor", params={"next": "https://elsewhere.example/"}, headers=HTML)
        assert 'name="next" value="/"' in page.text
        done = client.post(
            "/login/second-factor",
            data={
                "csrf_token": csrf_from(page.text),
                "next": "//elsewhere.example/",
                "code": fresh_code(database_of(client), username),
            },
            headers=HTML,
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == "/"


def test_wrong_codes_are_throttled_like_wrong_passwords(app, admin_headers, runtime):
    with TestClient(app, base_url="http://testserver", client=("192.0.2.44", 40000)) as client:
        username = _staff(client, admin_headers)
        _, recovery = _enrol_by_api(client, username)
        for _ in range(runtime.settings.login_max_failures):
            assert _token(client, username, "000001").status_code == 401
        held = _token(client, username, recovery[0])  # even a right code waits there
        assert held.status_code == 429 and held.json()["error"]["code"] == "login_throttled"
        assert int(held.headers["retry-after"]) > 0
    # Another address is not held back by this one's failures.
    with TestClient(app, base_url="http://testserver", client=("192.0.2.45", 40000)) as other:
        assert _token(other, username, recovery[0]).status_code == 200  # and the code held back is still unused


def test_http_basic_is_refused_to_an_account_with_a_second_factor(client):
    import base64

    basic = base64.b64encode(b"admin:changshu2026").decode()
    refused = client.get("/api/auth/me", headers={"Authorization": f"Basic {basic}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "mfa_required"


def test_an_administrator_without_a_factor_can_do_nothing_but_enrol(client, runtime):
    username = unique("noscnd")
    created = run_cli(
        runtime, "user", "create", "--username", username, "--password", PASSWORD, "--role", "audit_admin",
        "--department", "DSJ",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    refused = _token(client, username)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "mfa_enrolment_required"
    login = client.get("/login", headers=HTML)
    step = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(login.text), "next": "/admin/audit"},
        headers=HTML,
        follow_redirects=False,
    )
    assert step.status_code == 303 and step.headers["location"] == "/account/second-factor"
    for path in ("/admin/audit", "/account", "/workbench"):
        held = client.get(path, headers=HTML, follow_redirects=False)
        assert held.status_code == 303 and held.headers["location"] == "/account/second-factor", path
    api = client.get("/api/audit/entries")
    assert api.status_code == 403 and api.json()["error"]["code"] == "mfa_enrolment_required"
    me = client.get("/api/auth/me")
    assert me.status_code == 403
    page = client.get("/account/second-factor", headers=HTML)
    assert page.status_code == 200 and "请先绑定身份验证器" in page.text
    # Enrolled, it is in: the session it gets now opens the audit log.
    enrol_through_pages(client, username, PASSWORD)
    assert client.get("/admin/audit", headers=HTML).status_code == 200
    assert token_for(client, username, PASSWORD)


def test_an_administrator_cannot_remove_the_factor_its_role_requires(client):
    headers = bearer(client, "admin")
    code = fresh_code(database_of(client), "admin")
    refused = client.post("/api/auth/second-factor/remove", headers=headers, json={"code": code})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "mfa_required_by_role"
    assert client.get("/api/auth/second-factor", headers=headers).json()["required"] is True


def test_the_security_administrator_resets_a_lost_factor_with_a_reason(client, admin_headers, security_headers):
    username = _staff(client, admin_headers)
    _enrol_by_api(client, username)
    holder = bearer(client, username, PASSWORD)
    user_id = client.get("/api/auth/me", headers=holder).json()["user_id"]
    path = f"/api/org/users/{user_id}/second-factor/reset"
    assert client.post(path, headers=admin_headers, json={"reason": "手机丢失"}).status_code == 403
    assert client.post(path, headers=security_headers, json={"reason": "丢"}).status_code == 422
    done = client.post(path, headers=security_headers, json={"reason": "本人手机丢失，电话核实"})
    assert done.status_code == 204
    assert client.get("/api/auth/me", headers=holder).status_code == 401  # its sessions and tokens ended
    assert _token(client, username).status_code == 200  # the password alone: its role requires nothing
    entry = _entries(client, action="auth.second_factor.reset", target_id=str(user_id))[0]
    assert entry["actor_name"] == "secadmin" and "本人手机丢失，电话核实" in entry["details"]
    own = client.get("/api/auth/me", headers=security_headers).json()["user_id"]
    refused = client.post(
        f"/api/org/users/{own}/second-factor/reset", headers=security_headers, json={"reason": "重置自己的"}
    )
    assert refused.status_code == 403


def test_a_role_that_starts_requiring_a_factor_sends_its_holders_to_enrolment(client, admin_headers, security_headers):
    username = _staff(client, admin_headers, roles=("dispatcher",))
    headers = bearer(client, username, PASSWORD)
    flag = "/api/org/roles/dispatcher/second-factor"
    assert client.put(flag, headers=admin_headers, json={"requires_second_factor": True}).status_code == 403
    turned = client.put(flag, headers=security_headers, json={"requires_second_factor": True})
    assert turned.status_code == 200 and turned.json()["requires_second_factor"] is True
    try:
        assert client.get("/api/auth/me", headers=headers).status_code == 401  # signed out
        refused = _token(client, username)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "mfa_enrolment_required"
        entry = _entries(client, action="org.role.second_factor", target_id="dispatcher")[0]
        assert entry["actor_name"] == "secadmin" and '"signed_out":' in entry["details"]
    finally:
        off = client.put(flag, headers=security_headers, json={"requires_second_factor": False})
        assert off.status_code == 200
    assert _token(client, username).status_code == 200
    for role in ("platform_admin", "security_admin", "audit_admin"):
        kept = client.put(
            f"/api/org/roles/{role}/second-factor", headers=security_headers, json={"requires_second_factor": False}
        )
        assert kept.status_code == 422 and kept.json()["error"]["code"] == "mfa_required_by_role", role


def test_the_demo_administrators_log_in_with_the_published_secret(client):
    from yiwang.demo.loader import DEMO_TOTP_SECRET

    for username in ("admin", "secadmin", "auditor"):
        missing = client.post(
            "/api/auth/token", data={"grant_type": "password", "username": username, "password": "changshu2026"}
        )
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "mfa_required", username
    code = fresh_code(database_of(client), "auditor", DEMO_TOTP_SECRET)
    assert len(code) == 6 and code.isdigit()
    logged_in = client.post(
        "/api/auth/token",
        data={"grant_type": "password", "username": "auditor", "password": "changshu2026", "otp": code},
    )
    assert logged_in.status_code == 200, logged_in.text


def test_one_code_sent_by_many_logins_at_once_lets_exactly_one_in(app, admin_headers):
    """The step moves forward in one conditional update: concurrent logins racing on one code (a
    code seen over a shoulder and replayed at once), and an ordinary read alongside, are served."""
    from concurrent.futures import ThreadPoolExecutor

    with TestClient(app, base_url="http://testserver") as client:
        username = _staff(client, admin_headers)
        _enrol_by_api(client, username)
        code = fresh_code(database_of(client), username)

        def login(_: int) -> int:
            with TestClient(app, base_url="http://testserver") as own:
                return _token(own, username, code).status_code

        def health(_: int) -> int:
            with TestClient(app, base_url="http://testserver") as own:
                return own.get("/healthz").status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            logins = pool.map(login, range(6))
            reads = pool.map(health, range(3))
            answers, healthy = sorted(logins), list(reads)
    assert answers.count(200) == 1 and answers.count(401) == 5, answers
    assert healthy == [200, 200, 200]
