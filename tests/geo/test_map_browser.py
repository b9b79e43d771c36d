"""The one map in Chromium: the county outline, layers with a legend, a basemap from an operator's MBTiles file
served with its tiles, and HTTP Range on the file itself."""

import io
import sqlite3

import pytest
from PIL import Image

from tests.cityops.conftest import bearer

PASSWORD = "changshu2026"


def _mbtiles(path) -> None:
    """A one-tile raster MBTiles (zoom 0, a solid colour) as an operator's offline basemap would be."""
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 230, 201)).save(buf, format="PNG")
    db = sqlite3.connect(path)
    db.execute("create table metadata (name text, value text)")
    db.execute("create table tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
    db.executemany(
        "insert into metadata values (?, ?)", [("name", "测试底图"), ("format", "png"), ("bounds", "-180,-85,180,85")]
    )
    db.execute("insert into tiles values (0, 0, 0, ?)", (buf.getvalue(),))
    db.commit()
    db.close()


@pytest.fixture
def basemap(app, tmp_path, monkeypatch):
    path = tmp_path / "base.mbtiles"
    _mbtiles(path)
    monkeypatch.setattr(app.state.settings, "basemap", path)
    return path


def test_basemap_tiles_and_range(client, basemap):
    headers = bearer(client, "ldz_dispatcher")
    info = client.get("/geo/basemap.json", headers=headers).json()
    assert info["present"] and info["kind"] == "mbtiles" and info["format"] == "png"
    tile = client.get("/geo/tiles/0/0/0", headers=headers)
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"
    assert client.get("/geo/tiles/1/0/0", headers=headers).status_code == 204
    assert client.get("/geo/tiles/0/1/0", headers=headers).status_code == 404
    part = client.get("/geo/basemap", headers=headers | {"Range": "bytes=0-15"})
    assert part.status_code == 206 and part.content == b"SQLite format 3\x00"
    assert client.get("/geo/basemap").status_code == 401


def _pmtiles(path) -> None:
    """A one-tile raster PMTiles v3 archive written with the pmtiles library."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (187, 222, 251)).save(buf, format="PNG")
    with path.open("wb") as f:
        writer = Writer(f)
        writer.write_tile(zxy_to_tileid(0, 0, 0), buf.getvalue())
        writer.finalize(
            {
                "tile_type": TileType.PNG,
                "tile_compression": Compression.NONE,
                "min_zoom": 0,
                "max_zoom": 0,
                "min_lon_e7": -1800000000,
                "min_lat_e7": -850000000,
                "max_lon_e7": 1800000000,
                "max_lat_e7": 850000000,
                "center_zoom": 0,
                "center_lon_e7": 0,
                "center_lat_e7": 0,
            },
            {"name": "测试底图"},
        )


def test_pmtiles_basemap(client, app, tmp_path, monkeypatch):
    path = tmp_path / "base.pmtiles"
    _pmtiles(path)
    monkeypatch.setattr(app.state.settings, "basemap", path)
    headers = bearer(client, "ldz_dispatcher")
    info = client.get("/geo/basemap.json", headers=headers).json()
    assert info["kind"] == "pmtiles" and info["format"] == "png" and info["max_zoom"] == 0
    tile = client.get("/geo/tiles/0/0/0", headers=headers)
    assert tile.status_code == 200 and tile.content[:8] == b"\x89PNG\r\n\x1a\n"
    part = client.get("/geo/basemap", headers=headers | {"Range": "bytes=0-6"})
    assert part.status_code == 206 and part.content == b"PMTiles"


def _non_white(png: bytes) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for px in image.getdata() if px != (255, 255, 255) and px != (248, 250, 252))


@pytest.mark.browser
def test_map_renders_outline_layers_legend_and_basemap(live_url, browser, basemap, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_url}/login")
    page.fill("input[name=username]", "ldz_dispatcher")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.goto(f"{live_url}/map")
    page.wait_for_selector(".ywmap[data-ready='1']", timeout=30000)
    page.wait_for_timeout(1500)
    legend = page.locator(".ywmap-legend").inner_text()
    for name in ("常熟市界", "行政区划", "网格", "建筑", "城市事件"):
        assert name in legend
    assert int(page.locator(".ywmap").get_attribute("data-features")) > 10
    assert page.locator(".ywmap").get_attribute("data-basemap") == "mbtiles"
    assert "示意" in page.locator("main").inner_text()
    shot = page.locator(".ywmap").screenshot(path=str(tmp_path / "map.png"))
    assert _non_white(shot) > 20_000  # basemap, outline, areas and points drawn
    # every script, style and tile came from the platform itself
    hosts = page.evaluate("performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
    assert set(hosts) <= {live_url.removeprefix("http://")}
    assert errors == []
    page.close()


@pytest.mark.browser
def test_map_without_features_says_no_data(live_url, browser, tmp_path):
    """Layers with nothing in view: the outline stays and the map says 暂无数据."""
    page = browser.new_page(viewport={"width": 1000, "height": 800}, locale="zh-CN")
    page.goto(f"{live_url}/login")
    page.fill("input[name=username]", "ldz_dispatcher")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.goto(f"{live_url}/map")
    page.wait_for_selector(".ywmap[data-ready='1']", timeout=30000)
    page.evaluate(
        """() => {
          const fig = document.querySelector('.ywmap-frame').cloneNode(true);
          const el = fig.querySelector('.ywmap');
          el.innerHTML = ''; delete el.dataset.ready; el.id = 'empty-map';
          el.dataset.bbox = '121.10,31.83,121.11,31.84';
          fig.querySelector('.ywmap-legend').innerHTML = '';
          document.querySelector('main').appendChild(fig);
          window.ywMap.init(el);
        }"""
    )
    page.wait_for_selector("#empty-map[data-ready='1']", timeout=30000)
    assert page.locator("#empty-map .ywmap-empty").inner_text() == "暂无数据"
    assert page.locator("#empty-map").get_attribute("data-features") == "0"
    page.close()
