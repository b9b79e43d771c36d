"""The event lifecycle: intake, every transition and who may make it, ratings, deadlines, alarms.

Lifecycle (standards.md §7): received 受理 → registered 立案 → dispatched 派遣 → handling 处置 →
replied 反馈 → verified 核查 → closed 结案 → rated 评价; with send_back 退回, extensions 延期,
supervise 督办 and void 作废. Every change goes through `_move`, which refuses anything not in
TRANSITIONS and records who, when and why. Functions take `now` so tests control the clock.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yiwang.cityops import models as m
from yiwang.cityops import permissions as p
from yiwang.cityops.rules import Route, category_info, classify, department_by_code, place_name, route_for
from yiwang.cityops.schemas import (
    SOURCE_NAMES,
    ClassifyResult,
    EventAction,
    EventCreate,
    Rating,
)
from yiwang.core import audit
from yiwang.core.crypto import FieldCipher
from yiwang.core.db import next_counter_value
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.security import Principal
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.geo import service as geo_service
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


TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "register": (("received",), "registered", "dispatch"),
    # From "dispatched" too: 改派 before anyone signs, when the department cannot take it.
    "dispatch": (("registered", "dispatched"), "dispatched", "dispatch"),
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


REPORTER_CONTEXT_NAME = "cityops_event.reporter_name"


REPORTER_CONTEXT_PHONE = "cityops_event.reporter_phone"


SYSTEM = Principal(user_id=None, username="system:cityops", display_name="一网统管", kind="system")


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
    if data.source in ("hotline", "grid", "sensor", "video") and actor.kind not in ("staff", "system"):
        raise PermissionDenied("只有工作人员可以登记热线、网格、感知或视频来源的事件")
    if data.category_code:
        category_info(db, data.category_code)
    if data.division_code:
        try:
            org_service.get_division_by_code(db, code=data.division_code)
        except NotFound as exc:
            raise ValidationFailed(f"行政区划 {data.division_code} 不存在") from exc
    if data.category_code:  # the reporter or operator chose the category: no need to guess
        suggestion = ClassifyResult(suggestions=[], needs_dispatcher=False)
    else:
        suggestion = classify(db, text=f"{data.title or ''} {data.description}", top=1)
    top = suggestion.suggestions[0] if suggestion.suggestions else None
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
        reporter_name=cipher.encrypt(data.reporter_name, context=REPORTER_CONTEXT_NAME) if data.reporter_name else None,
        reporter_phone=cipher.encrypt(data.reporter_phone, context=REPORTER_CONTEXT_PHONE)
        if data.reporter_phone
        else None,
        suggested_category=top.category_code if top else None,
        suggestion_score=top.score if top else None,
        needs_dispatcher=False,
        created_at=now,
        alarm_id=alarm_id,
        open311_token=open311_token,
    )
    if event.lon is not None and event.lat is not None:
        place = geo_service.locate(db, lon=event.lon, lat=event.lat)
        event.grid_code = place.grid_code
        event.division_code = event.division_code or place.division_code
    elif event.division_code:
        division = org_service.get_division_by_code(db, code=event.division_code)
        event.lon, event.lat = division.lon, division.lat
    db.add(event)
    _record(db, event, "create", None, "received", actor, now, f"来源：{SOURCE_NAMES.get(data.source, data.source)}")
    chosen = data.category_code
    if not chosen and top and not suggestion.needs_dispatcher:
        chosen = top.category_code
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
    route = route_for(
        db, category_code=event.category_code, division_code=event.division_code, grid_code=event.grid_code
    )
    department = department_by_code(db, department_code or route.department_code)
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
    place = place_name(db, route.rule_division_code)
    reason = f"按区划规则派遣至{department_name}（{place}）"
    if route.rule_sets_deadline:
        reason += f"，时限 {route.sla_hours} 小时"
    if actor is SYSTEM:
        return f"智能分拨：{reason}"
    return f"{note}；{reason}" if note else reason


def role_ok(db: Session, event: m.Event, who: str, actor: Principal) -> bool:
    if who == "dispatch":
        return actor.has(p.DISPATCH)
    if who == "lead":
        return actor.has(p.HANDLE) and actor.can_reach_department(event.department_id)
    if who == "assist":
        return actor.has(p.HANDLE) and any(actor.can_reach_department(a) for a in assisting_departments(db, event.id))
    if who == "reporter":
        return actor.user_id is not None and actor.user_id == event.reporter_user_id
    return False


def assisting_departments(db: Session, event_id: int) -> list[int]:
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
    if event.grid_code and event.grid_code in geo_service.grid_cells_of(db, username=actor.username):
        return True  # grid staff (网格员) see the events of their cells
    return any(actor.can_reach_department(a) for a in assisting_departments(db, event.id))


def act(db: Session, *, actor: Principal, number: str, data: EventAction, now: datetime | None = None) -> m.Event:
    """Apply one lifecycle action; refuses illegal transitions and actors without the right role."""
    now = now or utcnow()
    event = get_event_row(db, actor=actor, number=number)
    allowed_from, _to, who = TRANSITIONS[data.action]
    if not role_ok(db, event, who, actor):
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
        category_info(db, d.category_code)
        e.category_code = d.category_code
    if not e.category_code:
        raise ValidationFailed("立案须确定事件类别")
    _move(db, e, "register", actor, now, d.note)


def _a_dispatch(db: Session, e: m.Event, actor: Principal, now: datetime, d: EventAction) -> None:
    if e.status == "dispatched":
        if not d.department_code or not d.note:
            raise ValidationFailed("改派须选择新的责任部门并说明理由")
        if e.department_id == department_by_code(db, d.department_code).id:
            raise Conflict("事件已派遣至该部门", code="same_department")
    if d.category_code:
        category_info(db, d.category_code)
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
    if department.id == e.department_id or department.id in assisting_departments(db, e.id):
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
    if not role_ok(db, event, "reporter", actor):
        raise PermissionDenied("只有上报人可以评价")
    _move(db, event, "rate", actor, now, f"{data.rating} 星：{data.comment or ''}")
    event.rating, event.rating_comment = data.rating, data.comment
    if data.rating <= REOPEN_RATING:
        event.reopen_count += 1
        event.status = "handling"
        route = route_for(
            db, category_code=event.category_code or "", division_code=event.division_code, grid_code=event.grid_code
        )
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
