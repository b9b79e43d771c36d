"""In Chromium: a steward registers a watched-folder source through the form, runs it, and reads its
run history; the pages render without script errors."""

import time

import pytest

from tests.catalog.helpers import person_csv, publish_entry


@pytest.mark.browser
def test_a_steward_sets_up_and_runs_a_source_in_a_real_browser(client, runtime, live_url, browser, tmp_path):
    code = publish_entry(client)["code"]
    folder = runtime.settings.data_dir / "collect_inbox" / "browser" / code
    folder.mkdir(parents=True)
    (folder / "人口.csv").write_bytes(person_csv([("B1", "浏览器", "", "13812345678", "", "梅李镇", "5")]).encode())
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_url}/login")
    page.fill("input[name=username]", "hbj_steward")
    page.fill("input[name=password]", "changshu2026")
    page.click("button[type=submit]")
    page.goto(f"{live_url}/collect/new")
    page.fill("input[name=code]", f"WEB-{code}")
    page.fill("input[name=name]", "浏览器文件夹源")
    page.select_option("select[name=entry_code]", code)
    page.select_option("select[name=kind]", "folder")
    page.fill("input[name=location]", f"browser/{code}")
    page.screenshot(path=str(tmp_path / "collect-form.png"), full_page=True)
    page.click("text=保存")
    page.wait_for_url(f"**/collect/sources/WEB-{code}?notice=created")
    page.click("text=立即运行")
    deadline = time.monotonic() + 30
    while "第 1 版" not in page.content() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    content = page.content()
    assert "第 1 版" in content and "成功" in content and "监视文件夹" in content
    page.screenshot(path=str(tmp_path / "collect-source.png"), full_page=True)
    page.goto(f"{live_url}/collect")
    assert f"WEB-{code}" in page.content()
    assert errors == []
    page.close()
