"""Tables of the map: areas (town and community boundaries, grid cells) and buildings, with a version counter."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class Area(Base):
    """A polygon of the city: a town or community boundary (行政区划边界) or a grid cell (网格)."""

    __tablename__ = "geo_area"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # town | community | grid
    code: Mapped[str] = mapped_column(String(20), unique=True)  # the division code, or the grid cell code
    name: Mapped[str] = mapped_column(String(100))
    division_code: Mapped[str | None] = mapped_column(String(20), index=True)  # a grid cell's community or town
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON Polygon or MultiPolygon, CGCS2000 / WGS 84 lon, lat
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    schematic: Mapped[bool] = mapped_column(Boolean, default=False)  # drawn for the demo, not surveyed
    staff: Mapped[list[Any] | None] = mapped_column(JSON)  # grid cells: usernames of the grid staff (网格员)
    source: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Building(Base):
    """A building footprint with its height: the CIM's first layer."""

    __tablename__ = "geo_building"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    height: Mapped[float] = mapped_column(Float)  # metres above ground
    floors: Mapped[int | None] = mapped_column(Integer)
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON Polygon or MultiPolygon footprint
    lon: Mapped[float] = mapped_column(Float)  # a point inside the footprint
    lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float, index=True)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    division_code: Mapped[str | None] = mapped_column(String(20), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(20), index=True)
    source: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Version(Base):
    """One row: raised by every change of areas or buildings, so each process knows when to rebuild its index."""

    __tablename__ = "geo_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
