"""Writing: create (with deep inserts), update and delete, within the caller's department scope."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yiwang.core.errors import Conflict, ValidationFailed
from yiwang.core.security import Principal, check_department_scope
from yiwang.core.timeutil import utcnow
from yiwang.sensing import features, processing
from yiwang.sensing import models as m
from yiwang.sensing.odata import (
    QueryError,
    parse_datetime,
)
from yiwang.sensing.sta import scope
from yiwang.sensing.sta.entities import ENTITY_TYPES, JSON_PROPS, TIME_PROPS, EntityType
from yiwang.sensing.sta.paths import Resolved


class Writer:
    """Creates, updates and deletes entities, including deep insert and links by @iot.id.

    Every entity a write reaches, however it was named, is authorised for `principal` on its row
    (`scope`): what hangs from another department's Thing is out of reach, and shared entities
    used by other departments are neither changed nor deleted.
    """

    def __init__(self, db: Session, *, principal: Principal) -> None:
        self.db = db
        self.principal = principal
        self.created: list[tuple[str, int]] = []

    def create(self, set_name: str, body: Any, *, link: dict[str, int] | None = None) -> Any:
        if not isinstance(body, dict):
            raise ValidationFailed("请求体必须是 JSON 对象")
        entity = ENTITY_TYPES[set_name]
        if "@iot.id" in body:  # a link to an existing entity (other properties are ignored, as FROST does)
            found = self.db.get(entity.model, scope.entity_id(body["@iot.id"]))
            if found is None:
                raise ValidationFailed(f"{entity.singular}({body['@iot.id']}) 不存在")
            self.authorise(entity, found)  # linking to an owned entity writes to it
            return found
        return getattr(self, f"_create_{entity.singular}")(entity, body, link or {})

    def authorise(self, entity: EntityType, row: Any) -> None:
        """403 unless the row is in the caller's department scope (shared rows pass)."""
        scope.check_owned(self.db, self.principal, entity.set_name, row)

    def _authorise_thing(self, thing_id: int) -> None:
        thing = self.db.get(m.Thing, thing_id)
        if thing is None:
            raise ValidationFailed(f"Thing({thing_id}) 不存在")
        check_department_scope(self.principal, thing.department_id)

    def _authorise_datastream(self, datastream_id: int) -> None:
        stream = self.db.get(m.Datastream, datastream_id)
        if stream is not None:  # an unknown datastream is refused (and kept) by ingest
            self.authorise(ENTITY_TYPES["Datastreams"], stream)

    def _named_department(self, props: dict[str, Any]) -> int | None:
        """The department `properties.departmentId` names (None: none named); only one in the caller's scope."""
        if props.get("departmentId") is None:
            return None
        department_id = scope.entity_id(props["departmentId"], what="properties.departmentId")
        check_department_scope(self.principal, department_id)
        return department_id

    def _fields(self, entity: EntityType, body: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
        allowed = set(entity.props) | set(entity.navs) | {"@iot.id"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ValidationFailed(
                f"{entity.singular} 没有这些属性：{', '.join(unknown)}", details={"unknown": unknown}
            )
        missing = [r for r in required if body.get(r) in (None, "")]
        if missing:
            raise ValidationFailed(
                f"{entity.singular} 缺少必填属性：{', '.join(missing)}", details={"missing": missing}
            )
        values: dict[str, Any] = {}
        for name, attr in entity.props.items():
            if name in body and name not in TIME_PROPS:
                value = body[name]
                if name in JSON_PROPS and value is not None and not isinstance(value, dict):
                    raise ValidationFailed(f"{name} 必须是 JSON 对象")
                if name not in JSON_PROPS and name != "result" and value is not None and not isinstance(value, str):
                    raise ValidationFailed(f"{name} 必须是字符串")
                values[attr] = value
        return values

    def _add(self, entity: EntityType, obj: Any) -> Any:
        self.db.add(obj)
        self.db.flush()
        self.created.append((entity.set_name, obj.id))
        return obj

    def _create_Thing(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> m.Thing:
        values = self._fields(entity, body, ("name",))
        props = values.get("properties") or {}
        named = self._named_department(props)
        thing = m.Thing(
            **{"description": "", **values},
            department_id=named if named is not None else self.principal.department_id,
            division_code=props.get("divisionCode") if isinstance(props.get("divisionCode"), str) else None,
            kind=props.get("kind") if isinstance(props.get("kind"), str) else "device",
        )
        self._add(entity, thing)
        for loc in _list(body, "Locations"):
            location = self.create("Locations", loc)
            self.db.add(m.ThingLocation(thing_id=thing.id, location_id=location.id))
            self._historical(thing, location)
        for ds in _list(body, "Datastreams"):
            self.create("Datastreams", ds, link={"thing_id": thing.id})
        return thing

    def _historical(self, thing: m.Thing, location: m.Location) -> None:
        hl = m.HistoricalLocation(thing_id=thing.id, time=utcnow())
        self.db.add(hl)
        self.db.flush()
        self.db.add(m.HistoricalLocationLocation(historical_location_id=hl.id, location_id=location.id))
        coords = (location.location or {}).get("coordinates")
        if isinstance(coords, list) and len(coords) >= 2 and all(isinstance(c, int | float) for c in coords[:2]):
            thing.lon, thing.lat = float(coords[0]), float(coords[1])

    def _create_Location(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> m.Location:
        values = self._fields(entity, body, ("name", "encodingType", "location"))
        location = self._add(entity, m.Location(**values))
        for th in _list(body, "Things"):
            thing = self.create("Things", th)
            self.db.add(m.ThingLocation(thing_id=thing.id, location_id=location.id))
            self._historical(thing, location)
        if "thing_id" in link:
            self._authorise_thing(link["thing_id"])
            thing = self.db.get(m.Thing, link["thing_id"])
            self.db.add(m.ThingLocation(thing_id=link["thing_id"], location_id=location.id))
            self._historical(thing, location)  # type: ignore[arg-type]
        return location

    def _create_HistoricalLocation(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> Any:
        self._fields(entity, body, ("time",))
        thing_id = link.get("thing_id") or self._linked_id(body, "Thing", "Things")
        self._authorise_thing(thing_id)
        hl = self._add(entity, m.HistoricalLocation(thing_id=thing_id, time=_time(body["time"])))
        for loc in _list(body, "Locations"):
            location = self.create("Locations", loc)
            self.db.add(m.HistoricalLocationLocation(historical_location_id=hl.id, location_id=location.id))
        return hl

    def _create_Sensor(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> m.Sensor:
        values = self._fields(entity, body, ("name", "encodingType", "metadata"))
        sensor = self._add(entity, m.Sensor(**values))
        for ds in _list(body, "Datastreams"):
            self.create("Datastreams", ds, link={"sensor_id": sensor.id})
        return sensor

    def _create_ObservedProperty(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> Any:
        values = self._fields(entity, body, ("name", "definition"))
        op = self._add(entity, m.ObservedProperty(**values))
        for ds in _list(body, "Datastreams"):
            self.create("Datastreams", ds, link={"observed_property_id": op.id})
        return op

    def _create_Datastream(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> m.Datastream:
        values = self._fields(entity, body, ("name", "observationType", "unitOfMeasurement"))
        thing_id = link.get("thing_id") or self._linked_id(body, "Thing", "Things")
        sensor_id = link.get("sensor_id") or self._linked_id(body, "Sensor", "Sensors")
        op_id = link.get("observed_property_id") or self._linked_id(body, "ObservedProperty", "ObservedProperties")
        self._authorise_thing(thing_id)
        props = values.get("properties") or {}
        ds = m.Datastream(
            **values,
            thing_id=thing_id,
            sensor_id=sensor_id,
            observed_property_id=op_id,
            min_valid=props.get("minValid") if isinstance(props.get("minValid"), int | float) else None,
            max_valid=props.get("maxValid") if isinstance(props.get("maxValid"), int | float) else None,
        )
        self._add(entity, ds)
        for obs in _list(body, "Observations"):
            self.create("Observations", obs, link={"datastream_id": ds.id})
        return ds

    def _create_FeatureOfInterest(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> Any:
        values = self._fields(entity, body, ("name", "encodingType", "feature"))
        return self._add(entity, m.FeatureOfInterest(**values))

    def _create_Observation(self, entity: EntityType, body: dict[str, Any], link: dict[str, int]) -> m.Observation:
        self._fields(entity, body, ("result",))
        ds_id = link.get("datastream_id") or self._linked_id(body, "Datastream", "Datastreams")
        self._authorise_datastream(ds_id)
        foi_id = None
        if isinstance(body.get("FeatureOfInterest"), dict):
            foi_id = self.create("FeaturesOfInterest", body["FeatureOfInterest"]).id
        from yiwang.sensing import ingest

        phenomenon = _time(body.get("phenomenonTime")) if body.get("phenomenonTime") else utcnow()
        result_time = _time(body["resultTime"]) if body.get("resultTime") else None
        outcome = ingest.store(
            self.db,
            rows=[
                ingest.Incoming(
                    ds_id,
                    phenomenon,
                    body["result"],
                    result_time,
                    body.get("resultQuality"),
                    body.get("parameters"),
                    foi_id,
                )
            ],
            channel="http",
        )
        if outcome.rejected:
            raise ValidationFailed(
                f"观测被拒绝：{outcome.reasons[0]}", details={"reasons": outcome.reasons}, commit=True
            )
        obs = self.db.execute(
            select(m.Observation).where(
                m.Observation.datastream_id == ds_id, m.Observation.phenomenon_time == phenomenon
            )
        ).scalar_one()
        self.created.append((entity.set_name, obs.id))
        return obs

    def _linked_id(self, body: dict[str, Any], nav: str, set_name: str) -> int:
        if nav not in body or body[nav] is None:
            raise ValidationFailed(f"缺少关联实体 {nav}")
        return self.create(set_name, body[nav]).id

    def update(self, resolved: Resolved, body: Any) -> Any:
        if not isinstance(body, dict):
            raise ValidationFailed("请求体必须是 JSON 对象")
        entity, row = resolved.entity, resolved.instance
        self.authorise(entity, row)
        scope.check_shared_change(self.db, self.principal, entity.set_name, row, deleting=False)
        if entity.set_name == "Observations":
            self._refuse_moving_observation(row, body)
            corrected_at = row.phenomenon_time
        values = self._fields(entity, {k: v for k, v in body.items() if k not in entity.navs}, ())
        if entity.set_name == "Things" and isinstance(values.get("properties"), dict):
            # properties.departmentId moves the Thing, within the caller's scope only (as on create)
            named = self._named_department(values["properties"])
            row.department_id = named if named is not None else row.department_id
        changed = {attr for attr, value in values.items() if getattr(row, attr) != value}
        for attr, value in values.items():
            setattr(row, attr, value)
        if entity.set_name == "Locations" and changed & features.FROM_LOCATION:
            row.feature_of_interest_id = None  # later observations get a FeatureOfInterest of the new place
        if entity.set_name == "Observations":
            if "result" in body:
                value = body["result"]
                row.result, row.result_json = (float(value), None) if _is_number(value) else (None, value)
            if "phenomenonTime" in body:
                row.phenomenon_time = _time(body["phenomenonTime"])
        if entity.set_name == "HistoricalLocations" and "time" in body:
            row.time = _time(body["time"])
        for nav_name, nav in entity.navs.items():
            if nav_name in body and not nav.many and isinstance(body[nav_name], dict):
                target = self.create(nav.target, body[nav_name])
                setattr(row, nav.fk, target.id)  # type: ignore[arg-type]
        if entity.set_name == "Things":
            for loc in _list(body, "Locations"):
                location = self.create("Locations", loc)
                self.db.execute(delete(m.ThingLocation).where(m.ThingLocation.thing_id == row.id))
                self.db.add(m.ThingLocation(thing_id=row.id, location_id=location.id))
                self._historical(row, location)
        self.db.flush()
        if entity.set_name == "Observations":  # a corrected value or time: its hours and days again
            ds, now_at = row.datastream_id, row.phenomenon_time
            processing.recompute(self.db, [(ds, corrected_at, corrected_at), (ds, now_at, now_at)])
        return row

    @staticmethod
    def _refuse_moving_observation(row: m.Observation, body: dict[str, Any]) -> None:
        """An observation is keyed by (datastream, phenomenon time) and counted in its datastream's
        rollups and its device's health; like the `$ref` path, an update does not move it."""
        link = body.get("Datastream")
        if link is None:
            return
        target = link.get("@iot.id") if isinstance(link, dict) else None
        if target is None or str(target) != str(row.datastream_id):
            raise Conflict("观测不能改挂到其他数据流")

    def delete(self, resolved: Resolved) -> None:
        entity, row = resolved.entity, resolved.instance
        self.authorise(entity, row)
        scope.check_shared_change(self.db, self.principal, entity.set_name, row, deleting=True)
        if entity.set_name in ("Sensors", "ObservedProperties"):
            column = m.Datastream.sensor_id if entity.set_name == "Sensors" else m.Datastream.observed_property_id
            ids = list(self.db.execute(select(m.Datastream.id).where(column == row.id)).scalars())
            self._delete_datastreams(ids)
        if entity.set_name == "Things":
            ids = list(self.db.execute(select(m.Datastream.id).where(m.Datastream.thing_id == row.id)).scalars())
            self._delete_datastreams(ids)
        if entity.set_name == "Datastreams":
            self._delete_datastreams([row.id])
            return
        if entity.set_name == "FeaturesOfInterest":  # an Observation cannot be without its FeatureOfInterest
            self.db.execute(delete(m.Observation).where(m.Observation.feature_of_interest_id == row.id))
            features.forget(self.db, feature_id=row.id)
        self.db.delete(row)
        self.db.flush()
        if entity.set_name == "Observations":  # its hour and day no longer count it
            processing.recompute(self.db, [(row.datastream_id, row.phenomenon_time, row.phenomenon_time)])
        if entity.set_name in ("Observations", "FeaturesOfInterest"):
            processing.observations_deleted(self.db)

    def _delete_datastreams(self, ids: list[int]) -> None:
        if not ids:
            return
        for model in (m.Observation, m.Rollup):
            self.db.execute(delete(model).where(model.datastream_id.in_(ids)))
        self.db.execute(delete(m.Datastream).where(m.Datastream.id.in_(ids)))
        self.db.flush()
        processing.observations_deleted(self.db)


def _list(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed(f"{name} 必须是数组")
    return value


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValidationFailed("时间必须是 ISO 8601 字符串")
    start = value.split("/")[0]
    try:
        return parse_datetime(start)
    except QueryError as exc:
        raise ValidationFailed(str(exc)) from exc


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
