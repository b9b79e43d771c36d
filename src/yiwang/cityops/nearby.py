"""What other domains keep near an event's place (附近的摄像头 …): they register a finder at start-up, so
cityops shows their items on the event page without importing them (they import cityops)."""

from collections.abc import Callable

from sqlalchemy.orm import Session

from yiwang.cityops.schemas import NearbyItem
from yiwang.core.security import Principal

NearbyFinder = Callable[[Session, Principal, float, float], list[NearbyItem]]
NEARBY_RADIUS_M = 1000.0

_finders: dict[str, NearbyFinder] = {}


def register_nearby(key: str, finder: NearbyFinder) -> None:
    """Register (or replace) a finder of items near a point: (db, caller, lon, lat) -> items."""
    _finders[key] = finder


def nearby(db: Session, *, actor: Principal, lon: float | None, lat: float | None) -> list[NearbyItem]:
    """Every registered finder's items near the point, nearest first; none for an event without a place."""
    if lon is None or lat is None:
        return []
    found = [item for finder in _finders.values() for item in finder(db, actor, lon, lat)]
    return sorted(found, key=lambda item: item.distance_m)
