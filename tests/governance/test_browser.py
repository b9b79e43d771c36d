"""In Chromium: a steward uploads a GBK file, the progress page polls (htmx) until the job is done, and
the open data page draws its ECharts chart."""

import pytest

from tests.catalog.helpers import VALID_ID, person_csv, publish_entry


@pytest.mark.browser
def test_upload_progress_and_chart_in_a_real_browser(client, live_url, browser, tmp_path):
    code = publish_entry(client)["code"]
    rows = [(f"P{n}", "张三", VALID_ID, "13812345678", f"2024-01-{n:02d}", "梅李镇", str(n)) for n in range(1, 29)]
    rows.append(("P99", "坏行", "123", "1", "2024-13-01", "火星", "500"))
    upload = tmp_path / "人口.csv"
    upload.write_bytes(person_csv(rows).encode("gbk"))
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_url}/login")
    page.fill("input[name=username]", "hbj_steward")
    page.fill("input[name=password]", "changshu2026")
    page.click("button[type=submit]")
    page.goto(f"{live_url}/governance/{code}")
    page.set_input_files("input[name=file]", str(upload))
    page.click("text=上传并治理")
    page.wait_for_selector("[data-status=succeeded]", timeout=20000)
    assert "入库 28 行，隔离 1 行" in page.content()
    page.goto(f"{live_url}/governance/{code}")
    assert "GBK" in page.content() and "下载隔离数据" in page.content()
    page.goto(f"{live_url}/opendata/datasets/HBJ-00001")
    page.wait_for_selector("#chart canvas", timeout=10000)
    assert errors == []
    page.close()
