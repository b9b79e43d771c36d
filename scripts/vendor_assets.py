"""Copy the front-end assets installed by `npm ci` into the package, so the app serves them itself."""

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
}


def main() -> int:
    VENDOR.mkdir(parents=True, exist_ok=True)
    missing = [src for src in ASSETS if not (ROOT / "node_modules" / src).is_file()]
    if missing:
        print(f"missing in node_modules (run `npm ci` first): {', '.join(missing)}", file=sys.stderr)
        return 1
    for src, dest in ASSETS.items():
        shutil.copyfile(ROOT / "node_modules" / src, VENDOR / dest)
    print(f"vendored {len(ASSETS)} assets into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
