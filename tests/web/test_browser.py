"""A real browser: Debian's Chromium, driven by Playwright, logs in and sees the home page."""

import pytest


@pytest.mark.browser
def test_staff_member_logs_in_and_sees_the_home_page(live_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_url}/workbench")
    assert page.url.startswith(f"{live_url}/login")  # sent to log in first
    page.fill("input[name=username]", "cgj_handler")
    page.fill("input[name=password]", "changshu2026")
    page.click("button.primary")
    page.wait_for_url(f"{live_url}/workbench")
    assert page.locator("h1").inner_text() == "工作台"
    page.goto(f"{live_url}/")
    assert page.locator(".usermenu").inner_text().startswith("赵经办")
    for area in ("一网通办", "一网统管", "一网通用", "城市智脑"):
        assert page.get_by_role("heading", name=area).is_visible()
    shot = tmp_path / "home.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # Every asset the page loaded came from the platform itself.
    hosts = page.evaluate("performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
    assert set(hosts) <= {live_url.removeprefix("http://")}
    assert errors == []
    page.close()


@pytest.mark.browser
def test_wrong_password_shows_a_readable_message(live_url, browser):
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{live_url}/login")
    page.fill("input[name=username]", "no_such_user")
    page.fill("input[name=password]", "wrong-password1")
    page.click("button.primary")
    assert "用户名或密码错误" in page.locator(".alert").inner_text()
    page.close()


@pytest.mark.browser
def test_a_refused_form_shows_the_message_beside_its_field_and_keeps_the_input(live_url, browser):
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{live_url}/login")
    page.fill("input[name=username]", "ldz_dispatcher")
    page.fill("input[name=password]", "changshu2026")
    page.click("button.primary")
    page.goto(f"{live_url}/cityops/rules")
    page.select_option("select[name=division_code]", index=1)
    page.select_option("select[name=category_code]", "SJ03")
    page.select_option("select[name=department_code]", "CGJ")
    page.fill("input[name=sla_hours]", "两天")
    page.click('button:has-text("添加规则")')
    page.wait_for_selector(".field-error")
    hours = page.locator("input[name=sla_hours]")
    assert hours.input_value() == "两天" and hours.get_attribute("aria-invalid") == "true"
    message = page.locator(f"#{hours.get_attribute('aria-describedby')}")
    assert message.inner_text() == "时限须为 1 到 720 之间的整数小时，或留空按类别默认"
    assert page.locator("select[name=category_code]").input_value() == "SJ03"
    assert "时限（小时）" in page.locator(".alert").inner_text()
    page.close()
