"""The citizens' front door in a real browser (Debian's Chromium via Playwright), as a person would
click it: find a bundle from the home page search with a typo, start it; on a phone, report a city
problem; 长辈模式 persists across pages. Screenshots of the home page (desktop and phone) are kept
when FRONT_DOOR_SCREENSHOT_DIR is set (docs/images/ holds the README's)."""

import os
import shutil
from pathlib import Path

import pytest


def _login(page, base: str, username: str = "zhangsan") -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "changshu2026")
    page.click("button.primary")
    page.wait_for_url(f"{base}/")


def _keep(shot: Path) -> None:
    keep = os.environ.get("FRONT_DOOR_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)


@pytest.mark.browser
def test_a_citizen_finds_a_bundle_from_the_home_page_and_starts_it(live_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    _login(page, live_url)
    assert page.get_by_role("heading", name="我的办件").is_visible()
    assert page.locator("header nav").get_by_text("系统管理").count() == 0
    shot = tmp_path / "citizen-home-desktop.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)
    page.get_by_label("找服务").fill("新生儿出声")  # a typo: 声 for 生
    page.keyboard.press("Enter")
    page.wait_for_url("**/onestop/find?q=*")
    page.get_by_role("link", name="新生儿出生").first.click()
    page.wait_for_url("**/onestop/bundles/XSECS")
    start = page.get_by_role("link", name="一次办理")
    assert start.is_visible()
    start.click()
    page.wait_for_url("**/onestop/apply?bundle=XSECS")
    assert page.get_by_role("button", name="提交申请").is_visible()
    assert errors == []
    page.close()


@pytest.mark.browser
def test_a_citizen_reports_a_problem_on_a_phone(live_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True, has_touch=True)
    _login(page, live_url, "lisi")
    shot = tmp_path / "citizen-home-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.locator("header nav").get_by_role("link", name="反映问题").click()
    page.wait_for_url("**/cityops/report")
    page.get_by_label("问题描述").fill("小区门口路灯不亮已有三天，晚上行人看不清路。")
    page.get_by_label("详细地址").fill("虞山街道书院街 12 号")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/cityops/mine?notice=created")
    assert page.get_by_text("小区门口路灯不亮").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.close()


@pytest.mark.browser
def test_elder_mode_is_kept_across_pages(live_url, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_url}/onestop")
    size = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.get_by_role("button", name="长辈模式").click()
    assert page.get_by_role("button", name="标准模式").get_attribute("aria-pressed") == "true"
    page.goto(f"{live_url}/onestop/find?q=出生")
    assert page.evaluate("document.documentElement.classList.contains('care')")
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") > size
    # Keyboard: the first Tab reaches the link past the header.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到正文"
    context.close()
