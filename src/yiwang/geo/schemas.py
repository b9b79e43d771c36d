"""Shapes the map gives other domains and its API: located places, areas, buildings, OGC features."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from yiwang.core.security import Principal

BBox = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat (CRS84)


class Location(BaseModel):
    """Where a point falls: its grid cell, community and town (each None outside every known polygon)."""

    grid_code: str | None = None
    community_code: str | None = None
    town_code: str | None = None
    building_code: str | None = None

    @property
    def division_code(self) -> str | None:
        """The finest division: the grid cell's division, else the community, else the town."""
        return self.community_code or self.town_code


class AreaRead(BaseModel):
    code: str
    kind: str
    name: str
    division_code: str | None
    schematic: bool
    staff: list[str]
    geometry: dict[str, Any]


class BuildingRead(BaseModel):
    code: str
    name: str
    height: float
    floors: int | None
    lon: float
    lat: float
    division_code: str | None
    grid_code: str | None
    geometry: dict[str, Any]


class ImportResult(BaseModel):
    kind: str
    created: int
    updated: int
    skipped: list[str]  # "feature N: reason"


@dataclass(frozen=True)
class FeatureQuery:
    """One OGC items request, as a provider receives it."""

    bbox: BBox | None = None
    start: datetime | None = None  # inclusive; None is open
    end: datetime | None = None
    limit: int = 10
    offset: int = 0


@dataclass(frozen=True)
class Feature:
    id: str
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


@dataclass(frozen=True)
class FeaturePage:
    features: list[Feature]
    matched: int


@dataclass(frozen=True)
class FeatureCollection:
    """A layer served under /ogc/collections/{id}: who may read it and the function that reads it."""

    id: str
    title: str
    description: str
    permissions: tuple[str, ...]  # the caller needs any one of these
    items: Callable[["Session", "Principal", FeatureQuery], FeaturePage]
    one: Callable[["Session", "Principal", str], Feature | None]
    temporal: bool = False
    legend: dict[str, str] = field(default_factory=dict)  # style hints for the map: colour, kind
