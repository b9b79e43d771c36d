"""The rules of 一网统管: intake, smart dispatch, the event lifecycle, deadlines, feedback and figures.

Lifecycle (standards.md §7): received 受理 → registered 立案 → dispatched 派遣 → handling 处置 →
replied 反馈 → verified 核查 → closed 结案 → rated 评价; with send_back 退回, extensions 延期,
supervise 督办 and void 作废. Every change goes through `_move`, which refuses anything not in
TRANSITIONS and records who, when and why. Functions take `now` so tests control the clock.
The city brain reads figures through `figures()`.
"""

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yiwang.cityops import classifier
from yiwang.cityops import models as m
from yiwang.cityops import permissions as p
from yiwang.cityops.reads import (  # noqa: F401  (the read model other domains use)
    city_event_figures,
    closed_events,
    event_categories,
    event_figures,
    event_map,
    late_open_events,
)
from yiwang.cityops.schemas import (
    DispatchRuleCreate,
    DispatchRuleRead,
    DispatchRuleUpdate,
    EventAction,
    EventCreate,
    EventRead,
    FigureRow,
    Rating,
)
from yiwang.core import audit
from yiwang.core.crypto import FieldCipher
from yiwang.core.db import next_counter_value
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.masking import mask_name, mask_phone
from yiwang.core.permissions import PERSONAL_READ_CLEAR
from yiwang.core.security import Principal
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.org import service as org_service

STATUS_NAMES = {
    "received": "受理",
    "registered": "立案",
    "dispatched": "派遣",
    "handling": "处置",
    "replied": "反馈",
    "verified": "核查",
    "closed": "结案",
    "rated": "评价",
    "voided": "作废",
}
OPEN_STATUSES = ("received", "registered", "dispatched", "handling", "replied", "verified")
ACTION_NAMES = {
    "create": "受理",
    "register": "立案",
    "dispatch": "派遣",
    "sign": "签收处置",
    "send_back": "退回",
    "request_extension": "申请延期",
    "approve_extension": "批准延期",
    "reject_extension": "驳回延期",
    "reply": "办结反馈",
    "verify": "核查通过",
    "verify_fail": "核查不通过",
    "close": "结案",
    "rate": "评价",
    "reopen": "不满意重办",
    "supervise": "督办",
    "escalate": "超期升级督办",
    "warn": "临期预警",
    "void": "作废",
    "add_assist": "增加协办部门",
    "assist_done": "协办完成",
}
# action: (statuses it may start from, status it leads to (None: unchanged), who may do it)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "register": (("received",), "registered", "dispatch"),
    "dispatch": (("registered",), "dispatched", "dispatch"),
    "sign": (("dispatched",), "handling", "lead"),
    "send_back": (("dispatched", "handling"), "registered", "lead"),
    "request_extension": (("handling",), None, "lead"),
    "approve_extension": (("handling",), None, "dispatch"),
    "reject_extension": (("handling",), None, "dispatch"),
    "reply": (("handling",), "replied", "lead"),
    "verify": (("replied",), "verified", "dispatch"),
    "verify_fail": (("replied",), "handling", "dispatch"),
    "close": (("verified",), "closed", "dispatch"),
    "supervise": (("dispatched", "handling"), None, "dispatch"),
    "void": (("received", "registered"), "voided", "dispatch"),
    "add_assist": (("registered", "dispatched", "handling"), None, "dispatch"),
    "assist_done": (("handling",), None, "assist"),
    "rate": (("closed",), "rated", "reporter"),
}
NOTE_REQUIRED = {"send_back", "request_extension", "reply", "verify_fail", "void"}
WARN_FRACTION = 0.2  # warn when less than a fifth of the allowed time remains
REOPEN_RATING = 2  # a rating at or below this reopens the event
_REPORTER_CONTEXT_NAME = "cityops_event.reporter_name"
_REPORTER_CONTEXT_PHONE = "cityops_event.reporter_phone"
SYSTEM = Principal(user_id=None, username="system:cityops", display_name="一网统管", kind="system")


# ---- categories and dispatch rules -------------------------------------------------------------------------


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


def _category(db: Session, code: str) -> CategoryInfo:
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
            _category(db, category_code)
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
    if division_code is not None:
        try:
            org_service.get_division_by_code(db, code=division_code)
        except NotFound:
            problems.append(_problem("division_code", f"行政区划 {division_code} 不存在"))
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


def _duplicate_rule(db: Session, division_code: str, category_code: str, existing_id: int | None) -> Conflict:
    place = org_service.get_division_by_code(db, code=division_code).name
    return Conflict(
        f"{place}已有“{_category(db, category_code).name}”的分拨规则，请修改或删除该规则",
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
    return [_rule_read(db, r, divisions.get(r.division_code), departments.get(r.department_code)) for r in rules]


def dispatch_rule_read(db: Session, rule: m.DispatchRule) -> DispatchRuleRead:
    """One rule with the names of what it refers to."""
    try:
        division_name: str | None = org_service.get_division_by_code(db, code=rule.division_code).name
    except NotFound:
        division_name = None
    return _rule_read(db, rule, division_name, _department(db, rule.department_code).short_name)


def _rule_read(
    db: Session, rule: m.DispatchRule, division_name: str | None, department_name: str | None
) -> DispatchRuleRead:
    category = _category(db, rule.category_code)
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


def route_for(db: Session, *, category_code: str, division_code: str | None) -> Route:
    """Where a category goes in a division: the nearest division rule (own, then parents) or the category default."""
    category = _category(db, category_code)
    if division_code:
        candidates = _division_and_parents(division_code)
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


# ---- classification ----------------------------------------------------------------------------------------


def classify(db: Session, *, text: str, top: int = 5) -> dict[str, Any]:
    """Ranked category suggestions (with department) for free text; low confidence → a dispatcher decides."""
    categories = {c.code: c for c in list_categories(db)}
    suggestions = [s for s in classifier.classify(text, top=top) if s.category in categories]
    return {
        "suggestions": [
            {
                "category_code": s.category,
                "category_name": categories[s.category].name,
                "department_code": categories[s.category].department_code,
                "score": s.score,
            }
            for s in suggestions
        ],
        "needs_dispatcher": not suggestions or suggestions[0].score < classifier.LOW_CONFIDENCE,
    }


# ---- intake ------------------------------------------------------------------------------------------------


def _number(db: Session, now: datetime) -> str:
    day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
    return f"SJ-{day}-{next_counter_value(db, m.Sequence, key={'day': day}):06d}"


def create_event(
    db: Session,
    *,
    actor: Principal,
    data: EventCreate,
    cipher: FieldCipher,
    now: datetime | None = None,
    alarm_id: int | None = None,
    open311_token: str | None = None,
) -> m.Event:
    """Take in an event; with a known or confidently suggested category it is registered and dispatched."""
    now = now or utcnow()
    if data.source in ("hotline", "grid", "sensor") and actor.kind not in ("staff", "system"):
        raise PermissionDenied("只有工作人员可以登记热线、网格或感知来源的事件")
    if data.category_code:
        _category(db, data.category_code)
    if data.division_code:
        try:
            org_service.get_division_by_code(db, code=data.division_code)
        except NotFound as exc:
            raise ValidationFailed(f"行政区划 {data.division_code} 不存在") from exc
    if data.category_code:  # the reporter or operator chose the category: no need to guess
        suggestion: dict[str, Any] = {"suggestions": [], "needs_dispatcher": False}
    else:
        suggestion = classify(db, text=f"{data.title or ''} {data.description}", top=1)
    top = suggestion["suggestions"][0] if suggestion["suggestions"] else None
    reporter_user = actor.user_id if actor.kind in ("citizen", "enterprise") else None
    event = m.Event(
        number=_number(db, now),
        category_code=data.category_code,
        title=(data.title or data.description[:30]),
        description=data.description,
        source=data.source,
        status="received",
        division_code=data.division_code,
        lon=data.lon,
        lat=data.lat,
        address=data.address,
        photos=data.photos,
        reporter_user_id=reporter_user,
        reporter_name=cipher.encrypt(data.reporter_name, context=_REPORTER_CONTEXT_NAME)
        if data.reporter_name
        else None,
        reporter_phone=cipher.encrypt(data.reporter_phone, context=_REPORTER_CONTEXT_PHONE)
        if data.reporter_phone
        else None,
        suggested_category=top["category_code"] if top else None,
        suggestion_score=top["score"] if top else None,
        needs_dispatcher=False,
        created_at=now,
        alarm_id=alarm_id,
        open311_token=open311_token,
    )
    if event.lon is None and event.division_code:
        division = org_service.get_division_by_code(db, code=event.division_code)
        event.lon, event.lat = division.lon, division.lat
    db.add(event)
    _record(db, event, "create", None, "received", actor, now, f"来源：{data.source}")
    chosen = data.category_code
    if not chosen and top and not suggestion["needs_dispatcher"]:
        chosen = top["category_code"]
    if chosen:
        event.category_code = chosen
        _move(db, event, "register", SYSTEM, now, "智能分拨：自动立案")
        _dispatch(db, event, SYSTEM, now, department_code=None, note="智能分拨：按类别派遣")
    else:
        event.needs_dispatcher = True
    # One flush writes the event as it ends up and its first steps; the audit entry follows them.
    audit.record(
        db,
        actor=actor,
        action="cityops.event.create",
        target_type="event",
        target_id=event.number,
        details={"source": data.source, "category": data.category_code},
    )
    return event


# ---- lifecycle ---------------------------------------------------------------------------------------------


def _record(
    db: Session,
    event: m.Event,
    action: str,
    from_status: str | None,
    to_status: str,
    actor: Principal,
    now: datetime,
    note: str | None,
) -> None:
    db.add(
        m.Transition(
            event=event,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor_id=actor.user_id,
            actor_name=actor.username,
            department_id=event.department_id,
            at=now,
            note=note,
        )
    )


def _move(db: Session, event: m.Event, action: str, actor: Principal, now: datetime, note: str | None) -> None:
    allowed_from, to_status, _who = TRANSITIONS[action]
    if event.status not in allowed_from:
        raise Conflict(
            f"事件当前为“{STATUS_NAMES[event.status]}”，不能“{ACTION_NAMES[action]}”",
            code="illegal_transition",
            details={"status": event.status, "action": action},
        )
    before = event.status
    if to_status:
        event.status = to_status
    _record(db, event, action, before, event.status, actor, now, note)


def _dispatch(
    db: Session, event: m.Event, actor: Principal, now: datetime, *, department_code: str | None, note: str | None
) -> None:
    if not event.category_code:
        raise ValidationFailed("派遣前须确定事件类别")
    route = route_for(db, category_code=event.category_code, division_code=event.division_code)
    department = _department(db, department_code or route.department_code)
    event.department_id = department.id
    event.dispatched_at = now
    event.deadline = now + timedelta(hours=route.sla_hours)
    event.warned = event.escalated = event.supervised = False
    event.needs_dispatcher = False
    if department_code is None and route.rule_division_code is not None:
        note = _rule_note(db, route, department.short_name, actor, note)
    _move(db, event, "dispatch", actor, now, note or f"派遣至{department.short_name}")


def _rule_note(db: Session, route: Route, department_name: str, actor: Principal, note: str | None) -> str:
    """Say which division rule sent the event where it went, so people can see why."""
    assert route.rule_division_code is not None
    try:
        place = org_service.get_division_by_code(db, code=route.rule_division_code).name
    except NotFound:
        place = route.rule_division_code
    reason = f"按区划规则派遣至{department_name}（{place}）"
    if route.rule_sets_deadline:
        reason += f"，时限 {route.sla_hours} 小时"
    if actor is SYSTEM:
        return f"智能分拨：{reason}"
    return f"{note}；{reason}" if note else reason


_departments_by_code: dict[str, Any] = {}


def _department(db: Session, code: str) -> Any:
    """A department by code; cached per process (codes and ids do not change while running)."""
    if code not in _departments_by_code:
        _departments_by_code[code] = org_service.get_department_by_code(db, code=code)
    return _departments_by_code[code]


def _role_ok(db: Session, event: m.Event, who: str, actor: Principal) -> bool:
    if who == "dispatch":
        return actor.has(p.DISPATCH)
    if who == "lead":
        return actor.has(p.HANDLE) and actor.can_reach_department(event.department_id)
    if who == "assist":
        return actor.has(p.HANDLE) and any(actor.can_reach_department(a) for a in _assists(db, event.id))
    if who == "reporter":
        return actor.user_id is not None and actor.user_id == event.reporter_user_id
    return False


def _assists(db: Session, event_id: int) -> list[int]:
    return list(
        db.execute(
            select(m.EventAssist.department_id)
            .where(m.EventAssist.event_id == event_id)
            .order_by(m.EventAssist.department_id)
        ).scalars()
    )


def get_event_row(db: Session, *, actor: Principal, number: str) -> m.Event:
    """An event by number, if the caller may see it (department scope, the centre, or its reporter)."""
    event = db.execute(select(m.Event).where(m.Event.number == number)).scalar_one_or_none()
    if event is None:
        raise NotFound("事件不存在")
    if not can_see(db, actor, event):
        raise PermissionDenied("无权查看其他部门的事件", code="department_scope")
    return event


def can_see(db: Session, actor: Principal, event: m.Event) -> bool:
    if actor.user_id is not None and actor.user_id == event.reporter_user_id:
        return True
    if not actor.has(p.READ):
        return False
    if actor.has(p.DISPATCH) or actor.can_reach_department(event.department_id):
        return True
    return any(actor.can_reach_department(a) for a in _assists(db, event.id))


def act(db: Session, *, actor: Principal, number: str, data: EventAction, now: datetime | None = None) -> m.Event:
    """Apply one lifecycle action; refuses illegal transitions and actors without the right role."""
    now = now or utcnow()
    event = get_event_row(db, actor=actor, number=number)
    allowed_from, _to, who = TRANSITIONS[data.action]
    if not _role_ok(db, event, who, actor):
        raise PermissionDenied(f"无权对此事件执行“{ACTION_NAMES[data.action]}”")
    if data.action in NOTE_REQUIRED and not (data.note and data.note.strip()):
        raise ValidationFailed(f"“{ACTION_NAMES[data.action]}”须填写说明")
    if event.status not in allowed_from:
        _move(db, event, data.action, actor, now, data.note)  # raises the refusal
    handler = _ACTIONS[data.action]
    handler(db, event, actor, now, data)
    audit.record(
        db,
        actor=actor,
        action=f"cityops.event.{data.action}",
        target_type="event",
        target_id=event.number,
        details={"status": event.status, "note": (data.note or "")[:200]},
    )
    db.flush()
    return event


def _a_register(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    if d.category_code:
        _category(db, d.category_code)
        e.category_code = d.category_code
    if not e.category_code:
        raise ValidationFailed("立案须确定事件类别")
    _move(db, e, "register", actor, now, d.note)


def _a_dispatch(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    if d.category_code:
        _category(db, d.category_code)
        e.category_code = d.category_code
    _dispatch(db, e, actor, now, department_code=d.department_code, note=d.note)


def _a_simple(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    _move(db, e, d.action, actor, now, d.note)


def _a_send_back(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    _move(db, e, "send_back", actor, now, d.note)
    e.sent_back_count += 1
    e.department_id = None
    e.deadline = None
    e.needs_dispatcher = True


def _a_request_extension(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    if not d.hours:
        raise ValidationFailed("申请延期须填写延长的小时数")
    if e.extension_requested_hours:
        raise Conflict("已有待审批的延期申请")
    e.extension_requested_hours, e.extension_reason = d.hours, d.note
    _move(db, e, "request_extension", actor, now, f"申请延期 {d.hours} 小时：{d.note}")


def _a_decide_extension(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    if not e.extension_requested_hours:
        raise Conflict("没有待审批的延期申请", code="illegal_transition")
    if d.action == "approve_extension":
        assert e.deadline is not None
        e.deadline = e.deadline + timedelta(hours=e.extension_requested_hours)
        e.warned = e.escalated = False
    _move(db, e, d.action, actor, now, d.note or f"{e.extension_requested_hours} 小时")
    e.extension_requested_hours, e.extension_reason = None, None


def _a_reply(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    e.result, e.replied_at = d.note, now
    _move(db, e, "reply", actor, now, d.note)


def _a_close(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    e.closed_at = now
    e.closed_on_time = e.replied_at is not None and e.deadline is not None and e.replied_at <= e.deadline
    _move(db, e, "close", actor, now, d.note)


def _a_supervise(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    if e.deadline is None or now <= e.deadline:
        raise Conflict("只有超期事件需要督办", code="illegal_transition")
    e.supervised = True
    _move(db, e, "supervise", actor, now, d.note)


def _a_add_assist(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    if not d.department_code:
        raise ValidationFailed("须指定协办部门")
    department = org_service.get_department_by_code(db, code=d.department_code)
    if department.id == e.department_id or department.id in _assists(db, e.id):
        raise Conflict("该部门已参与办理")
    db.add(m.EventAssist(event_id=e.id, department_id=department.id, note=d.note))
    _move(db, e, "add_assist", actor, now, f"协办：{department.short_name}")


def _a_assist_done(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    rows = db.execute(select(m.EventAssist).where(m.EventAssist.event_id == e.id)).scalars()
    mine = [a for a in rows if actor.can_reach_department(a.department_id)]
    if not mine or all(a.done for a in mine):
        raise Conflict("没有待完成的协办任务", code="illegal_transition")
    for a in mine:
        a.done = True
    _move(db, e, "assist_done", actor, now, d.note)


def _a_rate(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    raise ValidationFailed("请使用评价接口")


_ACTIONS = {
    "register": _a_register,
    "dispatch": _a_dispatch,
    "sign": _a_simple,
    "send_back": _a_send_back,
    "request_extension": _a_request_extension,
    "approve_extension": _a_decide_extension,
    "reject_extension": _a_decide_extension,
    "reply": _a_reply,
    "verify": _a_simple,
    "verify_fail": _a_simple,
    "close": _a_close,
    "supervise": _a_supervise,
    "void": _a_simple,
    "add_assist": _a_add_assist,
    "assist_done": _a_assist_done,
    "rate": _a_rate,
}


def rate(db: Session, *, actor: Principal, number: str, data: Rating, now: datetime | None = None) -> m.Event:
    """The reporter rates a closed event; a bad rating reopens it for the department with a new deadline."""
    now = now or utcnow()
    event = get_event_row(db, actor=actor, number=number)
    if not _role_ok(db, event, "reporter", actor):
        raise PermissionDenied("只有上报人可以评价")
    _move(db, event, "rate", actor, now, f"{data.rating} 星：{data.comment or ''}")
    event.rating, event.rating_comment = data.rating, data.comment
    if data.rating <= REOPEN_RATING:
        event.reopen_count += 1
        event.status = "handling"
        route = route_for(db, category_code=event.category_code or "", division_code=event.division_code)
        event.deadline = now + timedelta(hours=route.sla_hours)
        event.closed_at = event.replied_at = None
        event.closed_on_time = None
        event.warned = event.escalated = event.supervised = False
        _record(db, event, "reopen", "rated", "handling", actor, now, "评价不满意，重新办理")
    audit.record(
        db,
        actor=actor,
        action="cityops.event.rate",
        target_type="event",
        target_id=event.number,
        details={"rating": data.rating},
    )
    db.flush()
    return event


# ---- deadlines ---------------------------------------------------------------------------------------------


def check_deadlines(db: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Warn before the deadline, escalate (supervise) after it. Idempotent: each happens once per deadline."""
    now = now or utcnow()
    warned = escalated = 0
    rows = db.execute(
        select(m.Event).where(
            m.Event.status.in_(("dispatched", "handling")),
            m.Event.deadline.is_not(None),
            or_(m.Event.warned.is_(False), m.Event.escalated.is_(False)),
        )
    ).scalars()
    for event in rows:
        assert event.deadline is not None and event.dispatched_at is not None
        allowed = event.deadline - event.dispatched_at
        if now > event.deadline and not event.escalated:
            event.escalated = event.supervised = event.warned = True
            _record(db, event, "escalate", event.status, event.status, SYSTEM, now, "已超期，自动升级督办")
            escalated += 1
        elif not event.warned and now >= event.deadline - allowed * WARN_FRACTION and now <= event.deadline:
            event.warned = True
            _record(db, event, "warn", event.status, event.status, SYSTEM, now, "即将超期")
            warned += 1
    db.flush()
    return {"warned": warned, "escalated": escalated}


# ---- reading -----------------------------------------------------------------------------------------------


def _departments(db: Session) -> dict[int, Any]:
    return {d.id: d for d in org_service.list_departments(db, include_inactive=True)}


def to_read(
    db: Session,
    event: m.Event,
    *,
    actor: Principal,
    cipher: FieldCipher | None = None,
    now: datetime | None = None,
    departments: dict[int, Any] | None = None,
    assisting: list[int] | None = None,
    categories: dict[str, m.Category] | None = None,
) -> EventRead:
    """The event as the caller may see it: reporter masked (shown only to the reporter themself)."""
    now = now or utcnow()
    departments = departments or _departments(db)
    assisting = _assists(db, event.id) if assisting is None else assisting
    if categories is None:
        category = db.get(m.Category, event.category_code) if event.category_code else None
    else:
        category = categories.get(event.category_code) if event.category_code else None
    reporter = None
    if cipher is not None and (event.reporter_name or event.reporter_phone):
        name = cipher.decrypt(event.reporter_name, context=_REPORTER_CONTEXT_NAME) if event.reporter_name else ""
        phone = cipher.decrypt(event.reporter_phone, context=_REPORTER_CONTEXT_PHONE) if event.reporter_phone else ""
        mine = actor.user_id is not None and actor.user_id == event.reporter_user_id
        reporter = f"{name} {phone}".strip() if mine else f"{mask_name(name) or ''} {mask_phone(phone) or ''}".strip()
    dept = departments.get(event.department_id) if event.department_id else None
    return EventRead(
        id=event.id,
        number=event.number,
        title=event.title,
        description=event.description,
        category_code=event.category_code,
        category_name=category.name if category else None,
        source=event.source,
        status=event.status,
        status_name=STATUS_NAMES[event.status],
        department_code=dept.code if dept else None,
        assisting=[departments[a].code for a in assisting if a in departments],
        division_code=event.division_code,
        lon=event.lon,
        lat=event.lat,
        address=event.address,
        photos=event.photos or [],
        reporter=reporter,
        created_at=event.created_at,
        deadline=event.deadline,
        overdue=bool(event.deadline and event.status in OPEN_STATUSES and now > event.deadline),
        supervised=event.supervised,
        suggested_category=event.suggested_category,
        suggestion_score=event.suggestion_score,
        needs_dispatcher=event.needs_dispatcher,
        rating=event.rating,
        sent_back_count=event.sent_back_count,
        reopen_count=event.reopen_count,
        result=event.result,
    )


def to_reads(
    db: Session, events: list[m.Event], *, actor: Principal, cipher: FieldCipher | None = None
) -> list[EventRead]:
    """Many events as the caller may see them, with a fixed number of queries however many there are:
    departments, categories and assisting departments are read once for the whole list."""
    departments = _departments(db)
    # Held in a dict: the session's identity map keeps rows only while something refers to them.
    categories = {c.code: c for c in list_categories(db)}
    assisting: dict[int, list[int]] = {e.id: [] for e in events}
    if events:
        rows = db.execute(
            select(m.EventAssist.event_id, m.EventAssist.department_id)
            .where(m.EventAssist.event_id.in_(list(assisting)))
            .order_by(m.EventAssist.event_id, m.EventAssist.department_id)
        )
        for event_id, department_id in rows:
            assisting[event_id].append(department_id)
    now = utcnow()
    return [
        to_read(
            db,
            e,
            actor=actor,
            cipher=cipher,
            now=now,
            departments=departments,
            assisting=assisting[e.id],
            categories=categories,
        )
        for e in events
    ]


def read_reporter_clear(db: Session, *, actor: Principal, number: str, cipher: FieldCipher, reason: str) -> dict:
    """The reporter's name and phone in clear, for staff allowed to call back; audited."""
    if not actor.has(PERSONAL_READ_CLEAR) and not actor.has(p.DISPATCH):
        raise PermissionDenied("无权查看上报人明文信息")
    event = get_event_row(db, actor=actor, number=number)
    audit.record(
        db,
        actor=actor,
        action="cityops.event.reporter_read",
        target_type="event",
        target_id=number,
        details={"reason": reason},
    )
    return {
        "name": cipher.decrypt(event.reporter_name, context=_REPORTER_CONTEXT_NAME) if event.reporter_name else None,
        "phone": cipher.decrypt(event.reporter_phone, context=_REPORTER_CONTEXT_PHONE)
        if event.reporter_phone
        else None,
    }


def transitions(db: Session, *, event_id: int) -> list[m.Transition]:
    return list(
        db.execute(select(m.Transition).where(m.Transition.event_id == event_id).order_by(m.Transition.id)).scalars()
    )


@dataclass
class EventFilter:
    status: str | None = None
    category_code: str | None = None
    department_code: str | None = None
    source: str | None = None
    overdue: bool = False
    needs_dispatcher: bool = False
    mine: bool = False


def list_events(
    db: Session,
    *,
    actor: Principal,
    filters: EventFilter,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[list[m.Event], int]:
    """Events the caller may see: all for the centre, own departments' (lead or assisting) for others."""
    now = now or utcnow()
    stmt = select(m.Event)
    if filters.mine or not actor.has(p.READ):
        stmt = stmt.where(m.Event.reporter_user_id == (actor.user_id or -1))
    elif not actor.has(p.DISPATCH) and not actor.has("core.scope.all"):
        scope = list(actor.scope_department_ids)
        assisted = select(m.EventAssist.event_id).where(m.EventAssist.department_id.in_(scope))
        stmt = stmt.where(or_(m.Event.department_id.in_(scope), m.Event.id.in_(assisted)))
    if filters.status:
        stmt = stmt.where(m.Event.status == filters.status)
    if filters.category_code:
        stmt = stmt.where(m.Event.category_code == filters.category_code)
    if filters.source:
        stmt = stmt.where(m.Event.source == filters.source)
    if filters.department_code:
        dept = org_service.get_department_by_code(db, code=filters.department_code)
        stmt = stmt.where(m.Event.department_id == dept.id)
    if filters.overdue:
        stmt = stmt.where(m.Event.status.in_(OPEN_STATUSES), m.Event.deadline < now)
    if filters.needs_dispatcher:
        stmt = stmt.where(m.Event.needs_dispatcher.is_(True), m.Event.status.in_(("received", "registered")))
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = list(db.execute(stmt.order_by(m.Event.id.desc()).limit(limit).offset(offset)).scalars())
    return rows, total


def supervision(db: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """What is late, by department: for the centre's supervision page."""
    now = now or utcnow()
    departments = _departments(db)
    late = list(
        db.execute(
            select(m.Event).where(m.Event.status.in_(OPEN_STATUSES), m.Event.deadline < now).order_by(m.Event.deadline)
        ).scalars()
    )
    by_dept: dict[str, list[m.Event]] = defaultdict(list)
    for e in late:
        d = departments.get(e.department_id) if e.department_id else None
        by_dept[d.short_name if d else "未派遣"].append(e)
    soon = list(
        db.execute(
            select(m.Event)
            .where(m.Event.status.in_(("dispatched", "handling")), m.Event.deadline >= now, m.Event.warned.is_(True))
            .order_by(m.Event.deadline)
        ).scalars()
    )
    return {"late": dict(sorted(by_dept.items(), key=lambda kv: -len(kv[1]))), "soon": soon, "total_late": len(late)}


def figures(
    db: Session, *, by: str = "department", since: datetime | None = None, now: datetime | None = None
) -> list[FigureRow]:
    """On-time completion rate (plan indicator 11), satisfaction, sent-back and reopen rates per group.

    on_time_rate = closed on time / closed; satisfaction = ratings ≥ 4 / ratings;
    sent_back_rate and reopen_rate = events sent back (reopened) at least once / events dispatched.
    The first row (key "ALL") is the whole city.
    """
    if by not in ("department", "category"):
        raise ValidationFailed("by 只能是 department 或 category")
    now = now or utcnow()
    stmt = select(m.Event).where(m.Event.status != "voided", m.Event.dispatched_at.is_not(None))
    if since:
        stmt = stmt.where(m.Event.created_at >= since)
    departments = _departments(db)
    categories = {c.code: c.name for c in list_categories(db)}
    groups: dict[str, list[m.Event]] = defaultdict(list)
    for e in db.execute(stmt).scalars():
        if by == "department":
            d = departments.get(e.department_id) if e.department_id else None
            key = d.code if d else "NONE"
        else:
            key = e.category_code or "NONE"
        groups[key].append(e)
        groups["ALL"].append(e)
    names = {k: (departments_by_code(departments).get(k) if by == "department" else categories.get(k)) for k in groups}
    names["ALL"] = "全市"
    rows = [_figure(k, names.get(k) or k, v, now) for k, v in groups.items()]
    return sorted(rows, key=lambda r: (r.key != "ALL", -r.total))


def departments_by_code(departments: dict[int, Any]) -> dict[str, str]:
    return {d.code: d.short_name for d in departments.values()}


def _rate(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _figure(key: str, name: str, events: list[m.Event], now: datetime) -> FigureRow:
    closed = [e for e in events if e.closed_on_time is not None]
    on_time = sum(1 for e in closed if e.closed_on_time)
    rated = [e for e in events if e.rating is not None]
    return FigureRow(
        key=key,
        name=name,
        total=len(events),
        closed=len(closed),
        on_time=on_time,
        on_time_rate=_rate(on_time, len(closed)),
        rated=len(rated),
        satisfaction=_rate(sum(1 for e in rated if e.rating and e.rating >= 4), len(rated)),
        sent_back_rate=_rate(sum(1 for e in events if e.sent_back_count), len(events)),
        reopen_rate=_rate(sum(1 for e in events if e.reopen_count), len(events)),
        overdue_open=sum(1 for e in events if e.status in OPEN_STATUSES and e.deadline and e.deadline < now),
    )


def map_points(db: Session, *, actor: Principal, days: int = 30) -> dict[str, Any]:
    """Events with coordinates over the last days, and counts per division (for the map)."""
    since = utcnow() - timedelta(days=days)
    rows, _ = list_events(db, actor=actor, filters=EventFilter(), limit=5000)
    points = [
        {
            "number": e.number,
            "lon": e.lon,
            "lat": e.lat,
            "status": e.status,
            "category": e.category_code,
            "title": e.title,
        }
        for e in rows
        if e.lon is not None and e.created_at >= since
    ]
    divisions = {d.code: d for d in org_service.list_divisions(db)}
    per_division: dict[str, int] = defaultdict(int)
    for e in rows:
        if e.division_code:
            per_division[e.division_code[:9]] += 1
    return {
        "points": points,
        "divisions": [
            {"code": c, "name": divisions[c].name, "lon": divisions[c].lon, "lat": divisions[c].lat, "count": n}
            for c, n in per_division.items()
            if c in divisions
        ],
    }


def event_for_alarm(db: Session, *, alarm_id: int) -> m.Event | None:
    return db.execute(select(m.Event).where(m.Event.alarm_id == alarm_id)).scalar_one_or_none()


def open_from_alarm(db: Session, *, payload: dict[str, Any], cipher: FieldCipher) -> m.Event | None:
    """Open a city event for a confirmed sensor alarm (once per alarm)."""
    alarm_id = payload.get("alarm_id")
    if not isinstance(alarm_id, int) or event_for_alarm(db, alarm_id=alarm_id) is not None:
        return None
    data = EventCreate(
        description=f"感知告警：{payload.get('message') or ''}（告警编号 {alarm_id}）",
        title=f"感知告警：{(payload.get('message') or '')[:40]}",
        category_code=payload.get("category_code"),
        source="sensor",
        division_code=payload.get("division_code"),
        lon=payload.get("lon"),
        lat=payload.get("lat"),
        address=payload.get("thing_name") or "",
    )
    return create_event(db, actor=SYSTEM, data=data, cipher=cipher, alarm_id=alarm_id)


def reporter_events(db: Session, *, actor: Principal) -> list[m.Event]:
    return list(
        db.execute(
            select(m.Event).where(m.Event.reporter_user_id == actor.user_id).order_by(m.Event.id.desc()).limit(100)
        ).scalars()
    )
