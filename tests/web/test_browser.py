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
