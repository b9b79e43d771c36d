"""Association links of the SensorThings API: writes on `$ref` paths.

SensorThings 1.1 builds on OData 4.0 (Protocol 11.4.6, "Modifying Relationships between Entities"):
- `POST Things(1)/Locations/$ref` with an entity reference adds a link (already linked is a success);
- `PUT` (or `PATCH`) `Datastreams(1)/Sensor/$ref` replaces the entity a to-one navigation points at;
- `DELETE Things(1)/Locations(5)/$ref` (OData 4.01) or `Things(1)/Locations/$ref?$id=../../Locations(5)`
  (OData 4.0) removes a many-to-many link.
Each answers 204 No Content. An entity reference is `{"@iot.id": 5}` or `{"@iot.selfLink": ".../Locations(5)"}`
(absolute, or relative to the request URL). Every to-one relation of the SensorThings model is required
(a Datastream has a Thing, a Sensor and an ObservedProperty; an Observation a Datastream and a
FeatureOfInterest; a HistoricalLocation a Thing), so removing one is refused with 405.
"""

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yiwang.core.db import changed_rows
from yiwang.core.errors import AppError, Conflict, NotFound, ValidationFailed
from yiwang.sensing import models as m
from yiwang.sensing.sta import scope
from yiwang.sensing.sta.entities import ENTITY_TYPES, EntityType, Nav
from yiwang.sensing.sta.paths import parse_path, resolve
from yiwang.sensing.sta.writer import Writer

_ENTITY_URL = re.compile(r"^([A-Za-z]+)\((\d+|'\d+')\)$")


class BadReference(AppError):
    status_code = 400
    code = "bad_reference"
    message = "实体引用无效"


class LinkNotAllowed(AppError):
    status_code = 405
    code = "method_not_allowed"


@dataclass(frozen=True)
class Link:
    """The navigation property a `$ref` path addresses: `source_row`'s `nav_name`, optionally one member."""

    source: EntityType
    source_row: Any
    nav_name: str
    nav: Nav
    member_key: int | None  # `Things(1)/Locations(5)/$ref` names the member in the path

    @property
    def target(self) -> EntityType:
        return ENTITY_TYPES[self.nav.target]


def is_ref_path(path: str) -> bool:
    return path.rstrip("/").endswith("/$ref")


def resolve_link(db: Session, path: str) -> Link:
    """Walk `.../Entity(key)/Nav[(key)]/$ref` to the entity holding the navigation property."""
    parts = [p for p in path.split("/") if p]
    if len(parts) < 3 or parts[-1] != "$ref":
        raise NotFound("$ref 须跟在实体的导航属性之后，如 Things(1)/Locations/$ref")
    source = resolve(db, "/".join(parts[:-2]))
    if source.is_collection or source.prop or source.ref or source.raw_value:
        raise NotFound("$ref 须跟在单个实体的导航属性之后")
    (segment,) = parse_path(parts[-2])
    nav = source.entity.navs.get(segment.name)
    if nav is None:
        raise NotFound(f"{source.entity.singular} 没有导航属性 {segment.name}")
    if segment.key is not None and not nav.many:
        raise NotFound(f"{segment.name} 是单个实体，不能带键")
    return Link(source.entity, source.instance, segment.name, nav, segment.key)


def referenced_key(body: Any, target: EntityType, *, request_url: str, service_path: str) -> int:
    """The key of the entity a reference body names; it must be of the navigation's entity type."""
    if not isinstance(body, dict) or not body:
        raise BadReference('请求体须是实体引用，如 {"@iot.id": 5} 或 {"@iot.selfLink": "…/Locations(5)"}')
    unknown = sorted(set(body) - {"@iot.id", "@iot.selfLink"})
    if unknown:
        message = f"实体引用只能包含 @iot.id 或 @iot.selfLink：{', '.join(unknown)}"
        raise BadReference(message, details={"unknown": unknown})
    keys = set()
    if "@iot.id" in body:
        keys.add(_key(body["@iot.id"]))
    if "@iot.selfLink" in body:
        keys.add(key_from_url(body["@iot.selfLink"], target, request_url=request_url, service_path=service_path))
    if len(keys) != 1:
        raise BadReference("@iot.id 与 @iot.selfLink 指向不同的实体")
    return keys.pop()


def key_from_url(url: Any, target: EntityType, *, request_url: str, service_path: str) -> int:
    """`http://host/sta/v1.1/Locations(5)`, `/sta/v1.1/Locations(5)` or `../../Locations(5)` → 5."""
    if not isinstance(url, str) or not url.strip():
        raise BadReference("实体链接必须是字符串")
    path = unquote(urlsplit(urljoin(request_url, url.strip())).path)
    prefix = service_path.rstrip("/") + "/"
    match = _ENTITY_URL.match(path[len(prefix) :]) if path.startswith(prefix) else None
    if match is None:
        raise BadReference(f"实体链接须指向本服务的单个实体，如 {prefix}{target.set_name}(5)：{url}")
    if match.group(1) != target.set_name:
        raise BadReference(f"此处须引用 {target.singular}，而不是 {match.group(1)}")
    return int(match.group(2).strip("'"))


def _key(value: Any) -> int:
    try:
        return scope.entity_id(value)
    except ValidationFailed as exc:
        raise BadReference("@iot.id 必须是正整数") from exc


class LinkWriter(Writer):
    """Adds, replaces and removes links between existing entities."""

    def authorise_ends(self, link: Link, target: Any) -> None:
        """Both ends of a link must be in the caller's department scope when they belong to a department."""
        self.authorise(link.source, link.source_row)
        self.authorise(link.target, target)

    def target_row(self, link: Link, key: int) -> Any:
        row = self.db.get(link.target.model, key)
        if row is None:
            raise NotFound(f"{link.target.singular}({key}) 不存在")
        return row

    def add(self, link: Link, target: Any) -> bool:
        """Link `target` into a to-many navigation; False when it was linked already."""
        nav, source = link.nav, link.source_row
        if nav.assoc:
            assoc, local, remote = nav.assoc
            values = {local: source.id, remote: target.id}
            exists = self.db.execute(
                select(assoc).where(*(getattr(assoc, col) == value for col, value in values.items()))
            ).first()
            if exists:
                return False
            self.db.add(assoc(**values))
            thing, location = self._thing_and_location(link.source, source, target)
            if thing is not None:
                self._historical(thing, location)  # a Thing with a new Location gets a HistoricalLocation
            self.db.flush()
            return True
        assert nav.remote_fk
        return self._point(target, link.target, nav.remote_fk, source)

    def replace(self, link: Link, target: Any) -> bool:
        """Point a to-one navigation at `target`; False when it pointed there already."""
        assert link.nav.fk
        return self._point(link.source_row, link.source, link.nav.fk, target)

    def remove(self, link: Link, target: Any) -> None:
        """Remove a many-to-many link; to-one relations are required and cannot be removed."""
        nav, source = link.nav, link.source_row
        if not nav.assoc:
            # the "many" side of a one-to-many link holds the required to-one relation
            owner, required = (link.target, link.source) if nav.many else (link.source, link.target)
            raise LinkNotAllowed(
                f"{owner.singular} 必须关联一个 {required.singular}，不能删除此引用"
                f"；请改为引用另一个 {required.singular}"
            )
        assoc, local, remote = nav.assoc
        removed = changed_rows(
            self.db, delete(assoc).where(getattr(assoc, local) == source.id, getattr(assoc, remote) == target.id)
        )
        if not removed:
            raise NotFound(f"{link.source.singular}({source.id}) 与 {link.target.singular}({target.id}) 之间没有关联")
        thing, _location = self._thing_and_location(link.source, source, target)
        if thing is not None:
            self._refresh_position(thing)
        self.db.flush()

    def _point(self, row: Any, entity: EntityType, fk: str, target: Any) -> bool:
        if getattr(row, fk) == target.id:
            return False
        if entity.set_name == "Observations" and fk == "datastream_id":
            # An observation is keyed by (datastream, phenomenon time) and already counted in its
            # datastream's rollups and its device's health; it does not move to another datastream.
            raise Conflict("观测不能改挂到其他数据流")
        setattr(row, fk, target.id)
        self.db.flush()
        return True

    @staticmethod
    def _thing_and_location(entity: EntityType, source: Any, target: Any) -> tuple[Any, Any]:
        if entity.set_name == "Things" and isinstance(target, m.Location):
            return source, target
        if entity.set_name == "Locations" and isinstance(target, m.Thing):
            return target, source
        return None, None

    def _refresh_position(self, thing: m.Thing) -> None:
        """The Thing's map position follows its most recently recorded remaining Location, if any."""
        remaining = select(m.ThingLocation.location_id).where(m.ThingLocation.thing_id == thing.id)
        latest = self.db.execute(
            select(m.Location)
            .join(m.HistoricalLocationLocation, m.HistoricalLocationLocation.location_id == m.Location.id)
            .join(m.HistoricalLocation, m.HistoricalLocation.id == m.HistoricalLocationLocation.historical_location_id)
            .where(m.HistoricalLocation.thing_id == thing.id, m.Location.id.in_(remaining))
            .order_by(m.HistoricalLocation.time.desc(), m.HistoricalLocation.id.desc())
            .limit(1)
        ).scalar()
        if latest is None:
            latest = self.db.execute(
                select(m.Location).where(m.Location.id.in_(remaining)).order_by(m.Location.id.desc()).limit(1)
            ).scalar()
        coords = ((latest.location or {}) if latest is not None else {}).get("coordinates")
        if isinstance(coords, list) and len(coords) >= 2 and all(isinstance(c, int | float) for c in coords[:2]):
            thing.lon, thing.lat = float(coords[0]), float(coords[1])
        else:
            thing.lon = thing.lat = None
