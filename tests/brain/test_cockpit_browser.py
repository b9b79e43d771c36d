"""The cockpit in a real browser (Debian's Chromium via Playwright): charts drawn, no errors,
nothing fetched from outside the server, refreshes without reload; screenshots saved."""

import os
import shutil
from pathlib import Path

import pytest

# Counts the non-transparent pixels of every canvas (ECharts draws each chart on one canvas).
CANVAS_INK = """() => Array.from(document.querySelectorAll('canvas')).map((c) => {
  const ctx = c.getContext('2d');
  const data = ctx.getImageData(0, 0, c.width, c.height).data;
  let ink = 0;
  for (let i = 3; i < data.length; i += 4 * 7) if (data[i] > 0) ink++;
  return {id: c.closest('.ck-chart') ? c.closest('.ck-chart').id : '', w: c.width, h: c.height, ink};
})"""


def _login(page, base: str) -> None:
    page.goto(f"{base}/brain/cockpit")
    assert page.url.startswith(f"{base}/login")
    page.fill("input[name=username]", "leader")
    page.fill("input[name=password]", "changshu2026")
    page.click("button.primary")
    page.wait_for_url(f"{base}/brain/cockpit")


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1366, 768)])
def test_cockpit_draws_its_charts(live_url, browser, tmp_path, width, height):
    page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
    page.clock.install()  # the page's timers run in real time, and the test may move them on
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None,
    )
    _login(page, live_url)
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    page.wait_for_timeout(1500)  # let the chart animations finish
    canvases = page.evaluate(CANVAS_INK)
    drawn = {c["id"]: c for c in canvases if c["id"]}
    assert {"ck-gauges", "ck-map", "ck-trend", "ck-rank", "ck-events"} <= drawn.keys()
    for chart_id, canvas in drawn.items():
        assert canvas["w"] > 50 and canvas["h"] > 50, canvas
        assert canvas["ink"] > 200, f"{chart_id} looks blank: {canvas}"
    assert page.locator("#ck-cells .ck-cell").count() == 20
    # the town areas come from the one map's boundaries, marked schematic until real ones are imported
    assert page.locator("#ck-map-note").inner_text() == "镇（街道）边界为示意"
    assert page.locator("#ck-ticker li").count() >= 1
    assert page.locator("#ck-kpis .ck-kpi").count() == 8
    shot = tmp_path / f"cockpit-{width}x{height}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 50_000
    keep = os.environ.get("BRAIN_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    hosts = page.evaluate("performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
    assert set(hosts) <= {live_url.removeprefix("http://")}
    # It refreshes by itself: the warning ticker reloads through fetch, the page is not reloaded.
    page.evaluate("window.__still_here = 1")
    with page.expect_response(lambda r: "/api/brain/warnings" in r.url, timeout=30_000):
        page.clock.fast_forward(20_000)  # the ticker's turn, without waiting the 20 s out
    assert page.evaluate("window.__still_here") == 1
    assert errors == []
    page.close()


@pytest.mark.browser
def test_leaders_overview_on_a_phone(live_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_url}/login?next=/brain")
    page.fill("input[name=username]", "leader")
    page.fill("input[name=password]", "changshu2026")
    page.click("button.primary")
    page.wait_for_url(f"{live_url}/brain")
    assert page.get_by_role("heading", name="城市智脑总览").is_visible()
    # A selector wait, not wait_for_function: the page's CSP forbids the eval that the latter needs.
    page.wait_for_selector("[data-chart=trends] canvas", state="attached", timeout=15_000)
    page.screenshot(path=str(tmp_path / "overview-phone.png"), full_page=True)
    assert errors == []
    page.close()
