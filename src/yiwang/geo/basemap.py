"""The operator's basemap file (YIWANG_BASEMAP): PMTiles or MBTiles, raster or vector, served as XYZ tiles."""

import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pmtiles.reader import MmapSource
from pmtiles.reader import Reader as PMTilesReader

_TILE_TYPES = {1: "pbf", 2: "png", 3: "jpg", 4: "webp", 5: "avif"}
MEDIA = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
    "pbf": "application/vnd.mapbox-vector-tile",
}


@dataclass(frozen=True)
class BasemapInfo:
    """What the map page needs: tile format, zoom range, bounds and whether tiles are gzip-compressed."""

    kind: str  # pmtiles | mbtiles
    format: str  # png | jpg | webp | pbf
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None
    gzip: bool
    name: str


class Basemap:
    """One open basemap file; thread-safe tile reads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path.suffix.lower() == ".pmtiles":
            self._file = path.open("rb")
            self._pm = PMTilesReader(MmapSource(self._file))
            header = self._pm.header()
            self.info = BasemapInfo(
                kind="pmtiles",
                format=_TILE_TYPES.get(
                    int(header["tile_type"].value if hasattr(header["tile_type"], "value") else header["tile_type"]),
                    "png",
                ),
                min_zoom=int(header["min_zoom"]),
                max_zoom=int(header["max_zoom"]),
                bounds=(
                    header["min_lon_e7"] / 1e7,
                    header["min_lat_e7"] / 1e7,
                    header["max_lon_e7"] / 1e7,
                    header["max_lat_e7"] / 1e7,
                ),
                gzip=int(getattr(header["tile_compression"], "value", header["tile_compression"])) == 2,
                name=path.name,
            )
            self._db: sqlite3.Connection | None = None
        elif path.suffix.lower() == ".mbtiles":
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            meta = dict(self._db.execute("select name, value from metadata").fetchall())
            zooms = self._db.execute("select min(zoom_level), max(zoom_level) from tiles").fetchone()
            bounds = tuple(float(v) for v in meta["bounds"].split(",")) if meta.get("bounds") else None
            fmt = meta.get("format", "png")
            self.info = BasemapInfo(
                kind="mbtiles",
                format=fmt,
                min_zoom=int(zooms[0] or 0),
                max_zoom=int(zooms[1] or 0),
                bounds=(bounds[0], bounds[1], bounds[2], bounds[3]) if bounds and len(bounds) == 4 else None,
                gzip=fmt == "pbf",
                name=meta.get("name", path.name),
            )
        else:
            raise ValueError(f"basemap must be .pmtiles or .mbtiles: {path}")

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at z/x/y (XYZ, y from the top), or None."""
        with self._lock:
            if self._db is not None:
                row = self._db.execute(
                    "select tile_data from tiles where zoom_level=? and tile_column=? and tile_row=?",
                    (z, x, (1 << z) - 1 - y),
                ).fetchone()
                return bytes(row[0]) if row else None
            data = self._pm.get(z, x, y)
            return bytes(data) if data else None


@lru_cache(maxsize=4)
def open_basemap(path: Path) -> Basemap:
    return Basemap(path)
