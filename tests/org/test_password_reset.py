"""Password reset (找回密码) and changing the bound mobile, by SMS code."""

import pytest

from tests.conftest import token_for
from tests.org.signup import PASSWORD, client_at, code_for, messages_to, new_phone, register

NEW_PASSWORD = "Renewed2026y"


@pytest.fixture
def caller(app):
    with client_at(app) as test_client:
        yield test_client


@pytest.fixture
def citizen_account(caller, admin_headers):
    response, body = register(caller, admin_headers)
    assert response.status_code == 202
    return body


def _ask_reset(client, username: str, phone: str):
    return client.post("/api/password-reset/code", json={"username": username, "phone": phone})


def test_a_reset_sets_the_new_password_and_ends_every_other_session(
    caller, admin_headers, auditor_headers, citizen_account
):
    username, phone = citizen_account["username"], citizen_account["phone"]
    old_token = token_for(caller, username, PASSWORD)
    key = caller.post("/api/auth/api-keys", headers={"Authorization": f"Bearer {old_token}"}).json()["api_key"]

    asked = _ask_reset(caller, username.upper(), phone)
    assert asked.status_code == 202
    code = code_for(caller, admin_headers, phone)
    reset = caller.post(
        "/api/password-reset",
        json={"username": username, "phone": phone, "code": code, "new_password": NEW_PASSWORD},
    )
    assert reset.status_code == 204, reset.text

    assert caller.get("/api/auth/me", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    assert caller.get("/api/auth/me", headers={"X-API-Key": key}).status_code == 401
    assert token_for(caller, username, NEW_PASSWORD)
    old = caller.post("/api/auth/token", data={"grant_type": "password", "username": username, "password": PASSWORD})
    assert old.status_code == 401
    assert messages_to(caller, admin_headers, phone)[0]["template"] == "password_reset_done"
    entries = caller.get(
        "/api/audit/entries", headers=auditor_headers, params={"action": "auth.password.reset", "size": 5}
    ).json()["items"]
    assert entries[0]["outcome"] == "success" and phone not in entries[0]["details"]


def test_unknown_names_and_numbers_get_the_same_answer_and_no_message(caller, admin_headers, citizen_account):
    known = _ask_reset(caller, citizen_account["username"], citizen_account["phone"])
    stranger = new_phone()
    unknown_number = _ask_reset(caller, citizen_account["username"], stranger)
    unknown_name = _ask_reset(caller, "nobody-" + citizen_account["username"], new_phone())
    assert known.status_code == unknown_number.status_code == unknown_name.status_code == 202
    assert known.json() == unknown_number.json() == unknown_name.json()
    assert messages_to(caller, admin_headers, stranger) == []

    # Counted like a real request: asking again at once is refused the same way.
    assert _ask_reset(caller, citizen_account["username"], stranger).status_code == 429
    # And no code can reset anything through it.
    attempt = caller.post(
        "/api/password-reset",
        json={
            "username": citizen_account["username"],
            "phone": stranger,
            "code": "000000",
            "new_password": NEW_PASSWORD,
        },
    )
    assert attempt.status_code == 422 and attempt.json()["error"]["code"] == "code_invalid"


def test_a_reset_code_is_bound_to_the_account_it_was_asked_for(caller, admin_headers, citizen_account):
    phone = citizen_account["phone"]
    assert _ask_reset(caller, citizen_account["username"], phone).status_code == 202
    code = code_for(caller, admin_headers, phone)
    other = caller.post(
        "/api/password-reset",
        json={"username": "admin", "phone": phone, "code": code, "new_password": NEW_PASSWORD},
    )
    assert other.status_code == 422
    assert token_for(caller, "admin")  # untouched


def test_the_new_password_follows_the_password_rules(caller, admin_headers, citizen_account):
    phone = citizen_account["phone"]
    _ask_reset(caller, citizen_account["username"], phone)
    code = code_for(caller, admin_headers, phone)
    weak = caller.post(
        "/api/password-reset",
        json={"username": citizen_account["username"], "phone": phone, "code": code, "new_password": "short"},
    )
    assert weak.status_code == 422 and "password" in weak.json()["error"]["details"]
    good = caller.post(
        "/api/password-reset",
        json={"username": citizen_account["username"], "phone": phone, "code": code, "new_password": NEW_PASSWORD},
    )
    assert good.status_code == 204  # the refusal did not use the code up


def test_a_reset_lets_a_throttled_holder_in_from_where_they_proved_the_number(app, admin_headers, citizen_account):
    username, phone = citizen_account["username"], citizen_account["phone"]
    with client_at(app) as here:
        for _ in range(6):
            here.post("/api/auth/token", data={"grant_type": "password", "username": username, "password": "wrong1x"})
        held = here.post("/api/auth/token", data={"grant_type": "password", "username": username, "password": PASSWORD})
        assert held.status_code == 429
        _ask_reset(here, username, phone)
        code = code_for(here, admin_headers, phone)
        reset = here.post(
            "/api/password-reset",
            json={"username": username, "phone": phone, "code": code, "new_password": NEW_PASSWORD},
        )
        assert reset.status_code == 204
        assert token_for(here, username, NEW_PASSWORD)


def test_an_account_binds_a_new_mobile_with_its_code(caller, admin_headers, citizen_account):
    token = token_for(caller, citizen_account["username"], PASSWORD)
    headers = {"Authorization": f"Bearer {token}"}
    new = new_phone()
    assert caller.post("/api/auth/phone/code", headers=headers, json={"phone": new}).status_code == 202
    code = code_for(caller, admin_headers, new)
    assert (
        caller.post(
            "/api/auth/phone", headers=headers, json={"phone": new, "code": "000000" if code != "000000" else "111111"}
        ).status_code
        == 422
    )
    assert caller.post("/api/auth/phone", headers=headers, json={"phone": new, "code": code}).status_code == 204
    old_notice = messages_to(caller, admin_headers, citizen_account["phone"])[0]
    assert old_notice["template"] == "phone_changed"
    me = caller.get("/api/auth/me", headers=headers).json()
    account = caller.get(f"/api/org/users/{me['user_id']}", headers=headers).json()
    assert account["phone"] == new[:3] + "****" + new[-4:]
    # Reset now goes by the new number only.
    assert _ask_reset(caller, citizen_account["username"], new).status_code == 202
    assert messages_to(caller, admin_headers, new)[0]["template"] == "reset_code"
