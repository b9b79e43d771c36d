"""CSRF: forms must carry the session's token; cookie-authenticated API writes need the header."""

from tests.conftest import csrf_from, page_login


def test_login_form_without_the_token_is_rejected(client):
    client.get("/login", headers={"accept": "text/html"})
    response = client.post(
        "/login",
        data={"username": "admin", "password": "changshu2026"},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "页面已过期或来源不可信" in response.text


def test_login_form_with_a_forged_token_is_rejected(client):
    client.get("/login", headers={"accept": "text/html"})
    response = client.post(
        "/login",
        data={"username": "admin", "password": "changshu2026", "csrf_token": "forged"},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_session_cookie_flags(client):
    page = client.get("/login", headers={"accept": "text/html"})
    response = client.post(
        "/login",
        data={"username": "cgj_handler", "password": "changshu2026", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert "yiwang_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_logged_in_form_needs_the_session_token(client):
    token = page_login(client, "cgj_handler")
    refused = client.post(
        "/account/api-keys", data={"label": "x", "csrf_token": "not-the-token"}, headers={"accept": "text/html"}
    )
    assert refused.status_code == 403
    accepted = client.post(
        "/account/api-keys", data={"label": "x", "csrf_token": token}, headers={"accept": "text/html"}
    )
    assert accepted.status_code == 200 and "ywk_" in accepted.text


def test_cookie_authenticated_api_write_needs_the_csrf_header(client):
    token = page_login(client, "cgj_handler")
    body = {"current_password": "wrong-one-1", "new_password": "Whatever2026"}
    refused = client.post("/api/auth/password", json=body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    reached = client.post("/api/auth/password", json=body, headers={"X-CSRF-Token": token})
    assert reached.status_code == 422  # past CSRF, stopped by the wrong current password
    assert client.get("/api/auth/me").status_code == 200  # reads need no token
