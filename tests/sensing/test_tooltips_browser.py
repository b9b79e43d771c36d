"""Map tooltips in a real browser: names from devices and from the public must show as text. Covers the
device map of /sensing and the event map of /cityops/figures (both the one city map, static/geo/map.js)."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.sensing.conftest import new_thing

HOSTILE = "<img src=x onerror=alert(1)>"

# Shows the hover tooltip of the feature `key` of layer `layer` on the map inside `selector`.
SHOW_TIP = """([selector, layer, key]) => document.querySelector(selector + ' .ywmap').ywTip(layer, String(key))"""


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


def tooltip_of(page, selector: str, layer: str, key: object) -> dict:
    page.wait_for_selector(f"{selector} .ywmap[data-ready='1']", timeout=30000)
    tip = page.evaluate(SHOW_TIP, [selector, layer, key])
    assert tip, "the point or its tooltip was not found"
    page.wait_for_timeout(300)  # an injected image would have been requested by now
    tip["images"] = page.locator(f"{selector} .ywmap-popup img").count()
    return tip


@pytest.mark.browser
def test_a_hostile_device_name_shows_literally_in_the_map_tooltip(app, live_url, browser):
    with TestClient(app, base_url="http://testserver") as client:
        headers = bearer(client, "hbj_steward")
        thing_id = new_thing(client, headers)["thing_id"]
        renamed = client.patch(f"/sta/v1.1/Things({thing_id})", json={"name": HOSTILE}, headers=headers)
        assert renamed.status_code == 200, renamed.text
    page, seen = open_page_as_leader(browser, live_url, "/sensing")
    tip = tooltip_of(page, "#device-map", "things", thing_id)
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
    tip = tooltip_of(page, "#event-map", "events", number)
    assert tip["text"] == f"{number} {HOSTILE}", tip
    assert tip["images"] == 0, tip
    assert seen == {"errors": [], "dialogs": [], "probes": []}
    page.close()
