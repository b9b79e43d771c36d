"""A citizen registers in a real browser (Debian's Chromium) on a desktop and on a phone-sized screen:
from the login page's 注册 link, a texted code read from the outbox, to logging in with the new account."""

import re

import pytest

from tests.org.signup import PASSWORD, code_for, new_id_number, new_phone
from tests.second_factor import fresh_code
from yiwang.core.masking import mask_phone


@pytest.fixture
def generous_limits(runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "code_hourly_per_address", 100_000)


def _code_as_the_system_administrator(browser, live_url: str, phone: str) -> str:
    """The system administrator logs in and reads the code on the outbox page."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_url}/login?next=/admin/messages")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "changshu2026")
    page.click("button.primary")
    page.wait_for_url(f"{live_url}/login/second-factor?*")  # administrators log in with two factors; next= rides along
    page.fill("input[name=code]", fresh_code(live_url, "admin"))
    page.click("button.primary")
    page.wait_for_url(f"{live_url}/admin/messages")
    assert "本地发件箱" in page.locator(".alert").inner_text()
    row = page.locator("tr", has_text=mask_phone(phone)).first
    code = re.search(r"验证码(\d{6})", row.inner_text()).group(1)
    context.close()
    return code


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1440, 900), (375, 812)])
def test_a_citizen_registers_and_logs_in(
    live_url, browser, client, admin_headers, tmp_path, generous_limits, width, height
):
    page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Chromium reports a pattern attribute it cannot compile on the console, then ignores it.
    page.on("console", lambda message: errors.append(message.text) if "pattern" in message.text.lower() else None)
    phone, username = new_phone(), f"web-{new_phone()[-8:]}"

    page.goto(f"{live_url}/login")
    page.click("a[href='/register']")
    page.click("a[href='/register/citizen']")
    page.fill("input[name=display_name]", "钱思远")
    # The browser checks the patterns before anything is sent (an invalid pattern would be ignored).
    id_number = page.locator("input[name=id_number]")
    id_number.fill("32058119900101123")
    assert id_number.evaluate("e => e.validity.patternMismatch")
    id_number.fill(new_id_number())
    assert id_number.evaluate("e => e.validity.valid")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=username]", username)
    assert page.locator("input[name=username]").evaluate("e => e.validity.valid")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('获取验证码')")
    page.wait_for_selector(".notice")
    assert mask_phone(phone) in page.locator(".notice").inner_text()
    assert page.locator("input[name=display_name]").input_value() == "钱思远"  # kept
    assert page.locator("input[name=password]").input_value() == ""  # a password is typed again

    if width >= 1000:
        code = _code_as_the_system_administrator(browser, live_url, phone)
    else:
        code = code_for(client, admin_headers, phone)
    page.fill("input[name=code]", code)
    page.fill("input[name=password]", PASSWORD)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the form is wider than the screen by {overflow}px"
    page.screenshot(path=str(tmp_path / f"register-{width}.png"), full_page=True)
    page.click("button.primary")
    page.wait_for_url(f"{live_url}/register/sent")
    assert page.locator("h1").inner_text() == "请查收短信"
    page.screenshot(path=str(tmp_path / f"sent-{width}.png"), full_page=True)

    page.click("main a[href='/login']")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{live_url}/")
    assert page.locator(".usermenu").inner_text().startswith("钱思远")
    page.goto(f"{live_url}/account")
    page.screenshot(path=str(tmp_path / f"account-{width}.png"), full_page=True)
    assert errors == []
    page.close()
