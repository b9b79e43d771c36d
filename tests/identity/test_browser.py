"""The single sign-on journey in a real browser (Debian's Chromium through Playwright).

A citizen opens a department's application (the example relying party on its own port), is sent to
yiwang, logs in, consents and lands back signed in; a second application then signs them in without
typing; they withdraw a consent on their account page; they log out and the application hears of it
by back-channel. Screenshots of the consent page at 1440 px and 375 px go to
$YIWANG_SCREENSHOT_DIR (or the test's temporary folder)."""

import os
from pathlib import Path

import pytest

from tests.identity.conftest import wait_for
from yiwang.demo.loader import DEMO_PASSWORD


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("YIWANG_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.browser
def test_single_sign_on_journey(relying_party, live_url, browser, tmp_path):
    first = relying_party(name="公积金查询", scope="openid profile phone")
    second = relying_party(name="不动产登记查询")
    shots = _shots(tmp_path)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{first.base_url}/")
    page.click("#login")
    page.wait_for_url(f"{live_url}/login*")
    assert page.locator("h1").inner_text() == "统一身份认证登录"
    page.fill("input[name=username]", "zhangsan")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{live_url}/oidc/authorize*")
    assert "公积金查询" in page.locator("h1").inner_text()
    assert "完整手机号码" in page.locator(".scopes").inner_text()
    page.screenshot(path=str(shots / "consent-1440.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(shots / "consent-375.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the consent page scrolls sideways on a phone ({width}px)"
    page.set_viewport_size({"width": 1440, "height": 900})
    page.click("button[value=allow]")
    page.wait_for_url(f"{first.base_url}/")
    assert page.locator("h1").inner_text() == "已登录：张三"

    # the second application: no login form, no typing
    page.goto(f"{second.base_url}/")
    page.click("#login")
    page.wait_for_url(f"{live_url}/oidc/authorize*")
    page.click("button[value=allow]")  # a new application asks for consent once
    page.wait_for_url(f"{second.base_url}/")
    assert page.locator("h1").inner_text() == "已登录：张三"
    assert page.locator("#sub").inner_text() != next(v for v in first.sessions.values() if "user" in v)["user"]["sub"]

    # the account page lists both, and the consent to the first is withdrawn there
    page.goto(f"{live_url}/account/apps")
    assert page.get_by_role("cell", name="公积金查询").first.is_visible()
    page.screenshot(path=str(shots / "account-apps-1440.png"), full_page=True)
    row = page.locator("tr", has_text="公积金查询").filter(has=page.locator("button", has_text="撤回授权"))
    row.locator("button", has_text="撤回授权").click()
    page.wait_for_url(f"{live_url}/account/apps*")
    assert page.locator("tr", has_text="撤回授权").filter(has_text="公积金查询").count() == 0

    # logging out of yiwang logs both applications out by back-channel
    page.goto(f"{second.base_url}/")
    page.click("#logout")
    page.wait_for_url(f"{second.base_url}/")
    assert page.locator("#login").is_visible()
    assert wait_for(lambda: len(second.logouts) == 1 and len(first.logouts) == 1)
    page.goto(f"{first.base_url}/")
    assert page.locator("#login").is_visible()  # the first application ended its session on the logout token
    assert errors == []
    context.close()
