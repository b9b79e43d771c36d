"""Self-registration through the JSON API: citizens and enterprises end to end, re-registration that tells
an anonymous caller nothing, the identifier and age rules, password reset and changing the bound mobile."""

import pytest

from tests.conftest import token_for
from tests.org.signup import (
    PASSWORD,
    ask_code,
    citizen,
    client_at,
    code_for,
    messages_to,
    new_credit_code,
    new_id_number,
    new_phone,
    register,
)
from yiwang.core.masking import mask_id_number
from yiwang.org import service


@pytest.fixture
def caller(app):
    with client_at(app) as test_client:
        yield test_client


def _audit(client, auditor_headers, action: str) -> list[dict]:
    """The newest audit entries of an action, as the audit administrator reads them."""
    response = client.get("/api/audit/entries", headers=auditor_headers, params={"action": action, "size": 50})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_citizen_registers_with_a_texted_code_and_logs_in(caller, admin_headers, auditor_headers, runtime):
    response, body = register(caller, admin_headers)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted", "message": "已受理，请查收短信：注册结果将以短信通知您的手机。"}
    confirmation = messages_to(caller, admin_headers, body["phone"])[0]
    assert confirmation["template"] == "register_done" and body["username"] in confirmation["text"]

    token = token_for(caller, body["username"], PASSWORD)
    me = caller.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["kind"] == "citizen" and me["roles"] == ["citizen"] and me["display_name"] == "陈晓梅"
    with runtime.db.sessions() as db:
        assert (
            service.find_account_id_by_id_number(db, id_number=body["id_number"], cipher=runtime.cipher)
            == me["user_id"]
        )
    account = caller.get(f"/api/org/users/{me['user_id']}", headers={"Authorization": f"Bearer {token}"}).json()
    assert account["id_number"] == mask_id_number(body["id_number"]) and account["phone"].startswith("139****")

    entry = _audit(caller, auditor_headers, "org.registration")[0]
    assert entry["outcome"] == "success" and entry["target_id"] == str(me["user_id"])
    assert body["id_number"] not in entry["details"] and mask_id_number(body["id_number"]) in entry["details"]


def test_an_enterprise_registers_with_its_credit_code_and_operator_mobile(caller, admin_headers, runtime):
    response, body = register(caller, admin_headers, "enterprise")
    assert response.status_code == 202, response.text
    token = token_for(caller, body["username"], PASSWORD)
    headers = {"Authorization": f"Bearer {token}"}
    me = caller.get("/api/auth/me", headers=headers).json()
    assert me["kind"] == "enterprise" and me["roles"] == ["enterprise"]
    with runtime.db.sessions() as db:
        brief = service.get_account(db, user_id=me["user_id"])
    assert brief.credit_code == body["credit_code"] and brief.display_name == "常熟虞山科技有限公司"


def test_registering_a_registered_id_number_again_looks_the_same_and_tells_the_holder(
    caller, admin_headers, auditor_headers, runtime
):
    first, body = register(caller, admin_headers)
    again, second_body = register(caller, admin_headers, id_number=body["id_number"], display_name="冒名者")
    assert (first.status_code, first.json()) == (again.status_code, again.json())
    assert first.headers["content-type"] == again.headers["content-type"]

    # The holder's mobile hears of the attempt; the second mobile gets no confirmation.
    notice = messages_to(caller, admin_headers, body["phone"])[0]
    assert notice["template"] == "register_exists" and "该证件号已注册" in notice["text"]
    assert [m["template"] for m in messages_to(caller, admin_headers, second_body["phone"])] == ["register_code"]
    assert (
        caller.post(
            "/api/auth/token",
            data={"grant_type": "password", "username": second_body["username"], "password": PASSWORD},
        ).status_code
        == 401
    )
    with runtime.db.sessions() as db:
        holder = service.find_account_id_by_id_number(db, id_number=body["id_number"], cipher=runtime.cipher)
        assert service.get_account(db, user_id=holder).username == body["username"]
    refused = _audit(caller, auditor_headers, "org.registration")[0]
    assert refused["outcome"] == "failure" and "already_registered" in refused["details"]
    assert body["id_number"] not in refused["details"]


def test_registering_a_registered_credit_code_again_looks_the_same(caller, admin_headers):
    code = new_credit_code()
    first, body = register(caller, admin_headers, "enterprise", credit_code=code)
    again, second = register(caller, admin_headers, "enterprise", credit_code=code, enterprise_name="另一家公司")
    assert (first.status_code, first.json()) == (again.status_code, again.json())
    assert messages_to(caller, admin_headers, body["phone"])[0]["template"] == "register_exists"
    assert messages_to(caller, admin_headers, second["phone"])[0]["template"] == "register_code"


def test_a_minor_is_told_the_rule(caller, admin_headers):
    from yiwang.core.timeutil import local_today

    today = local_today()
    seventeen = today.replace(year=today.year - 17)
    response, _ = register(caller, admin_headers, id_number=new_id_number(born=seventeen))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "under_age"
    assert "未满18周岁" in response.json()["error"]["message"]
    adult = today.replace(year=today.year - 18)
    assert register(caller, admin_headers, id_number=new_id_number(born=adult))[0].status_code == 202


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "320581199001011235", "身份证号码校验位错误"),
        ("phone", "12345678901", "手机号码应为11位大陆手机号"),
        ("code", "12ab56", None),
    ],
)
def test_wrong_identifiers_are_refused_before_any_code_is_used(caller, field, value, message):
    body = citizen(new_phone(), "123456") | {field: value}
    response = caller.post("/api/register/citizen", json=body)
    assert response.status_code == 422
    if message:
        assert message in response.text


def test_a_wrong_credit_code_is_refused(caller):
    from tests.org.signup import enterprise

    code = new_credit_code()
    body = enterprise(new_phone(), "123456", credit_code=code[:17] + ("0" if code[17] != "0" else "1"))
    response = caller.post("/api/register/enterprise", json=body)
    assert response.status_code == 422 and "统一社会信用代码校验位错误" in response.text


def test_a_taken_username_is_refused_and_counted_against_the_code(caller, admin_headers):
    _, taken = register(caller, admin_headers)
    phone = new_phone()
    ask_code(caller, phone)
    code = code_for(caller, admin_headers, phone)
    body = citizen(phone, code, username=taken["username"].upper())
    for _ in range(4):
        refused = caller.post("/api/register/citizen", json=body)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "username_taken"
    # The fifth use of the code is gone: it cannot be used to try name after name.
    last = caller.post("/api/register/citizen", json=body)
    assert last.status_code == 409
    worn = caller.post("/api/register/citizen", json=body | {"username": "fresh" + taken["username"]})
    assert worn.status_code == 422 and "次数过多" in worn.json()["error"]["message"]


def test_a_wrong_code_says_how_many_tries_are_left_then_the_code_is_void(caller, admin_headers):
    phone = new_phone()
    ask_code(caller, phone)
    code = code_for(caller, admin_headers, phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    body = citizen(phone, wrong)
    messages = [caller.post("/api/register/citizen", json=body).json()["error"]["message"] for _ in range(5)]
    assert messages[:4] == [
        "验证码错误，还可尝试4次",
        "验证码错误，还可尝试3次",
        "验证码错误，还可尝试2次",
        "验证码错误，还可尝试1次",
    ]
    assert "次数过多" in messages[4]
    refused = caller.post("/api/register/citizen", json=body | {"code": code})
    assert refused.status_code == 422 and "次数过多" in refused.json()["error"]["message"]


def test_a_used_code_does_not_register_twice(caller, admin_headers):
    response, body = register(caller, admin_headers)
    assert response.status_code == 202
    again = caller.post(
        "/api/register/citizen", json=body | {"id_number": new_id_number(), "username": "x" + body["username"]}
    )
    assert again.status_code == 422 and again.json()["error"]["message"] == "验证码已失效，请重新获取"


def test_asking_again_within_a_minute_says_how_long_to_wait(caller):
    phone = new_phone()
    ask_code(caller, phone)
    refused = caller.post("/api/register/code", json={"phone": phone})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "code_rate_limited"
    wait = int(refused.headers["Retry-After"])
    assert 55 <= wait <= 60 and f"请在{wait}秒后再获取" in refused.json()["error"]["message"]


def test_a_code_send_is_audited_with_the_number_masked(caller, auditor_headers):
    phone = new_phone()
    ask_code(caller, phone)
    entry = _audit(caller, auditor_headers, "org.code.send")[0]
    assert entry["target_id"] == phone[:3] + "****" + phone[-4:] and phone not in entry["details"]


def test_staff_cannot_open_a_second_account_for_a_registered_credit_code(caller, admin_headers):
    _, body = register(caller, admin_headers, "enterprise")
    response = caller.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": "dup" + body["username"],
            "kind": "enterprise",
            "display_name": "重复企业",
            "password": PASSWORD,
            "credit_code": body["credit_code"],
            "roles": ["enterprise"],
        },
    )
    assert response.status_code == 409 and response.json()["error"]["message"] == "该统一社会信用代码已注册"
