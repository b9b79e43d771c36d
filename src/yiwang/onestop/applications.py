"""Applications: submitting one (one task per department), reading it, its personal fields and uploads."""

import json
import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from yiwang.certs import service as certs_service
from yiwang.core import audit, events, workdays
from yiwang.core.crypto import FieldCipher
from yiwang.core.db import next_counter_value
from yiwang.core.errors import PermissionDenied, ValidationFailed
from yiwang.core.permissions import PERSONAL_READ_CLEAR
from yiwang.core.security import Principal
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.onestop import clock, personal, uploads
from yiwang.onestop.clock import calendar_overrides, task_read
from yiwang.onestop.forms import availability, definitions, profile_values, resolve_target, validate_form
from yiwang.onestop.models import (
    Application,
    Attachment,
    Bundle,
    Consent,
    Counter,
    MaterialClaim,
    Rating,
    ServiceItem,
    Task,
    TaskEvent,
)
from yiwang.onestop.records import (
    application_row,
    check_can_view,
    department_names,
    notify,
    record_event,
    shown_applicant_name,
    tasks_of,
)
from yiwang.onestop.schemas import (
    ApplicationBrief,
    ApplicationCreate,
    ApplicationPersonalRead,
    ApplicationRead,
    ApplicationSubmitted,
    ClaimRead,
    ItemRead,
    MergedMaterial,
)

CONSENT_TEXT = "本人同意政务服务机构在本次办理中调取本人的电子证照和基础库信息，用于核验和免于提交相应材料。"


def _next_number(db: Session) -> str:
    day = clock.today().strftime("%Y%m%d")
    return f"BJ-{day}-{next_counter_value(db, Counter, key={'day': day}):06d}"


def bind_attachments(
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
    title, bundle, rows = resolve_target(db, item_code=data.item_code, bundle_code=data.bundle_code)
    items, fields, materials = definitions(db, bundle, rows)
    audience = bundle.audience if bundle else rows[0].audience
    if audience not in ("both", actor.kind):
        raise ValidationFailed("该事项的服务对象不是您的账号类型", code="wrong_audience")
    values = dict(data.form)
    # Only what the form leaves out is pre-filled: a clear read of personal data the applicant already
    # sent would be needless, and its audit entry would hold the audit chain for the whole submission.
    for name, value in profile_values(db, actor, cipher, [f for f in fields if f.name not in values]).items():
        values.setdefault(name, value)
    cleaned = validate_form(fields, values)
    bound = bind_attachments(db, actor, data.attachments, {m.key for m in materials})
    available = (
        availability(db, actor, materials)
        if data.consent
        else {k: v for k, v in availability(db, actor, materials).items() if v[0] == "bundle_item"}
    )
    claims: list[tuple[MergedMaterial, str, str | None, str]] = []
    missing: list[dict[str, str]] = []
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
            "databases": sorted({ref for _, s, ref, _ in claims if s == "database" and ref is not None}),
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
    notify(
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
        record_event(db, task, "提交", actor, "申请人在线提交")


def get_application(db: Session, *, actor: Principal, number: str) -> ApplicationRead:
    """An application with every department's task, for its applicant or the departments handling it."""
    application = application_row(db, number)
    tasks = tasks_of(db, application.id)
    check_can_view(actor, application, tasks)
    names, overrides = department_names(db), calendar_overrides(db)
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
        db.get_one(Bundle, application.bundle_id).code
        if application.bundle_id
        else db.get_one(ServiceItem, application.item_id).code
    )
    return ApplicationRead(
        number=application.number,
        title=application.title,
        kind="bundle" if application.bundle_id else "item",
        target_code=target,
        applicant_name=shown_applicant_name(actor, application),
        status=application.status,
        outcome=application.outcome,
        submitted_at=application.submitted_at,
        completed_at=application.completed_at,
        form=json.loads(application.form_data),
        has_personal=application.personal_data is not None,
        tasks=[
            task_read(
                t,
                application.number,
                names.get(t.department_code, t.department_code),
                overrides,
                events_by_task[t.id],
                names_shown={application.applicant_name: shown_applicant_name(actor, application)},
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


def read_personal_clear(
    db: Session, *, actor: Principal, number: str, cipher: FieldCipher, reason: str
) -> ApplicationPersonalRead:
    """The personal fields of an application's form in clear: for its applicant, or for staff who may see
    the application and hold the clear-read permission. Every read, and every refusal, is audited."""
    application = application_row(db, number)
    own = actor.user_id is not None and actor.user_id == application.applicant_id
    if not own:
        check_can_view(actor, application, tasks_of(db, application.id))
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
