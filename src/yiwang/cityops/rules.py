"""Where an event goes: event categories, division-level dispatch rules, routing and classification."""

import csv
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yiwang.cityops import classifier
from yiwang.cityops import models as m
from yiwang.cityops.schemas import (
    ClassifyResult,
    DispatchRuleCreate,
    DispatchRuleRead,
    DispatchRuleUpdate,
    SuggestionRead,
)
from yiwang.core import audit
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.security import Principal
from yiwang.geo import service as geo_service
from yiwang.org import service as org_service


def ensure_categories(db: Session) -> int:
    """Load event_categories.csv into the category table (idempotent)."""
    existing = set(db.execute(select(m.Category.code)).scalars())
    added = 0
    with (classifier.DATA / "event_categories.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["code"] not in existing:
                db.add(
                    m.Category(
                        code=row["code"],
                        group=row["group"],
                        name=row["name"],
                        department_code=row["default_department"],
                        sla_hours=int(row["sla_hours"]),
                        severity=row["severity"],
                    )
                )
                added += 1
    db.flush()
    return added


def list_categories(db: Session) -> list[m.Category]:
    if not db.execute(select(func.count()).select_from(m.Category)).scalar_one():
        ensure_categories(db)
    return list(db.execute(select(m.Category).order_by(m.Category.code)).scalars())


@dataclass(frozen=True)
class CategoryInfo:
    code: str
    name: str
    department_code: str
    sla_hours: int


_categories: dict[str, CategoryInfo] = {}  # reference data from event_categories.csv: cached per process


def category_info(db: Session, code: str) -> CategoryInfo:
    if code in _categories:
        return _categories[code]
    found = db.get(m.Category, code)
    if found is None:
        ensure_categories(db)
        found = db.get(m.Category, code)
    if found is None:
        raise ValidationFailed(f"事件类别 {code} 不存在")
    info = CategoryInfo(found.code, found.name, found.department_code, found.sla_hours)
    _categories[code] = info
    return info


def _problem(field: str, message: str, kind: str = "not_found") -> dict[str, Any]:
    """One entry of a validation error's details, in the shape request validation uses."""
    return {"loc": ["body", field], "msg": message, "type": kind}


def _reference_problems(
    db: Session,
    *,
    category_code: str | None = None,
    department_code: str | None = None,
    division_code: str | None = None,
) -> list[dict[str, Any]]:
    """What a dispatch rule names that does not exist (or may not receive events)."""
    problems = []
    if category_code is not None:
        try:
            category_info(db, category_code)
        except ValidationFailed as exc:
            problems.append(_problem("category_code", exc.message))
    if department_code is not None:
        try:
            department = org_service.get_department_by_code(db, code=department_code)
        except NotFound:
            problems.append(_problem("department_code", f"部门 {department_code} 不存在"))
        else:
            if not department.active:
                problems.append(_problem("department_code", f"部门 {department.short_name} 已停用", "inactive"))
    if division_code is not None and not geo_service.area_exists(db, code=division_code, kind="grid"):
        try:
            org_service.get_division_by_code(db, code=division_code)
        except NotFound:
            problems.append(_problem("division_code", f"行政区划或网格 {division_code} 不存在"))
    return problems


def _require_references(db: Session, **codes: str | None) -> None:
    problems = _reference_problems(db, **codes)
    if problems:
        raise ValidationFailed("；".join(p["msg"] for p in problems), details=problems)


def _rule_fields(rule: m.DispatchRule) -> dict[str, Any]:
    return {
        "division_code": rule.division_code,
        "category_code": rule.category_code,
        "department_code": rule.department_code,
        "sla_hours": rule.sla_hours,
    }


def place_name(db: Session, code: str) -> str:
    """A division's or grid cell's name for messages."""
    grid = geo_service.get_area(db, code=code)
    if grid is not None:
        return grid.name
    try:
        return org_service.get_division_by_code(db, code=code).name
    except NotFound:
        return code


def _duplicate_rule(db: Session, division_code: str, category_code: str, existing_id: int | None) -> Conflict:
    place = place_name(db, division_code)
    return Conflict(
        f"{place}已有“{category_info(db, category_code).name}”的分拨规则，请修改或删除该规则",
        code="dispatch_rule_exists",
        details={"division_code": division_code, "category_code": category_code, "id": existing_id},
    )


def _find_rule(db: Session, *, division_code: str, category_code: str) -> m.DispatchRule | None:
    return db.execute(
        select(m.DispatchRule).where(
            m.DispatchRule.division_code == division_code, m.DispatchRule.category_code == category_code
        )
    ).scalar_one_or_none()


def add_dispatch_rule(db: Session, *, actor: Principal, data: DispatchRuleCreate) -> m.DispatchRule:
    """A division-level override of the category's default department (and deadline); one per division+category."""
    _require_references(
        db, category_code=data.category_code, department_code=data.department_code, division_code=data.division_code
    )
    existing = _find_rule(db, division_code=data.division_code, category_code=data.category_code)
    if existing is not None:
        raise _duplicate_rule(db, data.division_code, data.category_code, existing.id)
    rule = m.DispatchRule(**data.model_dump())
    try:
        with db.begin_nested():  # another writer may have added the same rule since the check above
            db.add(rule)
            db.flush()
    except IntegrityError as exc:
        raise _duplicate_rule(db, data.division_code, data.category_code, None) from exc
    audit.record(
        db,
        actor=actor,
        action="cityops.dispatch_rule.create",
        target_type="dispatch_rule",
        target_id=rule.id,
        details=_rule_fields(rule),
    )
    return rule


def get_dispatch_rule(db: Session, *, rule_id: int) -> m.DispatchRule:
    rule = db.get(m.DispatchRule, rule_id)
    if rule is None:
        raise NotFound("分拨规则不存在")
    return rule


def update_dispatch_rule(db: Session, *, actor: Principal, rule_id: int, data: DispatchRuleUpdate) -> m.DispatchRule:
    """Change a rule's department or deadline; an explicit null deadline falls back to the category's."""
    rule = get_dispatch_rule(db, rule_id=rule_id)
    changes = data.model_dump(exclude_unset=True)
    if "department_code" in changes:
        if changes["department_code"] is None:
            message = "分拨规则须指定责任部门"
            raise ValidationFailed(message, details=[_problem("department_code", message, "missing")])
        _require_references(db, department_code=changes["department_code"])
    before = _rule_fields(rule)
    for field, value in changes.items():
        setattr(rule, field, value)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="cityops.dispatch_rule.update",
        target_type="dispatch_rule",
        target_id=rule.id,
        details={"before": before, "after": _rule_fields(rule)},
    )
    return rule


def delete_dispatch_rule(db: Session, *, actor: Principal, rule_id: int) -> None:
    """Remove a rule: events in its division go by the next matching rule or the category again."""
    rule = get_dispatch_rule(db, rule_id=rule_id)
    removed = _rule_fields(rule)
    db.delete(rule)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="cityops.dispatch_rule.delete",
        target_type="dispatch_rule",
        target_id=rule_id,
        details=removed,
    )


def list_dispatch_rules(
    db: Session, *, division_code: str | None = None, category_code: str | None = None
) -> list[DispatchRuleRead]:
    """Rules, optionally of one division (exact code) or one category, with names and effective deadlines."""
    stmt = select(m.DispatchRule).order_by(m.DispatchRule.division_code, m.DispatchRule.category_code)
    if division_code:
        stmt = stmt.where(m.DispatchRule.division_code == division_code)
    if category_code:
        stmt = stmt.where(m.DispatchRule.category_code == category_code)
    rules = list(db.execute(stmt).scalars())
    if not rules:
        return []
    divisions = {d.code: d.name for d in org_service.list_divisions(db)}
    departments = {d.code: d.short_name for d in org_service.list_departments(db, include_inactive=True)}
    return [
        _rule_read(
            db, r, divisions.get(r.division_code) or place_name(db, r.division_code), departments.get(r.department_code)
        )
        for r in rules
    ]


def dispatch_rule_read(db: Session, rule: m.DispatchRule) -> DispatchRuleRead:
    """One rule with the names of what it refers to."""
    division_name: str | None = place_name(db, rule.division_code)
    return _rule_read(db, rule, division_name, department_by_code(db, rule.department_code).short_name)


def _rule_read(
    db: Session, rule: m.DispatchRule, division_name: str | None, department_name: str | None
) -> DispatchRuleRead:
    category = category_info(db, rule.category_code)
    return DispatchRuleRead(
        id=rule.id,
        division_code=rule.division_code,
        division_name=division_name,
        category_code=rule.category_code,
        category_name=category.name,
        department_code=rule.department_code,
        department_name=department_name,
        sla_hours=rule.sla_hours,
        effective_sla_hours=rule.sla_hours if rule.sla_hours is not None else category.sla_hours,
    )


@dataclass(frozen=True)
class Route:
    department_code: str
    sla_hours: int
    rule_id: int | None = None  # the division rule that decided, if one matched
    rule_division_code: str | None = None
    rule_sets_deadline: bool = False


def _division_and_parents(division_code: str) -> list[str]:
    """The division, then its parents by code prefix (town or subdistrict: 9 digits, city: 6), nearest first."""
    return list(dict.fromkeys([division_code, *(division_code[:n] for n in (9, 6) if n < len(division_code))]))


def route_for(db: Session, *, category_code: str, division_code: str | None, grid_code: str | None = None) -> Route:
    """Where a category goes: the grid cell's rule, else the nearest division rule (own, parents), else default."""
    category = category_info(db, category_code)
    if division_code or grid_code:
        candidates = ([grid_code] if grid_code else []) + (
            _division_and_parents(division_code) if division_code else []
        )
        rules = {
            r.division_code: r
            for r in db.execute(
                select(m.DispatchRule).where(
                    m.DispatchRule.category_code == category_code, m.DispatchRule.division_code.in_(candidates)
                )
            ).scalars()
        }
        for code in candidates:
            rule = rules.get(code)
            if rule is not None:
                return Route(
                    department_code=rule.department_code,
                    sla_hours=rule.sla_hours if rule.sla_hours is not None else category.sla_hours,
                    rule_id=rule.id,
                    rule_division_code=rule.division_code,
                    rule_sets_deadline=rule.sla_hours is not None,
                )
    return Route(category.department_code, category.sla_hours)


def classify(db: Session, *, text: str, top: int = 5) -> ClassifyResult:
    """Ranked category suggestions (with department) for free text; low confidence → a dispatcher decides."""
    categories = {c.code: c for c in list_categories(db)}
    suggestions = [s for s in classifier.classify(text, top=top) if s.category in categories]
    return ClassifyResult(
        suggestions=[
            SuggestionRead(
                category_code=s.category,
                category_name=categories[s.category].name,
                department_code=categories[s.category].department_code,
                score=s.score,
            )
            for s in suggestions
        ],
        needs_dispatcher=not suggestions or suggestions[0].score < classifier.LOW_CONFIDENCE,
    )


_departments_by_code: dict[str, Any] = {}


def department_by_code(db: Session, code: str) -> Any:
    """A department by code; cached per process (codes and ids do not change while running)."""
    if code not in _departments_by_code:
        _departments_by_code[code] = org_service.get_department_by_code(db, code=code)
    return _departments_by_code[code]
