"""The per-department workflow: accept, one supplement request, review, decide, complete; queues and the workbench."""

import json
from datetime import datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.certs import service as certs_service
from yiwang.core import audit, events, timeutil, workdays
from yiwang.core.crypto import FieldCipher
from yiwang.core.errors import Conflict, NotFound, PermissionDenied
from yiwang.core.inputs import check_parameters
from yiwang.core.keyring import SigningContext
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.security import Principal, check_department_scope
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.core.workbench import WorkItem
from yiwang.core.workdays import calendar_overrides
from yiwang.onestop import service_items
from yiwang.onestop.applications import bind_attachments, get_application
from yiwang.onestop.clock import OPEN_STAGES, task_read
from yiwang.onestop.feedback import list_followups
from yiwang.onestop.forms import amend_form
from yiwang.onestop.models import (
    Application,
    MaterialClaim,
    Task,
    TaskEvent,
)
from yiwang.onestop.records import (
    application_row,
    department_names,
    notify,
    record_event,
    shown_applicant_name,
    tasks_of,
)
from yiwang.onestop.schemas import (
    STAGE_NAMES,
    ApplicationRead,
    DecisionInput,
    SupplementRequest,
    SupplementSubmit,
    TaskChanged,
    TaskRead,
)
from yiwang.org import service as org_service


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
    tasks = tasks_of(db, application.id)
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
            notify(
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
    record_event(db, task, "受理", actor)
    _refresh(db, application)
    return _done(db, actor, task, application, "onestop.task.accept")


def request_supplement(db: Session, *, actor: Principal, task_id: int, data: SupplementRequest) -> TaskRead:
    """补正 (一次性告知): list everything missing at once; the clock pauses until the applicant answers."""
    task, application = _task_for(db, actor, task_id)
    if task.supplement_count >= 1:
        raise Conflict("已经一次性告知过补正内容，不能再次要求补正", code="supplement_once")
    _require_stage(task, "received", "review")
    listing = [item.model_dump() for item in data.items]
    task.paused_stage, task.stage, task.paused_since = task.stage, "supplement", timeutil.local_today()
    task.supplement_count += 1
    task.supplement_list = json.dumps(listing, ensure_ascii=False)
    text = "；".join(f"{x['name']}（{x['reason']}）" for x in listing)
    record_event(db, task, "一次性告知补正", actor, text)
    notify(
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
    application = application_row(db, number)
    if application.applicant_id != actor.user_id:
        raise PermissionDenied("只有申请人可以补正")
    waiting = [t for t in tasks_of(db, application.id) if t.stage == "supplement"]
    if not waiting:
        raise Conflict("该办件没有待补正的内容", code="no_supplement")
    if data.attachments:
        keys = {
            c.material_key
            for c in db.execute(select(MaterialClaim).where(MaterialClaim.application_id == application.id)).scalars()
        }
        for key, attachment in bind_attachments(db, actor, data.attachments, keys).items():
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
        amend_form(db, application, data.form, cipher)
    overrides, on = calendar_overrides(db), timeutil.local_today()
    for task in waiting:
        paused = workdays.working_days_between(task.paused_since or on, on, overrides)
        task.paused_days += paused
        task.due_date = workdays.add_working_days(task.start_date, task.promised_days + task.paused_days, overrides)
        task.stage, task.paused_stage, task.paused_since = task.paused_stage or "received", None, None
        record_event(db, task, "申请人已补正", actor, data.note or f"暂停 {paused} 个工作日")
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


def review_task(db: Session, *, actor: Principal, task_id: int, note: str = "") -> TaskRead:
    """审查 done: pass the task on to the decision."""
    task, application = _task_for(db, actor, task_id)
    _require_stage(task, "review")
    task.stage = "decision"
    record_event(db, task, "审查完成", actor, note)
    return _done(db, actor, task, application, "onestop.task.review")


def decide_task(db: Session, *, actor: Principal, task_id: int, data: DecisionInput) -> TaskRead:
    """决定: approve, or refuse with reasons; a refusal is shown to the applicant and the other departments."""
    task, application = _task_for(db, actor, task_id)
    _require_stage(task, "decision")
    task.stage, task.decision, task.decision_reason, task.decided_at = "decided", data.decision, data.reason, utcnow()
    record_event(db, task, "准予" if data.decision == "approved" else "不予许可", actor, data.reason or "")
    if data.decision == "refused":
        department = org_service.get_department_by_code(db, code=task.department_code).short_name
        for sibling in tasks_of(db, application.id):
            if sibling.id != task.id:
                record_event(db, sibling, "联办部门不予许可", actor, f"{department}：{data.reason}")
        notify(
            db,
            application.applicant_id,
            f"不予许可：{task.title}",
            f"理由：{data.reason}",
            f"/onestop/applications/{application.number}",
        )
    return _done(
        db, actor, task, application, "onestop.task.decide", {"decision": data.decision, "reason": data.reason}
    )


def complete_task(db: Session, *, actor: Principal, task_id: int, signing: SigningContext) -> TaskRead:
    """办结: close the task; an approved item that produces a certificate issues it into the wallet."""
    task, application = _task_for(db, actor, task_id)
    # Two completions at once must not both pass the stage check and issue two certificates: the
    # second waits for the first to commit and then sees the task done (SQLite's writer lock does this).
    db.refresh(task, with_for_update=True)
    _require_stage(task, "decided")
    issued: list[str] = []
    issued_names: list[str] = []  # what the applicant is told: the certificates' names
    if task.decision == "approved":
        account = org_service.get_account(db, user_id=application.applicant_id)
        producing = [
            item
            for code in json.loads(task.item_codes)
            if (item := service_items.item_row(db, code)).produces_type_code
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
                    signing=signing,
                    type_code=item.produces_type_code,
                    holder_user_id=application.applicant_id,
                    holder_name=account.display_name,
                    holder_code_masked=account.credit_code,
                    data={"事项": item.name, "办件编号": application.number},
                    source=application.number,
                )
                issued.append(cert.identifier)
                issued_names.append(cert.type_name)
    overrides = calendar_overrides(db)
    on = timeutil.local_today()
    task.stage, task.completed_at, task.certificates = "done", utcnow(), json.dumps(issued)
    task.used_working_days = max(0, workdays.working_days_between(task.start_date, on, overrides) - task.paused_days)
    record_event(db, task, "办结", actor, ("颁发电子证照 " + "、".join(issued_names)) if issued else "")
    if issued:
        notify(db, application.applicant_id, "电子证照已归集到证照夹", "、".join(issued_names), "/certs/wallet")
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
    name = department_names(db).get(task.department_code, task.department_code)
    shown = {application.applicant_name: shown_applicant_name(actor, application)}
    return task_read(task, application.number, name, calendar_overrides(db), events_, names_shown=shown)


def task_queue(
    db: Session, *, actor: Principal, stage: str | None = None, overdue_only: bool = False, limit: int = 200
) -> list[TaskRead]:
    """The tasks of the caller's department (and sub-units); all departments with the cross scope."""
    check_parameters(stage)
    stmt = select(Task, Application.number).join(Application, Application.id == Task.application_id)
    if not actor.has(SCOPE_ALL_DEPARTMENTS):
        stmt = stmt.where(Task.department_id.in_(actor.scope_department_ids or {-1}))
    stmt = stmt.where(Task.stage == stage) if stage else stmt.where(Task.stage.in_(OPEN_STAGES))
    if overdue_only:
        stmt = stmt.where(Task.due_date < timeutil.local_today(), Task.stage != "supplement")
    rows = db.execute(stmt.order_by(Task.due_date, Task.id).limit(limit)).all()
    names, overrides, on = department_names(db), calendar_overrides(db), timeutil.local_today()
    return [
        task_read(t, number, names.get(t.department_code, t.department_code), overrides, on=on) for t, number in rows
    ]


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
