"""Department scope of SensorThings writes, decided on the entity an id resolves to.

Things belong to a department, and so does everything that hangs from a Thing (its Datastreams, their
Observations, its HistoricalLocations). Sensors, ObservedProperties, Locations and FeaturesOfInterest
are shared: any department may use them, but one may change or delete a shared entity only when no
department outside its scope uses it, because deleting a Sensor deletes the Datastreams (and their
Observations) built on it.

The checks live here, on rows, so that every way of naming an entity (an integer or a numeric string
`@iot.id`, an `@iot.selfLink`, a `$ref` path, a nested deep insert, a PATCH, a dataArray block) meets
the same rule.
"""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core.errors import Conflict, PermissionDenied, ValidationFailed
from yiwang.core.security import Principal, check_department_scope
from yiwang.sensing import models as m

OWNED = frozenset({"Things", "Datastreams", "Observations", "HistoricalLocations"})
SHARED_NAMES = {
    "Sensors": "传感器",
    "ObservedProperties": "观测属性",
    "Locations": "位置",
    "FeaturesOfInterest": "观测对象",
}


class InUseByOtherDepartments(Conflict):
    code = "in_use_by_other_departments"


def entity_id(value: Any, *, what: str = "@iot.id") -> int:
    """An entity key as sent: an integer or a string of digits (`5` and `"5"` name the same entity)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():  # ascii: int() refuses "²"
        return int(value)
    raise ValidationFailed(f"{what} 必须是整数")


def key_as_sent(value: Any) -> Any:
    """A datastream key of a dataArray block: a string of digits as its integer, anything else unchanged
    (an unusable key is refused row by row as an unknown datastream)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


def thing_department(db: Session, set_name: str, row: Any) -> int | None:
    """The department of the Thing an owned entity hangs from."""
    if set_name == "Observations":
        row = db.get(m.Datastream, row.datastream_id)
        set_name = "Datastreams"
    if set_name in ("Datastreams", "HistoricalLocations"):
        row = db.get(m.Thing, row.thing_id) if row is not None else None
    return row.department_id if row is not None else None


def check_owned(db: Session, principal: Principal, set_name: str, row: Any) -> None:
    """403 when `row` hangs from a Thing of a department outside the caller's scope (shared rows pass)."""
    if set_name in OWNED:
        check_department_scope(principal, thing_department(db, set_name, row))


def using_departments(db: Session, set_name: str, row: Any) -> set[int | None]:
    """The departments whose Things use a shared entity (a Thing without a department counts as None)."""
    thing, ds = m.Thing, m.Datastream
    if set_name == "Sensors":
        stmt = select(thing.department_id).join(ds, ds.thing_id == thing.id).where(ds.sensor_id == row.id)
    elif set_name == "ObservedProperties":
        stmt = select(thing.department_id).join(ds, ds.thing_id == thing.id).where(ds.observed_property_id == row.id)
    elif set_name == "FeaturesOfInterest":
        stmt = (
            select(thing.department_id)
            .join(ds, ds.thing_id == thing.id)
            .where(ds.id.in_(select(m.Observation.datastream_id).where(m.Observation.feature_of_interest_id == row.id)))
        )
    elif set_name == "Locations":
        current = select(m.ThingLocation.thing_id).where(m.ThingLocation.location_id == row.id)
        past = (
            select(m.HistoricalLocation.thing_id)
            .join(
                m.HistoricalLocationLocation,
                m.HistoricalLocationLocation.historical_location_id == m.HistoricalLocation.id,
            )
            .where(m.HistoricalLocationLocation.location_id == row.id)
        )
        stmt = select(thing.department_id).where(thing.id.in_(current.union(past)))
    else:
        return set()
    return set(db.execute(stmt.distinct()).scalars())


def check_shared_change(db: Session, principal: Principal, set_name: str, row: Any, *, deleting: bool) -> None:
    """A shared entity used by a department outside the caller's scope may be neither changed (403) nor
    deleted (409: deleting it would delete that department's datastreams, links or observations)."""
    if set_name not in SHARED_NAMES:
        return
    others = sorted(
        (d for d in using_departments(db, set_name, row) if not principal.can_reach_department(d)),
        key=lambda d: -1 if d is None else d,
    )
    if not others:
        return
    label = f"{SHARED_NAMES[set_name]}（{row.id}）"
    if deleting:
        raise InUseByOtherDepartments(
            f"{label}正被其他部门的设备使用，不能删除；请先由这些部门解除使用",
            details={"departments": others},
        )
    raise PermissionDenied(f"{label}正被其他部门的设备使用，不能修改", code="department_scope")
