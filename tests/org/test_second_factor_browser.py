"""A real browser through two-factor login: enrol an authenticator from the QR page, log out, log in
with a code, then with a recovery code; and an administrator held at enrolment."""

import pytest

from tests.conftest import run_cli, unique
from tests.second_factor import fresh_code

PASSWORD = "Browser2026x"


def _login(page, base: str, username: str, target: str = "/account") -> None:
    page.goto(f"{base}/login?next={target}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")


def _logout(page) -> None:
    page.click(".usermenu button")
    page.wait_for_url("**/?notice=logged_out")


@pytest.mark.browser
def test_enrol_from_the_qr_page_then_log_in_with_a_code_and_a_recovery_code(
    app, client, admin_headers, live_url, browser, tmp_path
):
    database = app.state.settings.resolved_database_url
    username = unique("brw")
    created = client.post(
        "/api/org/users",
        headers=admin_headers,
        json={
            "username": username,
            "kind": "staff",
            "display_name": "浏览器双因素",
            "password": PASSWORD,
            "department_code": "CGJ",
            "roles": ["handler"],
        },
    )
    assert created.status_code == 201, created.text
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_url, username)
    page.wait_for_url(f"{live_url}/account")
    page.click('a[href="/account/second-factor"]')
    page.click('button:has-text("开始绑定身份验证器")')
    qr = page.locator("figure.qr svg")
    assert qr.is_visible() and qr.bounding_box()["width"] >= 150
    secret = page.locator("#totp-secret").inner_text().strip()
    assert len(secret) == 32
    shot = tmp_path / "enrol.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.fill("input[name=code]", fresh_code(database, username, secret))
    page.click('button:has-text("确认绑定")')
    codes = page.locator("ol.recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and "只显示这一次" in page.content()
    page.screenshot(path=str(tmp_path / "recovery.png"), full_page=True)
    page.click('a:has-text("我已保存，继续")')
    assert "身份验证器已启用" in page.locator("h2").first.inner_text()
    _logout(page)

    # Password, then the code on its own page.
    _login(page, live_url, username)
    page.wait_for_url(f"{live_url}/login/second-factor?*")
    page.fill("input[name=code]", "000000")
    page.click("button.primary")
    assert "动态口令或恢复码不正确" in page.locator(".alert").inner_text()
    page.fill("input[name=code]", fresh_code(database, username, secret))
    page.click("button.primary")
    page.wait_for_url(f"{live_url}/account")
    assert page.locator(".usermenu").inner_text().startswith("浏览器双因素")
    _logout(page)

    # A recovery code in place of the phone: used once, and the account page says how many are left.
    _login(page, live_url, username)
    page.wait_for_url(f"{live_url}/login/second-factor?*")
    page.fill("input[name=code]", codes[0])
    page.click("button.primary")
    page.wait_for_url(f"{live_url}/account/second-factor?notice=recovery_code_used")
    assert "该恢复码已作废" in page.content() and "9 个" in page.content()
    _logout(page)
    _login(page, live_url, username)
    page.fill("input[name=code]", codes[0])
    page.click("button.primary")
    assert "动态口令或恢复码不正确" in page.locator(".alert").inner_text()
    assert errors == []
    page.close()


@pytest.mark.browser
def test_an_administrator_without_a_factor_is_held_at_enrolment(runtime, client, live_url, browser):
    username = unique("brwadm")
    created = run_cli(
        runtime, "user", "create", "--username", username, "--password", PASSWORD, "--role", "security_admin",
        "--department", "DSJ",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    page = browser.new_page(locale="zh-CN")
    _login(page, live_url, username, target="/admin/roles")
    page.wait_for_url(f"{live_url}/account/second-factor")
    assert "请先绑定身份验证器" in page.locator(".alert").inner_text()
    page.goto(f"{live_url}/admin/roles")
    page.wait_for_url(f"{live_url}/account/second-factor")
    page.goto(f"{live_url}/admin/users")
    page.wait_for_url(f"{live_url}/account/second-factor")
    page.close()
