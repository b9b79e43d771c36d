"""Chart tooltips in a real browser: ECharts renders tooltips as HTML, so names from devices and from the
public must show as text. Covers the device map of /sensing and the event map of /cityops/figures."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.sensing.conftest import new_thing

HOSTILE = "<img src=x onerror=alert(1)>"

# Shows the tooltip of the point whose data[3] (its id) is `key`; returns the tooltip's text and markup.
SHOW_TIP = """([selector, series, key]) => {
  const chart = echarts.getInstanceByDom(document.querySelector(selector));
  const data = chart.getOption().series[series].data;
  const index = data.findIndex((d) => String(d[3]) === String(key));
  if (index < 0) return null;
  chart.dispatchAction({type: 'showTip', seriesIndex: series, dataIndex: index});
  const tips = Array.from(document.querySelectorAll(selector + ' > div'))
    .filter((d) => d.style.zIndex === '9999999' && d.style.display !== 'none');
  return tips.map((d) => ({text: d.textContent, html: d.innerHTML, images: d.querySelectorAll('img').length}));
}"""


def open_page_as_leader(browser, base: str, path: str):
    """A page logged in as the demo leader, recording script errors, dialogs and requests for `x`."""
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    seen: dict[str, list[str]] = {"errors": [], "dialogs": [], "probes": []}
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))
    page.on("request", lambda r: seen["probes"].append(r.url) if r.url.rstrip("/").endswith("/x") else None)
    page.on("console", lambda m: seen["errors"].append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{base}/login?next={path}")
    page.fill("input[name=username]", "leader")
    page.fill("input[name=password]", "changshu2026")
    page.click("button.primary")
    page.wait_for_url(f"{base}{path}")
    return page, seen


def tooltip_of(page, selector: str, series: int, key: object) -> dict:
    page.wait_for_selector(f"{selector} canvas")
    tips = page.evaluate(SHOW_TIP, [selector, series, key])
    assert tips, "the point or its tooltip was not found"
    page.wait_for_timeout(300)  # an injected image would have been requested by now
    return tips[0]


@pytest.mark.browser
def test_a_hostile_device_name_shows_literally_in_the_map_tooltip(app, live_url, browser):
    with TestClient(app, base_url="http://testserver") as client:
        headers = bearer(client, "hbj_steward")
        thing_id = new_thing(client, headers)["thing_id"]
        renamed = client.patch(f"/sta/v1.1/Things({thing_id})", json={"name": HOSTILE}, headers=headers)
        assert renamed.status_code == 200, renamed.text
    page, seen = open_page_as_leader(browser, live_url, "/sensing")
    tip = tooltip_of(page, "#device-map", 0, thing_id)
    assert tip["text"] == HOSTILE, tip
    assert tip["images"] == 0, tip
    assert seen == {"errors": [], "dialogs": [], "probes": []}
    page.close()


@pytest.mark.browser
def test_a_hostile_event_title_shows_literally_in_the_figures_map_tooltip(app, live_url, browser):
    with TestClient(app, base_url="http://testserver") as client:
        report = {"title": HOSTILE, "description": "路灯不亮，影响夜间出行", "lon": 120.74, "lat": 31.65}
        created = client.post("/api/cityops/events", json=report, headers=bearer(client, "zhangsan"))
        assert created.status_code == 201, created.text
        number = created.json()["number"]
    page, seen = open_page_as_leader(browser, live_url, "/cityops/figures")
    tip = tooltip_of(page, "#event-map", 1, number)
    assert tip["text"] == f"{number} {HOSTILE}", tip
    assert tip["images"] == 0, tip
    assert seen == {"errors": [], "dialogs": [], "probes": []}
    page.close()
