"""Resource paths: `Things(1)/Datastreams`, `Observations(5)/Datastream/Thing`, `Things(1)/name/$value`."""

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from yiwang.core.errors import NotFound
from yiwang.sensing.sta.entities import ENTITY_TYPES, EntityType, Nav


@dataclass
class Segment:
    name: str
    key: int | None = None


_SEGMENT = re.compile(r"^([A-Za-z]+)(?:\((\d+|'\d+')\))?$")


def parse_path(path: str) -> list[Segment]:
    segments = []
    for raw in [p for p in path.split("/") if p]:
        if raw in ("$value", "$ref"):
            segments.append(Segment(raw))
            continue
        match = _SEGMENT.match(raw)
        if not match:
            raise NotFound(f"无效的资源路径：{raw}")
        key = match.group(2)
        segments.append(Segment(match.group(1), int(key.strip("'")) if key else None))
    return segments


@dataclass
class Resolved:
    """Where a path leads: a collection (with a base condition), one entity, or a property of one."""

    entity: EntityType
    condition: Any = None
    instance: Any = None
    is_collection: bool = True
    prop: str | None = None
    raw_value: bool = False
    ref: bool = False
    parent: tuple[EntityType, Any, str] | None = None  # (parent type, parent instance, nav name)


def resolve(db: Session, path: str) -> Resolved:
    """Walk a resource path from the service root."""
    segments = parse_path(path)
    if not segments or segments[0].name not in ENTITY_TYPES:
        raise NotFound("未知的实体集")
    entity = ENTITY_TYPES[segments[0].name]
    current = Resolved(entity=entity, condition=true())
    if segments[0].key is not None:
        current = _one(db, entity, segments[0].key)
    for seg in segments[1:]:
        if current.ref:
            raise NotFound("$ref 之后不能再有路径")
        if seg.name == "$value":
            if current.prop is None:
                raise NotFound("$value 只能用于属性")
            current.raw_value = True
            continue
        if seg.name == "$ref":
            if current.prop is not None or current.raw_value:
                raise NotFound("$ref 只能用于实体或实体集合")
            current.ref = True
            continue
        if current.is_collection:
            raise NotFound("集合之后只能跟实体的键")
        parent = current.instance
        if seg.name in current.entity.props and seg.key is None:
            current.prop = seg.name
            continue
        nav = current.entity.navs.get(seg.name)
        if nav is None:
            raise NotFound(f"{current.entity.singular} 没有导航属性 {seg.name}")
        target = ENTITY_TYPES[nav.target]
        if nav.many:
            condition = _nav_condition(current.entity, parent, nav, target)
            if seg.key is not None:
                found = db.execute(select(target.model).where(condition, target.model.id == seg.key)).scalar()
                if found is None:
                    raise NotFound(f"{target.singular}({seg.key}) 不存在")
                current = Resolved(entity=target, instance=found, is_collection=False)
            else:
                current = Resolved(entity=target, condition=condition, parent=(current.entity, parent, seg.name))
        else:
            key = getattr(parent, nav.fk)  # type: ignore[arg-type]
            if key is None:
                raise NotFound(f"{seg.name} 不存在")
            current = _one(db, target, key)
    return current


def _one(db: Session, entity: EntityType, key: int) -> Resolved:
    found = db.get(entity.model, key)
    if found is None:
        raise NotFound(f"{entity.singular}({key}) 不存在")
    return Resolved(entity=entity, instance=found, is_collection=False)


def _nav_condition(source: EntityType, instance: Any, nav: Nav, target: EntityType) -> Any:
    if nav.assoc:
        assoc, local, remote = nav.assoc
        ids = select(getattr(assoc, remote)).where(getattr(assoc, local) == instance.id)
        return target.model.id.in_(ids)
    assert nav.remote_fk
    return getattr(target.model, nav.remote_fk) == instance.id


def nav_condition_many(nav: Nav, target: EntityType, parent_ids: list[int]) -> tuple[Any, Any]:
    """Condition and the parent-id column for expanding a to-many navigation over several parents."""
    if nav.assoc:
        assoc, local, _remote = nav.assoc
        return getattr(assoc, local).in_(parent_ids), getattr(assoc, local)
    assert nav.remote_fk
    column = getattr(target.model, nav.remote_fk)
    return column.in_(parent_ids), column
