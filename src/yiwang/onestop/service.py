"""Rules of 一网通办: applications, the per-department workflow and its clock, ratings and figures.

Other domains read this domain only through these functions (the city brain reads
`indicator_figures`). Catalog functions (items, bundles) live in catalog.py and are re-exported here.
"""

import json
import re
from collections import defaultdict
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from yiwang.certs import service as certs_service
from yiwang.core import audit, events, workdays
from yiwang.core.crypto import FieldCipher
from yiwang.core.db import next_counter_value
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.identifiers import IdentifierError, is_mobile, validate_credit_code, validate_id_number
from yiwang.core.masking import mask_name
from yiwang.core.permissions import PERSONAL_READ_CLEAR, SCOPE_ALL_DEPARTMENTS
from yiwang.core.security import Principal, check_department_scope
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.core.workbench import WorkItem
from yiwang.onestop import catalog, personal, uploads
from yiwang.onestop.catalog import (  # noqa: F401  (public surface)
    create_bundle,
    create_item,
    export_xlsx,
    get_bundle,
    get_item,
    import_xlsx,
    list_bundles,
    search_items,
    update_item,
)
from yiwang.onestop.models import (
    Application,
    Attachment,
    Bundle,
    CalendarOverride,
    Consent,
    Counter,
    FollowUp,
    ItemMaterial,
    MaterialClaim,
    Notification,
    Rating,
    ServiceItem,
    Task,
    TaskEvent,
)
from yiwang.onestop.reads import active_bundle_summaries, active_item_summaries  # noqa: F401  (the read model)
from yiwang.onestop.schemas import (
    DATABASE_NAMES,
    STAGE_NAMES,
    ApplicationBrief,
    ApplicationCreate,
    ApplicationPersonalRead,
    ApplicationRated,
    ApplicationRead,
    ApplicationSubmitted,
    CalendarOverrideIn,
    ClaimRead,
    DecisionInput,
    DepartmentFigures,
    EventRead,
    FollowUpRead,
    FormField,
    IndicatorFigures,
    ItemRead,
    ItemTime,
    MergedMaterial,
    NotificationRead,
    PrefillRead,
    RatingCreate,
    RatingRead,
    SupplementRequest,
    SupplementSubmit,
    TaskChanged,
    TaskRead,
)
from yiwang.org import service as org_service

FOLLOWUP_WORKING_DAYS = 15
CONSENT_TEXT = "本人同意政务服务机构在本次办理中调取本人的电子证照和基础库信息，用于核验和免于提交相应材料。"
DATABASE_KINDS = {
    "population": {"citizen"},
    "legal_person": {"enterprise"},
    "credit": {"enterprise", "citizen"},
    "real_estate": {"citizen", "enterprise"},
}
OPEN_STAGES = ("received", "supplement", "review", "decision", "decided")


def today() -> date:
    return utcnow().astimezone(SHANGHAI).date()


# ---- working days ----------------------------------------------------------------------------


_OVERRIDES_KEY = "onestop_calendar_overrides"


def calendar_overrides(db: Session) -> dict[date, bool]:
    """The override table, read once per unit of work."""
    if _OVERRIDES_KEY not in db.info:
        db.info[_OVERRIDES_KEY] = {row.day: row.workday for row in db.execute(select(CalendarOverride)).scalars()}
    return db.info[_OVERRIDES_KEY]


def set_calendar_override(db: Session, *, actor: Principal, data: CalendarOverrideIn) -> None:
    """Declare a day a working day or not, overriding the holiday package (e.g. for a new year)."""
    row = db.get(CalendarOverride, data.day)
    if row is None:
        db.add(CalendarOverride(day=data.day, workday=data.workday, note=data.note))
    else:
        row.workday, row.note = data.workday, data.note
    db.flush()
    db.info.pop(_OVERRIDES_KEY, None)
    audit.record(
        db,
        actor=actor,
        action="onestop.calendar.override",
        target_type="calendar",
        target_id=data.day.isoformat(),
        details={"workday": data.workday, "note": data.note},
    )


def add_working_days(db: Session, *, start: date, days: int) -> date:
    return workdays.add_working_days(start, days, calendar_overrides(db))


# ---- forms -----------------------------------------------------------------------------------


def _field_error(field: FormField, value: Any) -> tuple[Any, str | None]:
    """The cleaned value of one field, or an error message (Chinese)."""
    if field.type == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None, "应为数字"
        if field.min is not None and number < field.min:
            return None, f"不能小于 {field.min:g}"
        if field.max is not None and number > field.max:
            return None, f"不能大于 {field.max:g}"
        return (int(number) if number.is_integer() else number), None
    if not isinstance(value, str):
        return None, "应为文本"
    text = value.strip()
    if field.type == "date":
        try:
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, "应为日期（YYYY-MM-DD）"
    if field.type == "select" and text not in field.options:
        return None, f"应为以下之一：{'、'.join(field.options)}"
    try:
        if field.type == "id_number":
            text = validate_id_number(text)
        elif field.type == "credit_code":
            text = validate_credit_code(text)
    except IdentifierError as exc:
        return None, str(exc)
    if field.type == "phone" and not is_mobile(text):
        return None, "应为11位手机号码"
    if field.min_length is not None and len(text) < field.min_length:
        return None, f"至少 {field.min_length} 个字"
    if len(text) > (field.max_length or 2000):
        return None, f"不能超过 {field.max_length or 2000} 个字"
    if field.pattern and not re.fullmatch(field.pattern, text):
        return None, "格式不正确"
    return text, None


def validate_form(fields: list[FormField], values: dict[str, Any]) -> dict[str, Any]:
    """Cleaned values, or ValidationFailed listing every field that is wrong (nothing silently dropped)."""
    known = {f.name: f for f in fields}
    errors = [{"field": name, "label": name, "message": "表单中没有这个字段"} for name in values if name not in known]
    cleaned: dict[str, Any] = {}
    for field in fields:
        value = values.get(field.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if field.required:
                errors.append({"field": field.name, "label": field.label, "message": "必填"})
            continue
        result, error = _field_error(field, value)
        if error:
            errors.append({"field": field.name, "label": field.label, "message": error})
        else:
            cleaned[field.name] = result
    if errors:
        summary = "；".join(f"{e['label']}：{e['message']}" for e in errors[:5])
        raise ValidationFailed(f"表单填写有误：{summary}", code="form_invalid", details=errors)
    return cleaned


def _profile(db: Session, actor: Principal, cipher: FieldCipher | None, fields: list[FormField]) -> dict[str, Any]:
    """Values to pre-fill from the applicant's own account; clear personal fields are an audited read."""
    assert actor.user_id is not None
    account = org_service.get_account(db, user_id=actor.user_id)
    values: dict[str, Any] = {
        "display_name": account.display_name,
        "username": account.username,
        "credit_code": account.credit_code,
    }
    if cipher is not None and any(f.prefill in ("id_number", "phone") for f in fields):
        own = org_service.read_personal_fields(
            db, actor=actor, user_id=actor.user_id, cipher=cipher, reason="在线办事表单预填"
        )
        values |= {"id_number": own.id_number, "phone": own.phone}
    return {f.name: values.get(f.prefill) for f in fields if f.prefill and values.get(f.prefill)}


# ---- targets ---------------------------------------------------------------------------------


def _target(
    db: Session, *, item_code: str | None, bundle_code: str | None
) -> tuple[str, Bundle | None, list[ServiceItem]]:
    if bundle_code:
        bundle = catalog.bundle_row(db, bundle_code)
        if not bundle.active:
            raise NotFound("该一件事已停用")
        return bundle.name, bundle, catalog.bundle_items(db, bundle)
    item = catalog.item_row(db, item_code or "")
    if not item.active:
        raise NotFound("该事项已停用")
    if not item.online:
        raise ValidationFailed("该事项暂不支持网上办理，请到政务服务中心窗口办理", code="not_online")
    return item.name, None, [item]


def _definitions(
    db: Session, bundle: Bundle | None, rows: list[ServiceItem]
) -> tuple[list[ItemRead], list[FormField], list[MergedMaterial]]:
    materials = catalog.materials_of(db, [r.id for r in rows])
    items = [catalog.to_read(db, r, materials[r.id]) for r in rows]
    in_bundle = bundle is not None
    return items, catalog.merge_forms(items), catalog.merge_materials(items, in_bundle=in_bundle)


def _availability(
    db: Session, actor: Principal, materials: list[MergedMaterial]
) -> dict[str, tuple[str, str | None, str]]:
    """For each material: how it could be satisfied without upload (source, reference, note)."""
    assert actor.user_id is not None
    wanted = [m.cert_type_code for m in materials if m.source == "certificate" and m.cert_type_code]
    held = certs_service.usable_certificates(db, holder_user_id=actor.user_id, type_codes=wanted)
    found: dict[str, tuple[str, str | None, str]] = {}
    for m in materials:
        if m.source == "certificate" and m.cert_type_code in held:
            cert = held[m.cert_type_code]
            found[m.key] = ("certificate", cert.identifier, f"电子证照：{cert.type_name}")
        elif m.source == "database" and m.database and actor.kind in DATABASE_KINDS[m.database]:
            found[m.key] = ("database", m.database, f"{DATABASE_NAMES[m.database]}在线核验")
        elif m.source == "bundle_item":
            found[m.key] = ("bundle_item", m.produced_by, f"由本件事中的事项 {m.produced_by} 办结后产生")
    return found


def prefill(
    db: Session,
    *,
    actor: Principal,
    cipher: FieldCipher | None,
    item_code: str | None = None,
    bundle_code: str | None = None,
) -> PrefillRead:
    """The (merged) form with values from the applicant's profile, and how each material can be met."""
    _, bundle, rows = _target(db, item_code=item_code, bundle_code=bundle_code)
    _, fields, materials = _definitions(db, bundle, rows)
    available = _availability(db, actor, materials)
    return PrefillRead(
        form=fields,
        values=_profile(db, actor, cipher, fields),
        materials=[
            m.model_dump()
            | {
                "available": available.get(m.key, ("upload", None, "需上传"))[0],
                "reference": available.get(m.key, ("upload", None, ""))[1],
                "note": available.get(m.key, ("upload", None, "需上传"))[2],
            }
            for m in materials
        ],
    )


# ---- applications ----------------------------------------------------------------------------


def _next_number(db: Session) -> str:
    day = today().strftime("%Y%m%d")
    return f"BJ-{day}-{next_counter_value(db, Counter, key={'day': day}):06d}"


def _notify(db: Session, user_id: int, title: str, body: str = "", url: str | None = None) -> None:
    db.add(Notification(user_id=user_id, title=title, body=body, url=url, created_at=utcnow()))


def _event(db: Session, task: Task, action: str, actor: Principal, note: str = "") -> None:
    db.add(TaskEvent(task_id=task.id, action=action, note=note, actor_name=actor.display_name, at=utcnow()))


def _bind_attachments(
    db: Session, actor: Principal, attachments: dict[str, int], keys: set[str]
) -> dict[str, Attachment]:
    bound: dict[str, Attachment] = {}
    errors = []
    wanted = list(attachments.values())
    stmt = select(Attachment).where(Attachment.id.in_(wanted))
    rows = {a.id: a for a in db.execute(stmt).scalars()} if wanted else {}
    for key, attachment_id in attachments.items():
        row = rows.get(attachment_id)
        if key not in keys:
            errors.append({"material": key, "message": "该办件不需要这份材料"})
        elif row is None or row.owner_id != actor.user_id:
            errors.append({"material": key, "message": f"附件 {attachment_id} 不存在"})
        elif row.application_id is not None:
            errors.append({"material": key, "message": f"附件 {attachment_id} 已用于其他办件"})
        elif row.material_key != key:
            errors.append({"material": key, "message": f"附件 {attachment_id} 是为材料 {row.material_key} 上传的"})
        else:
            bound[key] = row
    if errors:
        raise ValidationFailed(
            "附件有误：" + "；".join(e["message"] for e in errors), code="attachments_invalid", details=errors
        )
    return bound


def submit_application(
    db: Session, *, actor: Principal, data: ApplicationCreate, cipher: FieldCipher
) -> ApplicationRead:
    """Apply for an item or a bundle: validate the form, satisfy materials, fan out one task per department."""
    if actor.kind not in ("citizen", "enterprise") or actor.user_id is None:
        raise PermissionDenied("只有个人和企业账号可以申请办理", code="applicant_only")
    title, bundle, rows = _target(db, item_code=data.item_code, bundle_code=data.bundle_code)
    items, fields, materials = _definitions(db, bundle, rows)
    audience = bundle.audience if bundle else rows[0].audience
    if audience not in ("both", actor.kind):
        raise ValidationFailed("该事项的服务对象不是您的账号类型", code="wrong_audience")
    values = dict(data.form)
    # Only what the form leaves out is pre-filled: a clear read of personal data the applicant already
    # sent would be needless, and its audit entry would hold the audit chain for the whole submission.
    for name, value in _profile(db, actor, cipher, [f for f in fields if f.name not in values]).items():
        values.setdefault(name, value)
    cleaned = validate_form(fields, values)
    bound = _bind_attachments(db, actor, data.attachments, {m.key for m in materials})
    available = (
        _availability(db, actor, materials)
        if data.consent
        else {k: v for k, v in _availability(db, actor, materials).items() if v[0] == "bundle_item"}
    )
    claims, missing = [], []
    for m in materials:
        if m.key in bound:
            claims.append((m, "upload", str(bound[m.key].id), bound[m.key].filename))
        elif m.key in available:
            source, reference, note = available[m.key]
            claims.append((m, source, reference, note))
        elif m.required:
            hint = "（同意授权后可免于提交）" if m.source in ("certificate", "database") and not data.consent else ""
            missing.append({"material": m.key, "name": m.name, "message": f"未提交{hint}"})
        else:
            claims.append((m, "missing", None, "选交材料，未提交"))
    if missing:
        raise ValidationFailed(
            "缺少申请材料：" + "、".join(x["name"] for x in missing), code="materials_missing", details=missing
        )
    now = utcnow()
    number = _next_number(db)
    form = personal.split(fields, cleaned)
    application = Application(
        number=number,
        applicant_id=actor.user_id,
        applicant_name=actor.display_name,
        applicant_kind=actor.kind,
        item_id=None if bundle else rows[0].id,
        bundle_id=bundle.id if bundle else None,
        title=title,
        status="processing",
        form_data=json.dumps(form.stored, ensure_ascii=False),
        personal_data=personal.seal(cipher, number, form.personal),
        submitted_at=now,
    )
    db.add(application)
    db.flush()
    if claims:  # an empty executemany would insert one row of defaults
        db.execute(
            insert(MaterialClaim),
            [
                {
                    "application_id": application.id,
                    "material_key": m.key,
                    "name": m.name,
                    "satisfied_by": source,
                    "reference": reference,
                    "note": note[:200],
                }
                for m, source, reference, note in claims
            ],
        )
    for attachment in bound.values():
        attachment.application_id = application.id
    used_certs = [(m, ref) for m, source, ref, _ in claims if source == "certificate"]
    if data.consent:
        scope = {
            "certificates": [ref for _, ref in used_certs],
            "databases": sorted({ref for _, s, ref, _ in claims if s == "database"}),
        }
        db.add(
            Consent(
                application_id=application.id,
                user_id=actor.user_id,
                text=CONSENT_TEXT,
                scope=json.dumps(scope, ensure_ascii=False),
                given_at=now,
            )
        )
    department_ids = {r.department_code: r.department_id for r in rows}
    _create_tasks(db, actor, application, items, department_ids, now.astimezone(SHANGHAI).date())
    _notify(
        db,
        actor.user_id,
        f"已提交：{title}",
        f"办件编号 {application.number}",
        f"/onestop/applications/{application.number}",
    )
    db.flush()
    submitted = get_application(db, actor=actor, number=application.number)
    # Every audited write in the city queues on the audit chain's head row, held from the first append
    # to the commit: append last, once everything else (the answer included) is done.
    certs_service.record_uses(
        db,
        actor=actor,
        holder_user_id=actor.user_id,
        uses=[(identifier or "", f"免于提交“{m.name}”") for m, identifier in used_certs],
        used_by=f"一网通办：{title}",
        reference=application.number,
        consent_reference=application.number,
    )
    audit.record(
        db,
        actor=actor,
        action="onestop.application.submit",
        target_type="application",
        target_id=application.number,
        details={
            "target": data.bundle_code or data.item_code,
            "materials": len(claims),
            "certificates": len(used_certs),
            "consent": data.consent,
        },
    )
    events.publish(db, ApplicationSubmitted(number=application.number, applicant_id=actor.user_id))
    return submitted


def _create_tasks(
    db: Session,
    actor: Principal,
    application: Application,
    items: list[ItemRead],
    department_ids: dict[str, int],
    start: date,
) -> None:
    by_department: dict[str, list[ItemRead]] = defaultdict(list)
    for item in items:
        by_department[item.department_code].append(item)
    overrides = calendar_overrides(db)
    tasks: list[Task] = []
    for code, department_items in by_department.items():
        promised = max(i.promised_days for i in department_items)
        task = Task(
            application_id=application.id,
            department_id=department_ids[code],
            department_code=code,
            item_codes=json.dumps([i.code for i in department_items]),
            title="、".join(i.name for i in department_items)[:200],
            stage="received",
            promised_days=promised,
            start_date=start,
            due_date=workdays.add_working_days(start, promised, overrides),
            paused_days=0,
            supplement_count=0,
            certificates="[]",
        )
        tasks.append(task)
    db.add_all(tasks)
    db.flush()
    for task in tasks:
        _event(db, task, "提交", actor, "申请人在线提交")


def _task_read(
    task: Task,
    application_number: str,
    department_name: str,
    overrides: dict[date, bool],
    events_: list[TaskEvent] | None = None,
    on: date | None = None,
    names_shown: dict[str, str] | None = None,
) -> TaskRead:
    """`names_shown` replaces actor names in the history (the applicant's, masked for staff)."""
    on = on or today()
    paused = task.stage == "supplement"
    due = task.due_date
    if paused and task.paused_since:
        due = workdays.add_working_days(due, workdays.working_days_between(task.paused_since, on, overrides), overrides)
    open_ = task.stage in OPEN_STAGES
    if due >= on:
        remaining = workdays.working_days_between(on, due, overrides)
    else:
        remaining = -workdays.working_days_between(due, on, overrides)
    overdue = open_ and not paused and on > due
    warning = open_ and not overdue and not paused and remaining <= max(1, task.promised_days // 5)
    return TaskRead(
        id=task.id,
        application_number=application_number,
        department_code=task.department_code,
        department_name=department_name,
        title=task.title,
        item_codes=json.loads(task.item_codes),
        stage=task.stage,
        stage_name=STAGE_NAMES[task.stage],
        decision=task.decision,
        decision_reason=task.decision_reason,
        start_date=task.start_date,
        due_date=due,
        remaining_days=remaining,
        overdue=overdue,
        warning=warning,
        paused=paused,
        paused_days=task.paused_days,
        supplement_list=json.loads(task.supplement_list or "[]"),
        certificates=json.loads(task.certificates or "[]"),
        events=[_event_read(e, names_shown or {}) for e in events_ or []],
    )


def _event_read(event: TaskEvent, names_shown: dict[str, str]) -> EventRead:
    read = EventRead.model_validate(event)
    read.actor_name = names_shown.get(event.actor_name, event.actor_name)
    return read


def _department_names(db: Session) -> dict[str, str]:
    return {d.code: d.short_name for d in org_service.list_departments(db, include_inactive=True)}


def _application(db: Session, number: str) -> Application:
    catalog.check_text(number)
    row = db.execute(select(Application).where(Application.number == number)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"办件 {number} 不存在")
    return row


def _tasks(db: Session, application_id: int) -> list[Task]:
    return list(db.execute(select(Task).where(Task.application_id == application_id).order_by(Task.id)).scalars())


def _check_can_view(actor: Principal, application: Application, tasks: list[Task]) -> None:
    if actor.user_id == application.applicant_id:
        return
    if actor.kind == "staff" and (
        actor.has(SCOPE_ALL_DEPARTMENTS) or any(actor.can_reach_department(t.department_id) for t in tasks)
    ):
        return
    raise PermissionDenied("无权查看该办件")


def _applicant_name(actor: Principal, application: Application) -> str:
    """A citizen's name is personal data: masked for everyone but the applicant (a company's is not)."""
    if application.applicant_kind != "citizen" or actor.user_id == application.applicant_id:
        return application.applicant_name
    return mask_name(application.applicant_name) or ""


def get_application(db: Session, *, actor: Principal, number: str) -> ApplicationRead:
    """An application with every department's task, for its applicant or the departments handling it."""
    application = _application(db, number)
    tasks = _tasks(db, application.id)
    _check_can_view(actor, application, tasks)
    names, overrides = _department_names(db), calendar_overrides(db)
    events_by_task: dict[int, list[TaskEvent]] = defaultdict(list)
    if tasks:
        for e in db.execute(
            select(TaskEvent).where(TaskEvent.task_id.in_([t.id for t in tasks])).order_by(TaskEvent.id)
        ).scalars():
            events_by_task[e.task_id].append(e)
    claims = db.execute(
        select(MaterialClaim).where(MaterialClaim.application_id == application.id).order_by(MaterialClaim.id)
    ).scalars()
    rating = db.execute(select(Rating.score).where(Rating.application_id == application.id)).scalar_one_or_none()
    consent = db.execute(select(Consent.id).where(Consent.application_id == application.id)).first() is not None
    target = (
        db.get(Bundle, application.bundle_id).code
        if application.bundle_id
        # type: ignore[union-attr]
        else db.get(ServiceItem, application.item_id).code
    )  # type: ignore[union-attr]
    return ApplicationRead(
        number=application.number,
        title=application.title,
        kind="bundle" if application.bundle_id else "item",
        target_code=target,
        applicant_name=_applicant_name(actor, application),
        status=application.status,
        outcome=application.outcome,
        submitted_at=application.submitted_at,
        completed_at=application.completed_at,
        form=json.loads(application.form_data),
        has_personal=application.personal_data is not None,
        tasks=[
            _task_read(
                t,
                application.number,
                names.get(t.department_code, t.department_code),
                overrides,
                events_by_task[t.id],
                names_shown={application.applicant_name: _applicant_name(actor, application)},
            )
            for t in tasks
        ],
        claims=[ClaimRead.model_validate(c) for c in claims],
        consent_given=consent,
        rating=rating,
        can_rate=application.status == "completed" and rating is None and actor.user_id == application.applicant_id,
    )


def my_applications(db: Session, *, actor: Principal, limit: int = 100) -> list[ApplicationBrief]:
    rows = db.execute(
        select(Application, Rating.score)
        .outerjoin(Rating, Rating.application_id == Application.id)
        .where(Application.applicant_id == actor.user_id)
        .order_by(Application.id.desc())
        .limit(limit)
    ).all()
    return [
        ApplicationBrief(
            number=a.number,
            title=a.title,
            status=a.status,
            outcome=a.outcome,
            submitted_at=a.submitted_at,
            completed_at=a.completed_at,
            rating=score,
        )
        for a, score in rows
    ]


# ---- the workflow ----------------------------------------------------------------------------


def _task_for(db: Session, actor: Principal, task_id: int) -> tuple[Task, Application]:
    task = db.get(Task, task_id)
    if task is None:
        raise NotFound("办理任务不存在")
    check_department_scope(actor, task.department_id)
    application = db.get(Application, task.application_id)
    assert application is not None
    return task, application


def _require_stage(task: Task, *stages: str) -> None:
    if task.stage not in stages:
        names = "、".join(STAGE_NAMES[s] for s in stages)
        raise Conflict(f"当前环节为“{STAGE_NAMES[task.stage]}”，此操作只能在“{names}”环节进行", code="wrong_stage")


def _refresh(db: Session, application: Application) -> None:
    tasks = _tasks(db, application.id)
    if all(t.stage == "done" for t in tasks):
        decisions = {t.decision for t in tasks}
        application.outcome = (
            "approved" if decisions == {"approved"} else "refused" if decisions == {"refused"} else "partly_refused"
        )
        if application.status != "completed":
            application.status, application.completed_at = "completed", utcnow()
            outcome = {"approved": "全部准予", "refused": "不予许可", "partly_refused": "部分事项不予许可"}[
                application.outcome
            ]
            _notify(
                db,
                application.applicant_id,
                f"已办结：{application.title}",
                f"办理结果：{outcome}。欢迎对本次服务进行评价。",
                f"/onestop/applications/{application.number}",
            )
    elif any(t.stage == "supplement" for t in tasks):
        application.status = "supplement"
    else:
        application.status = "processing"


def accept_task(db: Session, *, actor: Principal, task_id: int) -> TaskRead:
    """受理: the department accepts the application and starts review."""
    task, application = _task_for(db, actor, task_id)
    _require_stage(task, "received")
    task.stage, task.accepted_at, task.handler_id = "review", utcnow(), actor.user_id
    _event(db, task, "受理", actor)
    _refresh(db, application)
    return _done(db, actor, task, application, "onestop.task.accept")


def request_supplement(db: Session, *, actor: Principal, task_id: int, data: SupplementRequest) -> TaskRead:
    """补正 (一次性告知): list everything missing at once; the clock pauses until the applicant answers."""
    task, application = _task_for(db, actor, task_id)
    if task.supplement_count >= 1:
        raise Conflict("已经一次性告知过补正内容，不能再次要求补正", code="supplement_once")
    _require_stage(task, "received", "review")
    listing = [item.model_dump() for item in data.items]
    task.paused_stage, task.stage, task.paused_since = task.stage, "supplement", today()
    task.supplement_count += 1
    task.supplement_list = json.dumps(listing, ensure_ascii=False)
    text = "；".join(f"{x['name']}（{x['reason']}）" for x in listing)
    _event(db, task, "一次性告知补正", actor, text)
    _notify(
        db,
        application.applicant_id,
        f"请补正材料：{application.title}",
        f"{task.department_code} 一次性告知：{text}",
        f"/onestop/applications/{application.number}",
    )
    _refresh(db, application)
    return _done(db, actor, task, application, "onestop.task.request_supplement", {"items": listing})


def submit_supplement(
    db: Session, *, actor: Principal, number: str, data: SupplementSubmit, cipher: FieldCipher
) -> ApplicationRead:
    """The applicant answers a supplement request; paused working days extend each task's deadline."""
    application = _application(db, number)
    if application.applicant_id != actor.user_id:
        raise PermissionDenied("只有申请人可以补正")
    waiting = [t for t in _tasks(db, application.id) if t.stage == "supplement"]
    if not waiting:
        raise Conflict("该办件没有待补正的内容", code="no_supplement")
    if data.attachments:
        keys = {
            c.material_key
            for c in db.execute(select(MaterialClaim).where(MaterialClaim.application_id == application.id)).scalars()
        }
        for key, attachment in _bind_attachments(db, actor, data.attachments, keys).items():
            attachment.application_id = application.id
            claim = db.execute(
                select(MaterialClaim).where(
                    MaterialClaim.application_id == application.id, MaterialClaim.material_key == key
                )
            ).scalar_one()
            claim.satisfied_by, claim.reference, claim.note = (
                "upload",
                str(attachment.id),
                f"补正：{attachment.filename}",
            )
    if data.form:
        _amend_form(db, application, data.form, cipher)
    overrides, on = calendar_overrides(db), today()
    for task in waiting:
        paused = workdays.working_days_between(task.paused_since or on, on, overrides)
        task.paused_days += paused
        task.due_date = workdays.add_working_days(task.start_date, task.promised_days + task.paused_days, overrides)
        task.stage, task.paused_stage, task.paused_since = task.paused_stage or "received", None, None
        _event(db, task, "申请人已补正", actor, data.note or f"暂停 {paused} 个工作日")
    _refresh(db, application)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="onestop.application.supplement",
        target_type="application",
        target_id=number,
        details={"attachments": sorted(data.attachments), "fields": sorted(data.form)},
    )
    return get_application(db, actor=actor, number=number)


def _form_fields(db: Session, application: Application) -> list[FormField]:
    """The (merged) form the application was made with."""
    if application.bundle_id:
        bundle = db.get(Bundle, application.bundle_id)
        assert bundle is not None
        return _definitions(db, bundle, catalog.bundle_items(db, bundle))[1]
    item = db.get(ServiceItem, application.item_id)
    assert item is not None
    return _definitions(db, None, [item])[1]


def _amend_form(db: Session, application: Application, values: dict[str, Any], cipher: FieldCipher) -> None:
    """Corrected form values from a supplement: checked like the form, personal ones sealed again."""
    fields = _form_fields(db, application)
    cleaned = validate_form([f for f in fields if f.name in values], values)
    amended = personal.split(fields, cleaned)
    application.form_data = json.dumps(json.loads(application.form_data) | amended.stored, ensure_ascii=False)
    if amended.personal:
        held = personal.unseal(cipher, application.number, application.personal_data)
        application.personal_data = personal.seal(cipher, application.number, held | amended.personal)


def read_personal_clear(
    db: Session, *, actor: Principal, number: str, cipher: FieldCipher, reason: str
) -> ApplicationPersonalRead:
    """The personal fields of an application's form in clear: for its applicant, or for staff who may see
    the application and hold the clear-read permission. Every read, and every refusal, is audited."""
    application = _application(db, number)
    own = actor.user_id is not None and actor.user_id == application.applicant_id
    if not own:
        _check_can_view(actor, application, _tasks(db, application.id))
        if not actor.has(PERSONAL_READ_CLEAR):
            audit.record(
                db,
                actor=actor,
                action="personal.read_clear",
                target_type="application",
                target_id=number,
                outcome=audit.OUTCOME_DENIED,
                details={"reason": reason},
            )
            raise PermissionDenied(
                "没有查看个人信息明文的权限", details={"missing": [PERSONAL_READ_CLEAR]}, commit=True
            )
    fields = personal.unseal(cipher, number, application.personal_data)
    audit.record(
        db,
        actor=actor,
        action="personal.read_clear",
        target_type="application",
        target_id=number,
        details={"fields": ["applicant_name", *sorted(fields)], "reason": reason, "own": own},
    )
    return ApplicationPersonalRead(number=number, applicant_name=application.applicant_name, fields=fields)


def review_task(db: Session, *, actor: Principal, task_id: int, note: str = "") -> TaskRead:
    """审查 done: pass the task on to the decision."""
    task, application = _task_for(db, actor, task_id)
    _require_stage(task, "review")
    task.stage = "decision"
    _event(db, task, "审查完成", actor, note)
    return _done(db, actor, task, application, "onestop.task.review")


def decide_task(db: Session, *, actor: Principal, task_id: int, data: DecisionInput) -> TaskRead:
    """决定: approve, or refuse with reasons; a refusal is shown to the applicant and the other departments."""
    task, application = _task_for(db, actor, task_id)
    _require_stage(task, "decision")
    task.stage, task.decision, task.decision_reason, task.decided_at = "decided", data.decision, data.reason, utcnow()
    _event(db, task, "准予" if data.decision == "approved" else "不予许可", actor, data.reason or "")
    if data.decision == "refused":
        for sibling in _tasks(db, application.id):
            if sibling.id != task.id:
                _event(db, sibling, "联办部门不予许可", actor, f"{task.department_code}：{data.reason}")
        _notify(
            db,
            application.applicant_id,
            f"不予许可：{task.title}",
            f"理由：{data.reason}",
            f"/onestop/applications/{application.number}",
        )
    return _done(
        db, actor, task, application, "onestop.task.decide", {"decision": data.decision, "reason": data.reason}
    )


def complete_task(
    db: Session, *, actor: Principal, task_id: int, keys: "certs_service.KeyStore", origin: str
) -> TaskRead:
    """办结: close the task; an approved item that produces a certificate issues it into the wallet."""
    task, application = _task_for(db, actor, task_id)
    # Two completions at once must not both pass the stage check and issue two certificates: the
    # second waits for the first to commit and then sees the task done (SQLite's writer lock does this).
    db.refresh(task, with_for_update=True)
    _require_stage(task, "decided")
    issued: list[str] = []
    if task.decision == "approved":
        account = org_service.get_account(db, user_id=application.applicant_id)
        producing = [
            item for code in json.loads(task.item_codes) if (item := catalog.item_row(db, code)).produces_type_code
        ]
        # The type's issuing department signs, never simply whoever approved: every certificate is
        # checked before the first is issued, so a refusal leaves nothing half done.
        for item in producing:
            certs_service.issuing_department(db, actor=actor, type_code=item.produces_type_code or "")
        for item in producing:
            if item.produces_type_code:
                cert = certs_service.issue_certificate(
                    db,
                    actor=actor,
                    keys=keys,
                    origin=origin,
                    type_code=item.produces_type_code,
                    holder_user_id=application.applicant_id,
                    holder_name=account.display_name,
                    holder_code_masked=account.credit_code,
                    data={"事项": item.name, "办件编号": application.number},
                    source=application.number,
                )
                issued.append(cert.identifier)
    overrides = calendar_overrides(db)
    on = today()
    task.stage, task.completed_at, task.certificates = "done", utcnow(), json.dumps(issued)
    task.used_working_days = max(0, workdays.working_days_between(task.start_date, on, overrides) - task.paused_days)
    _event(db, task, "办结", actor, ("颁发电子证照 " + "、".join(issued)) if issued else "")
    if issued:
        _notify(db, application.applicant_id, "电子证照已归集到证照夹", "、".join(issued), "/certs/wallet")
    _refresh(db, application)
    return _done(db, actor, task, application, "onestop.task.complete", {"certificates": issued})


def _done(
    db: Session,
    actor: Principal,
    task: Task,
    application: Application,
    action: str,
    details: dict[str, Any] | None = None,
) -> TaskRead:
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=action,
        target_type="task",
        target_id=task.id,
        details={"application": application.number, "stage": task.stage} | (details or {}),
    )
    events.publish(db, TaskChanged(task_id=task.id, application=application.number, stage=task.stage))
    return get_task(db, actor=actor, task_id=task.id)


def get_task(db: Session, *, actor: Principal, task_id: int) -> TaskRead:
    task, application = _task_for(db, actor, task_id)
    events_ = list(db.execute(select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.id)).scalars())
    name = _department_names(db).get(task.department_code, task.department_code)
    shown = {application.applicant_name: _applicant_name(actor, application)}
    return _task_read(task, application.number, name, calendar_overrides(db), events_, names_shown=shown)


def task_queue(
    db: Session, *, actor: Principal, stage: str | None = None, overdue_only: bool = False, limit: int = 200
) -> list[TaskRead]:
    """The tasks of the caller's department (and sub-units); all departments with the cross scope."""
    catalog.check_text(stage)
    stmt = select(Task, Application.number).join(Application, Application.id == Task.application_id)
    if not actor.has(SCOPE_ALL_DEPARTMENTS):
        stmt = stmt.where(Task.department_id.in_(actor.scope_department_ids or {-1}))
    stmt = stmt.where(Task.stage == stage) if stage else stmt.where(Task.stage.in_(OPEN_STAGES))
    if overdue_only:
        stmt = stmt.where(Task.due_date < today(), Task.stage != "supplement")
    rows = db.execute(stmt.order_by(Task.due_date, Task.id).limit(limit)).all()
    names, overrides, on = _department_names(db), calendar_overrides(db), today()
    return [
        _task_read(t, number, names.get(t.department_code, t.department_code), overrides, on=on) for t, number in rows
    ]


def department_figures(db: Session, *, actor: Principal) -> list[DepartmentFigures]:
    """Per department in the caller's scope: pending, overdue, completed, refused, average working days."""
    stmt = select(
        Task.department_code, Task.stage, Task.decision, Task.due_date, Task.used_working_days, Task.department_id
    )
    if not actor.has(SCOPE_ALL_DEPARTMENTS):
        stmt = stmt.where(Task.department_id.in_(actor.scope_department_ids or {-1}))
    figures: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"pending": 0, "overdue": 0, "completed": 0, "refused": 0, "days": []}
    )
    on = today()
    for code, stage, decision, due, used, _ in db.execute(stmt):
        f = figures[code]
        if stage == "done":
            f["completed"] += 1
            f["days"].append(used or 0)
            f["refused"] += decision == "refused"
        else:
            f["pending"] += 1
            f["overdue"] += stage != "supplement" and due < on
    return [
        DepartmentFigures(
            department_code=code,
            pending=f["pending"],
            overdue=f["overdue"],
            completed=f["completed"],
            refused=f["refused"],
            avg_working_days=round(sum(f["days"]) / len(f["days"]), 1) if f["days"] else 0.0,
        )
        for code, f in sorted(figures.items())
    ]


# ---- ratings and follow-ups ------------------------------------------------------------------


def rate_application(db: Session, *, actor: Principal, number: str, data: RatingCreate) -> RatingRead:
    """好差评 after completion; a 1 or 2 opens a follow-up for the lead department, due in 15 working days."""
    application = _application(db, number)
    if application.applicant_id != actor.user_id:
        raise PermissionDenied("只有申请人可以评价")
    if application.status != "completed":
        raise Conflict("办结后才能评价", code="not_completed")
    if db.execute(select(Rating.id).where(Rating.application_id == application.id)).first():
        raise Conflict("该办件已评价", code="already_rated")
    rating = Rating(
        application_id=application.id,
        user_id=actor.user_id,
        score=data.score,
        comment=data.comment,
        created_at=utcnow(),
    )
    db.add(rating)
    db.flush()
    followup_id = None
    if data.score <= 2:
        if application.bundle_id:
            lead = db.get(Bundle, application.bundle_id).lead_department_code  # type: ignore[union-attr]
        else:
            lead = db.get(ServiceItem, application.item_id).department_code  # type: ignore[union-attr]
        department = org_service.get_department_by_code(db, code=lead)
        followup = FollowUp(
            rating_id=rating.id,
            application_id=application.id,
            department_id=department.id,
            department_code=lead,
            due_date=add_working_days(db, start=today(), days=FOLLOWUP_WORKING_DAYS),
            status="open",
            created_at=utcnow(),
        )
        db.add(followup)
        db.flush()
        followup_id = followup.id
    audit.record(
        db,
        actor=actor,
        action="onestop.application.rate",
        target_type="application",
        target_id=number,
        details={"score": data.score, "followup": followup_id},
    )
    events.publish(db, ApplicationRated(number=number, score=data.score))
    return RatingRead(
        application_number=number,
        score=data.score,
        comment=data.comment,
        created_at=rating.created_at,
        followup_id=followup_id,
    )


def _followup_read(f: FollowUp, number: str, rating: Rating, on: date) -> FollowUpRead:
    return FollowUpRead(
        id=f.id,
        application_number=number,
        department_code=f.department_code,
        score=rating.score,
        comment=rating.comment,
        due_date=f.due_date,
        status=f.status,
        overdue=f.status == "open" and on > f.due_date,
        resolution=f.resolution,
    )


def list_followups(db: Session, *, actor: Principal, open_only: bool = True) -> list[FollowUpRead]:
    stmt = (
        select(FollowUp, Application.number, Rating)
        .join(Application, Application.id == FollowUp.application_id)
        .join(Rating, Rating.id == FollowUp.rating_id)
    )
    if not actor.has(SCOPE_ALL_DEPARTMENTS):
        stmt = stmt.where(FollowUp.department_id.in_(actor.scope_department_ids or {-1}))
    if open_only:
        stmt = stmt.where(FollowUp.status == "open")
    on = today()
    return [_followup_read(f, n, r, on) for f, n, r in db.execute(stmt.order_by(FollowUp.due_date).limit(200))]


def close_followup(db: Session, *, actor: Principal, followup_id: int, resolution: str) -> FollowUpRead:
    """差评整改: record the rectification and close the follow-up."""
    followup = db.get(FollowUp, followup_id)
    if followup is None:
        raise NotFound("整改任务不存在")
    check_department_scope(actor, followup.department_id)
    if followup.status != "open":
        raise Conflict("整改任务已关闭")
    followup.status, followup.resolution, followup.closed_at = "closed", resolution, utcnow()
    application = db.get(Application, followup.application_id)
    rating = db.get(Rating, followup.rating_id)
    assert application is not None and rating is not None
    _notify(
        db,
        application.applicant_id,
        f"差评整改已完成：{application.title}",
        resolution,
        f"/onestop/applications/{application.number}",
    )
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="onestop.followup.close",
        target_type="followup",
        target_id=followup_id,
        details={"application": application.number},
    )
    return _followup_read(followup, application.number, rating, today())


# ---- notifications ---------------------------------------------------------------------------


def notifications(db: Session, *, actor: Principal, limit: int = 50) -> list[NotificationRead]:
    rows = db.execute(
        select(Notification).where(Notification.user_id == actor.user_id).order_by(Notification.id.desc()).limit(limit)
    ).scalars()
    return [NotificationRead.model_validate(n) for n in rows]


def mark_read(db: Session, *, actor: Principal, notification_id: int) -> None:
    row = db.get(Notification, notification_id)
    if row is None or row.user_id != actor.user_id:
        raise NotFound("通知不存在")
    row.read_at = row.read_at or utcnow()
    db.flush()


# ---- uploads ---------------------------------------------------------------------------------


def upload_material(
    db: Session,
    *,
    actor: Principal,
    files_dir: Path,
    material_key: str,
    filename: str,
    content: bytes,
    max_pages: int = uploads.MAX_PDF_PAGES,
) -> Any:
    """Check and store a file for a material of a coming application (see uploads.py)."""
    if actor.user_id is None:
        raise PermissionDenied()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", material_key):
        raise ValidationFailed("材料代码格式错误", code="bad_material_key")
    return uploads.store(
        db,
        actor=actor,
        files_dir=files_dir,
        material_key=material_key,
        filename=filename,
        content=content,
        max_pages=max_pages,
    )


def material_page_limit(db: Session, *, material_key: str, item_code: str | None, bundle_code: str | None) -> int:
    """The page limit of a material as the item or bundle defines it."""
    _, bundle, rows = _target(db, item_code=item_code, bundle_code=bundle_code)
    for m in _definitions(db, bundle, rows)[2]:
        if m.key == material_key:
            return m.max_pages
    raise ValidationFailed(f"该办件不需要材料 {material_key}", code="unknown_material")


# ---- figures ---------------------------------------------------------------------------------


def applications_since(db: Session, *, since: datetime) -> int:
    """How many applications were submitted at or after `since` (the city signs count today's)."""
    return db.execute(select(func.count(Application.id)).where(Application.submitted_at >= since)).scalar_one()


def indicator_figures(db: Session) -> IndicatorFigures:
    """Indicators 6–9 of the plan and time against promise, computed from the platform's own records."""
    active = db.execute(select(func.count(ServiceItem.id)).where(ServiceItem.active.is_(True))).scalar_one()
    online = db.execute(
        select(func.count(ServiceItem.id)).where(ServiceItem.active.is_(True), ServiceItem.online.is_(True))
    ).scalar_one()
    bundles = db.execute(select(func.count(Bundle.id)).where(Bundle.active.is_(True))).scalar_one()
    exempt = db.execute(
        select(func.count(func.distinct(ItemMaterial.item_id)))
        .join(ServiceItem, ServiceItem.id == ItemMaterial.item_id)
        .where(ServiceItem.active.is_(True), ItemMaterial.source.in_(["certificate", "database"]))
    ).scalar_one()
    entry_items = db.execute(
        select(func.count(ServiceItem.id)).where(ServiceItem.active.is_(True), ServiceItem.entry_point.is_(True))
    ).scalar_one()
    entry_bundles = db.execute(
        select(func.count(Bundle.id)).where(Bundle.active.is_(True), Bundle.entry_point.is_(True))
    ).scalar_one()
    applications = db.execute(select(func.count(Application.id))).scalar_one()
    completed = db.execute(select(func.count(Application.id)).where(Application.status == "completed")).scalar_one()
    overdue = db.execute(
        select(func.count(Task.id)).where(
            Task.stage.in_(["received", "review", "decision", "decided"]), Task.due_date < today()
        )
    ).scalar_one()
    per_item: dict[str, list[int]] = defaultdict(list)
    promised_all, used_all = [], []
    for codes, used, promised in db.execute(
        select(Task.item_codes, Task.used_working_days, Task.promised_days).where(Task.stage == "done")
    ):
        used_all.append(used or 0)
        promised_all.append(promised)
        for code in json.loads(codes):
            per_item[code].append(used or 0)
    items = (
        {i.code: i for i in db.execute(select(ServiceItem).where(ServiceItem.code.in_(list(per_item)))).scalars()}
        if per_item
        else {}
    )
    ratings = db.execute(select(Rating.score)).scalars().all()
    return IndicatorFigures(
        active_items=active,
        online_items=online,
        online_rate=round(100.0 * online / active, 1) if active else 0.0,
        bundle_count=bundles,
        exempt_material_items=exempt,
        entry_point_services=entry_items + entry_bundles,
        applications=applications,
        completed=completed,
        overdue_tasks=overdue,
        avg_working_days=round(sum(used_all) / len(used_all), 2) if used_all else 0.0,
        avg_promised_days=round(sum(promised_all) / len(promised_all), 2) if promised_all else 0.0,
        satisfaction=round(100.0 * sum(1 for s in ratings if s >= 4) / len(ratings), 1) if ratings else None,
        per_item=sorted(
            (
                ItemTime(
                    item_code=code,
                    item_name=items[code].name,
                    completed=len(days),
                    avg_working_days=round(sum(days) / len(days), 2),
                    promised_days=items[code].promised_days,
                )
                for code, days in per_item.items()
                if code in items
            ),
            key=lambda x: x.item_code,
        ),
    )


# ---- workbench -------------------------------------------------------------------------------


def pending_work(db: Session, principal: Principal) -> list[WorkItem]:
    """Open tasks and follow-ups of the handler's department, for /workbench."""
    from yiwang.onestop.permissions import TASK_HANDLE

    if not principal.has(TASK_HANDLE):
        return []
    items = [
        WorkItem(
            source="一网通办",
            title=f"{t.stage_name}：{t.title}（{t.application_number}）",
            url=f"/onestop/tasks/{t.id}",
            due_at=datetime.combine(t.due_date, time(17, 30), SHANGHAI),
            overdue=t.overdue,
        )
        for t in task_queue(db, actor=principal, limit=50)
        if t.stage != "supplement"
    ]
    items += [
        WorkItem(
            source="一网通办·差评整改",
            title=f"差评整改：{f.application_number}（{f.score}分）",
            url="/onestop/tasks#followups",
            overdue=f.overdue,
        )
        for f in list_followups(db, actor=principal)
    ]
    return items
