"""The registration, password-reset and outbox pages: forms with validation attributes, 获取验证码 keeping
what was typed, refusals beside their fields with 422, and every registration ending on 请查收短信."""

import re

import pytest

from tests.conftest import csrf_from, page_login
from tests.org.signup import PASSWORD, client_at, code_for, messages_to, new_credit_code, new_id_number, new_phone

HTML = {"accept": "text/html"}


@pytest.fixture
def browser_like(app):
    with client_at(app) as test_client:
        yield test_client


def _form(client, path: str) -> str:
    page = client.get(path, headers=HTML)
    assert page.status_code == 200
    return csrf_from(page.text)


def _citizen_form(phone: str, **changes: str) -> dict[str, str]:
    return {
        "display_name": "周文静",
        "id_number": new_id_number(),
        "phone": phone,
        "code": "",
        "username": f"zw{phone[-6:]}",
        "password": PASSWORD,
    } | changes


def _value(html: str, name: str) -> str | None:
    found = re.search(rf'<input name="{name}" value="([^"]*)"', html)
    return found.group(1) if found else None


def test_the_login_page_links_to_registration_and_reset(browser_like):
    page = browser_like.get("/login", headers=HTML).text
    assert 'href="/register"' in page and 'href="/password-reset"' in page
    choice = browser_like.get("/register", headers=HTML).text
    assert 'href="/register/citizen"' in choice and 'href="/register/enterprise"' in choice


def test_the_citizen_form_carries_validation_attributes(browser_like):
    page = browser_like.get("/register/citizen", headers=HTML).text
    assert 'name="id_number"' in page and 'pattern="[0-9]{17}[0-9Xx]"' in page
    assert 'name="phone"' in page and 'pattern="1[3-9][0-9]{9}"' in page and 'inputmode="numeric"' in page
    assert 'autocomplete="one-time-code"' in page and 'pattern="[0-9]{6}"' in page
    assert 'value="send_code" formnovalidate' in page
    assert 'type="password" name="password"' in page and 'minlength="8"' in page


def test_asking_for_a_code_keeps_everything_typed(browser_like, admin_headers):
    csrf = _form(browser_like, "/register/citizen")
    phone = new_phone()
    typed = _citizen_form(phone)
    page = browser_like.post(
        "/register/citizen", data=typed | {"action": "send_code", "csrf_token": csrf}, headers=HTML
    )
    assert page.status_code == 200
    assert "验证码已发送，请查收短信" in page.text and phone[:3] + "****" + phone[-4:] in page.text
    for name in ("display_name", "id_number", "phone", "username"):
        assert _value(page.text, name) == typed[name]
    assert PASSWORD not in page.text  # a password is never written back
    assert 'class="field-error"' not in page.text
    assert code_for(browser_like, admin_headers, phone)


def test_a_wrong_number_for_the_code_is_shown_beside_the_field(browser_like):
    csrf = _form(browser_like, "/register/citizen")
    page = browser_like.post(
        "/register/citizen",
        data=_citizen_form("1234") | {"action": "send_code", "csrf_token": csrf},
        headers=HTML,
    )
    assert page.status_code == 422
    assert 'id="error-phone"' in page.text and "手机号码应为11位大陆手机号" in page.text
    assert _value(page.text, "display_name") == "周文静"


def test_a_refused_registration_keeps_the_input_and_names_the_fields(browser_like):
    csrf = _form(browser_like, "/register/citizen")
    typed = _citizen_form(new_phone(), id_number="320581199001011235", code="12")
    page = browser_like.post("/register/citizen", data=typed | {"action": "submit", "csrf_token": csrf}, headers=HTML)
    assert page.status_code == 422
    assert "身份证号码校验位错误" in page.text and 'id="error-code"' in page.text
    assert "请按提示修改" in page.text
    assert _value(page.text, "id_number") == "320581199001011235" and _value(page.text, "display_name") == "周文静"


def test_a_wrong_code_on_the_page_says_how_many_tries_are_left(browser_like, admin_headers):
    csrf = _form(browser_like, "/register/citizen")
    phone = new_phone()
    typed = _citizen_form(phone)
    browser_like.post("/register/citizen", data=typed | {"action": "send_code", "csrf_token": csrf}, headers=HTML)
    code = code_for(browser_like, admin_headers, phone)
    wrong = f"{(int(code) + 3) % 10**6:06d}"
    page = browser_like.post(
        "/register/citizen", data=typed | {"code": wrong, "action": "submit", "csrf_token": csrf}, headers=HTML
    )
    assert page.status_code == 422
    assert 'id="error-code"' in page.text and "验证码错误，还可尝试4次" in page.text
    # The counted attempt was kept: the next wrong entry says 3.
    again = browser_like.post(
        "/register/citizen", data=typed | {"code": wrong, "action": "submit", "csrf_token": csrf}, headers=HTML
    )
    assert "还可尝试3次" in again.text


def _register_on_page(client, admin_headers, path: str, typed: dict[str, str]):
    csrf = _form(client, path)
    client.post(path, data=typed | {"action": "send_code", "csrf_token": csrf}, headers=HTML)
    code = code_for(client, admin_headers, typed["phone"])
    return client.post(
        path,
        data=typed | {"code": code, "action": "submit", "csrf_token": csrf},
        headers=HTML,
        follow_redirects=False,
    )


def test_a_citizen_registers_on_the_pages_and_logs_in(app, browser_like, admin_headers):
    typed = _citizen_form(new_phone())
    done = _register_on_page(browser_like, admin_headers, "/register/citizen", typed)
    assert (done.status_code, done.headers["location"]) == (303, "/register/sent")
    sent = browser_like.get("/register/sent", headers=HTML)
    assert "请查收短信" in sent.text
    with client_at(app) as fresh:
        page_login(fresh, typed["username"], PASSWORD)
        account = fresh.get("/account", headers=HTML).text
        assert "周文静" in account


def test_registering_again_on_the_pages_ends_on_the_same_page(browser_like, admin_headers):
    first = _citizen_form(new_phone())
    _register_on_page(browser_like, admin_headers, "/register/citizen", first)
    second = _citizen_form(new_phone(), id_number=first["id_number"], username="other" + first["username"])
    again = _register_on_page(browser_like, admin_headers, "/register/citizen", second)
    assert (again.status_code, again.headers["location"]) == (303, "/register/sent")
    assert messages_to(browser_like, admin_headers, first["phone"])[0]["template"] == "register_exists"


def test_an_enterprise_registers_on_the_pages(browser_like, admin_headers):
    phone = new_phone()
    typed = {
        "enterprise_name": "常熟琴川纺织有限公司",
        "credit_code": new_credit_code(),
        "legal_representative": "顾国强",
        "operator_name": "沈丽",
        "phone": phone,
        "code": "",
        "username": f"qc{phone[-6:]}",
        "password": PASSWORD,
    }
    done = _register_on_page(browser_like, admin_headers, "/register/enterprise", typed)
    assert (done.status_code, done.headers["location"]) == (303, "/register/sent")
    assert messages_to(browser_like, admin_headers, phone)[0]["template"] == "register_done"


def test_a_password_is_reset_on_the_page(app, browser_like, admin_headers):
    typed = _citizen_form(new_phone())
    _register_on_page(browser_like, admin_headers, "/register/citizen", typed)
    csrf = _form(browser_like, "/password-reset")
    ask = {"username": typed["username"], "phone": typed["phone"], "code": "", "new_password": ""}
    sent = browser_like.post("/password-reset", data=ask | {"action": "send_code", "csrf_token": csrf}, headers=HTML)
    assert sent.status_code == 200 and "如果用户名与手机号相符" in sent.text
    code = code_for(browser_like, admin_headers, typed["phone"])
    done = browser_like.post(
        "/password-reset",
        data=ask | {"code": code, "new_password": "Pagereset2026", "action": "submit", "csrf_token": csrf},
        headers=HTML,
        follow_redirects=False,
    )
    assert (done.status_code, done.headers["location"]) == (303, "/login?notice=password_reset")
    assert "密码已重置" in browser_like.get("/login?notice=password_reset", headers=HTML).text
    with client_at(app) as fresh:
        page_login(fresh, typed["username"], "Pagereset2026")


def test_a_weak_new_password_is_shown_beside_its_field(browser_like):
    csrf = _form(browser_like, "/password-reset")
    data = {"username": "someone", "phone": new_phone(), "code": "123456", "new_password": "short"}
    page = browser_like.post("/password-reset", data=data | {"action": "submit", "csrf_token": csrf}, headers=HTML)
    assert page.status_code == 422 and 'id="error-new_password"' in page.text
    assert _value(page.text, "username") == "someone"


def test_the_outbox_page_is_for_the_system_administrator_and_says_what_it_is(app, browser_like, auditor_headers):
    phone = new_phone()
    browser_like.post("/api/register/code", json={"phone": phone})
    with client_at(app) as admin:
        page_login(admin, "admin")
        page = admin.get("/admin/messages", headers=HTML)
        assert page.status_code == 200
        assert "本地发件箱" in page.text and "没有真正发出" in page.text
        assert phone[:3] + "****" + phone[-4:] in page.text and phone not in page.text
        assert re.search(r"验证码\d{6}", page.text)
    with client_at(app) as handler:
        page_login(handler, "cgj_handler")
        assert handler.get("/admin/messages", headers=HTML).status_code == 403
    reads = browser_like.get(
        "/api/audit/entries", headers=auditor_headers, params={"action": "org.message.read", "size": 5}
    ).json()["items"]
    assert reads and reads[0]["actor_name"] == "admin"


def test_an_account_binds_a_new_mobile_on_its_page(app, browser_like, admin_headers):
    typed = _citizen_form(new_phone())
    _register_on_page(browser_like, admin_headers, "/register/citizen", typed)
    with client_at(app) as holder:
        csrf = page_login(holder, typed["username"], PASSWORD)
        assert 'href="/account/phone"' in holder.get("/account", headers=HTML).text
        new = new_phone()
        sent = holder.post(
            "/account/phone", data={"phone": new, "code": "", "action": "send_code", "csrf_token": csrf}, headers=HTML
        )
        assert sent.status_code == 200 and new[:3] + "****" + new[-4:] in sent.text
        assert _value(sent.text, "phone") == new
        code = code_for(holder, admin_headers, new)
        done = holder.post(
            "/account/phone",
            data={"phone": new, "code": code, "action": "submit", "csrf_token": csrf},
            headers=HTML,
            follow_redirects=False,
        )
        assert (done.status_code, done.headers["location"]) == (303, "/account?notice=phone_changed")
        account = holder.get("/account?notice=phone_changed", headers=HTML).text
        assert "手机号已更换" in account and new[:3] + "****" + new[-4:] in account
    assert messages_to(browser_like, admin_headers, typed["phone"])[0]["template"] == "phone_changed"
    assert browser_like.get("/account/phone", headers=HTML, follow_redirects=False).status_code in (303, 307)
