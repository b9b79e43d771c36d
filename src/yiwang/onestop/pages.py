"""Pages of 一网通办: public catalog, applying, the applicant's one-stop page, handlers' queue, figures."""

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from yiwang.certs import service as certs_service
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import CurrentUser, MaybeUser, Principal, public, require
from yiwang.onestop import permissions as p
from yiwang.onestop import service
from yiwang.onestop.schemas import (
    DATABASE_NAMES,
    ApplicationCreate,
    DecisionInput,
    ItemUpdate,
    RatingCreate,
    SupplementRequest,
    SupplementSubmit,
)
from yiwang.org import service as org_service
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import PageForm, upload_bytes
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)
ModelT = TypeVar("ModelT", bound=BaseModel)
Handler = Annotated[Principal, Depends(require(p.TASK_HANDLE))]
Applicant = Annotated[Principal, Depends(require(p.APPLY))]
Editor = Annotated[Principal, Depends(require(p.ITEM_WRITE))]
OUTCOMES = {"approved": "准予", "refused": "不予许可", "partly_refused": "部分不予许可"}
STATUSES = {"processing": "办理中", "supplement": "待补正", "completed": "已办结"}


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _model(cls: type[ModelT], **values: Any) -> ModelT:
    """Build an input model from page form values; invalid values are a 422 with the reasons."""
    try:
        return cls(**values)
    except ValidationError as exc:
        details = [{"loc": [str(x) for x in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        raise AppError(
            "提交的内容不符合要求：" + "；".join(d["msg"] for d in details),
            code="validation_failed",
            status_code=422,
            details=details,
        ) from exc


@router.get("/onestop", response_class=HTMLResponse)
@public
def catalog_page(
    request: Request,
    db: DbSession,
    user: MaybeUser,
    q: Annotated[str | None, Query(max_length=50)] = None,
    department: Annotated[str | None, Query(max_length=20)] = None,
    life_event: Annotated[str | None, Query(max_length=40)] = None,
    enterprise_event: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> HTMLResponse:
    """政务服务事项目录 and 一件事 for everyone: by text, department, life event, enterprise event."""
    items, total = service.search_items(
        db,
        q=q or None,
        department_code=department or None,
        life_event=life_event or None,
        enterprise_event=enterprise_event or None,
        offset=(page - 1) * 30,
        limit=30,
    )
    return render(
        request,
        "onestop/catalog.html",
        {
            "items": items,
            "total": total,
            "page": page,
            "pages": max(1, (total + 29) // 30),
            "bundles": service.list_bundles(db),
            "events": service.event_names(db),
            "departments": org_service.list_departments(db),
            "filters": {
                "q": q or "",
                "department": department or "",
                "life_event": life_event or "",
                "enterprise_event": enterprise_event or "",
            },
        },
    )


@router.get("/onestop/items/{code}", response_class=HTMLResponse)
@public
def item_page(request: Request, code: str, db: DbSession) -> HTMLResponse:
    return render(request, "onestop/item.html", {"item": service.get_item(db, code=code), "db_names": DATABASE_NAMES})


@router.get("/onestop/bundles/{code}", response_class=HTMLResponse)
@public
def bundle_page(request: Request, code: str, db: DbSession) -> HTMLResponse:
    return render(request, "onestop/bundle.html", {"bundle": service.get_bundle(db, code=code)})


def _apply_context(db: DbSession, user: Principal, cipher: Any, item: str | None, bundle: str | None) -> dict[str, Any]:
    target = service.get_bundle(db, code=bundle) if bundle else service.get_item(db, code=item or "")
    return {
        "target": target,
        "kind": "bundle" if bundle else "item",
        "prefill": service.prefill(db, actor=user, cipher=cipher, item_code=item, bundle_code=bundle),
    }


@router.get("/onestop/apply", response_class=HTMLResponse)
def apply_page(
    request: Request,
    db: DbSession,
    user: Applicant,
    cipher: CipherDep,
    item: Annotated[str | None, Query(max_length=40)] = None,
    bundle: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The (merged) form, pre-filled from the profile, with each material's source."""
    return render(request, "onestop/apply.html", _apply_context(db, user, cipher, item, bundle) | {"values": {}})


@router.post("/onestop/apply", response_class=HTMLResponse)
def apply_submit(
    request: Request,
    db: DbSession,
    user: Applicant,
    cipher: CipherDep,
    settings: SettingsDep,
    _csrf: CsrfChecked,
    form: PageForm,
) -> Response:
    item = str(form.get("item") or "") or None
    bundle = str(form.get("bundle") or "") or None
    values = {k[2:]: str(v) for k, v in form.items() if k.startswith("f_") and isinstance(v, str) and v.strip()}
    try:
        attachments: dict[str, int] = {}
        for key, value in form.multi_items():
            if key.startswith("m_") and isinstance(value, UploadFile) and value.filename:
                material = key[2:]
                limit = service.material_page_limit(db, material_key=material, item_code=item, bundle_code=bundle)
                stored = service.upload_material(
                    db,
                    actor=user,
                    files_dir=settings.files_dir,
                    material_key=material,
                    filename=value.filename,
                    content=upload_bytes(value),
                    max_pages=limit,
                )
                attachments[material] = stored.id
        data = ApplicationCreate(
            item_code=item,
            bundle_code=bundle,
            form=values,
            consent=form.get("consent") == "yes",
            attachments=attachments,
        )
        result = service.submit_application(db, actor=user, data=data, cipher=cipher)
    except AppError as exc:
        db.rollback()
        context = _apply_context(db, user, cipher, item, bundle)
        return render(
            request,
            "onestop/apply.html",
            context | {"values": values, "error_message": exc.message, "error_details": exc.details},
            status_code=exc.status_code,
        )
    except ValueError as exc:  # pydantic validation of the assembled input
        db.rollback()
        context = _apply_context(db, user, cipher, item, bundle)
        return render(
            request,
            "onestop/apply.html",
            context | {"values": values, "error_message": f"提交有误：{exc}"},
            status_code=422,
        )
    return _see(f"/onestop/applications/{result.number}?notice=created")


@router.get("/onestop/me", response_class=HTMLResponse)
def one_stop_page(request: Request, db: DbSession, user: CurrentUser) -> HTMLResponse:
    """城市服务总入口: one login, all applications, certificates, notifications and ratings."""
    assert user.user_id is not None
    return render(
        request,
        "onestop/me.html",
        {
            "applications": service.my_applications(db, actor=user),
            "certificates": certs_service.wallet(db, holder_user_id=user.user_id),
            "uses": certs_service.list_uses(db, holder_user_id=user.user_id, limit=10),
            "notifications": service.notifications(db, actor=user, limit=20),
            "statuses": STATUSES,
            "outcomes": OUTCOMES,
        },
    )


@router.get("/onestop/applications/{number}", response_class=HTMLResponse)
def application_page(request: Request, number: str, db: DbSession, user: CurrentUser) -> HTMLResponse:
    return render(
        request,
        "onestop/application.html",
        {
            "app": service.get_application(db, actor=user, number=number),
            "statuses": STATUSES,
            "outcomes": OUTCOMES,
        },
    )


@router.post("/onestop/applications/{number}/rate")
def rate_submit(
    number: str,
    db: DbSession,
    user: Applicant,
    _csrf: CsrfChecked,
    score: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    service.rate_application(db, actor=user, number=number, data=_model(RatingCreate, score=score, comment=comment))
    return _see(f"/onestop/applications/{number}?notice=saved")


@router.post("/onestop/applications/{number}/supplement")
def supplement_submit(
    request: Request,
    number: str,
    db: DbSession,
    user: Applicant,
    settings: SettingsDep,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    form: PageForm,
) -> Response:
    attachments: dict[str, int] = {}
    for key, value in form.multi_items():
        if key.startswith("m_") and isinstance(value, UploadFile) and value.filename:
            stored = service.upload_material(
                db,
                actor=user,
                files_dir=settings.files_dir,
                material_key=key[2:],
                filename=value.filename,
                content=upload_bytes(value),
            )
            attachments[key[2:]] = stored.id
    note = str(form.get("note") or "")[:500]
    service.submit_supplement(
        db,
        actor=user,
        number=number,
        data=_model(SupplementSubmit, attachments=attachments, note=note),
        cipher=cipher,
    )
    return _see(f"/onestop/applications/{number}?notice=saved")


@router.get("/onestop/tasks", response_class=HTMLResponse)
def queue_page(
    request: Request,
    db: DbSession,
    user: Handler,
    stage: Annotated[str | None, Query(max_length=20)] = None,
    overdue: bool = False,
) -> HTMLResponse:
    """The department's queue (deadlines in working days, warnings, overdue) and open follow-ups."""
    return render(
        request,
        "onestop/tasks.html",
        {
            "tasks": service.task_queue(db, actor=user, stage=stage or None, overdue_only=overdue),
            "followups": service.list_followups(db, actor=user),
            "figures": service.department_figures(db, actor=user),
            "stage": stage or "",
            "overdue": overdue,
        },
    )


@router.get("/onestop/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: int, db: DbSession, user: Handler) -> HTMLResponse:
    task = service.get_task(db, actor=user, task_id=task_id)
    application = service.get_application(db, actor=user, number=task.application_number)
    return render(request, "onestop/task.html", {"task": task, "app": application, "outcomes": OUTCOMES})


# Declared before the task actions below, whose path would otherwise take "personal" as an action.
@router.post("/onestop/tasks/{task_id}/personal", response_class=HTMLResponse)
def task_reveal(
    request: Request,
    task_id: int,
    db: DbSession,
    cipher: CipherDep,
    user: Handler,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form(min_length=2, max_length=200)],
) -> HTMLResponse:
    """The form's personal fields in clear with a stated reason; audited, and refused without the right."""
    task = service.get_task(db, actor=user, task_id=task_id)
    clear = service.read_personal_clear(db, actor=user, number=task.application_number, cipher=cipher, reason=reason)
    application = service.get_application(db, actor=user, number=task.application_number)
    context = {
        "task": task,
        "app": application,
        "outcomes": OUTCOMES,
        "personal": clear.fields,
        "applicant_name": clear.applicant_name,
    }
    return render(request, "onestop/task.html", context)


@router.post("/onestop/tasks/{task_id}/{action}")
def task_action(
    task_id: int,
    action: str,
    db: DbSession,
    user: Handler,
    settings: SettingsDep,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form(max_length=1000)] = "",
    missing: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    if action == "accept":
        service.accept_task(db, actor=user, task_id=task_id)
    elif action == "supplement":
        entries = [
            line.split("：", 1) if "：" in line else [line, "请补充"] for line in missing.splitlines() if line.strip()
        ]
        service.request_supplement(
            db,
            actor=user,
            task_id=task_id,
            data=_model(
                SupplementRequest,
                items=[{"name": n.strip()[:100], "reason": r.strip()[:300] or "请补充"} for n, r in entries],
            ),
        )
    elif action == "review":
        service.review_task(db, actor=user, task_id=task_id, note=reason)
    elif action in ("approve", "refuse"):
        service.decide_task(
            db,
            actor=user,
            task_id=task_id,
            data=_model(
                DecisionInput, decision="approved" if action == "approve" else "refused", reason=reason or None
            ),
        )
    elif action == "complete":
        service.complete_task(
            db,
            actor=user,
            task_id=task_id,
            keys=certs_service.key_store_for(settings.key_dir),
            origin=certs_service.log_origin(settings.city_code),
        )
    else:
        raise AppError("未知操作", code="unknown_action", status_code=404)
    return _see(f"/onestop/tasks/{task_id}?notice=saved")


@router.post("/onestop/followups/{followup_id}/close")
def followup_close(
    followup_id: int,
    db: DbSession,
    user: Handler,
    _csrf: CsrfChecked,
    resolution: Annotated[str, Form(min_length=2, max_length=2000)],
) -> Response:
    service.close_followup(db, actor=user, followup_id=followup_id, resolution=resolution)
    return _see("/onestop/tasks?notice=saved")


@router.get("/onestop/figures", response_class=HTMLResponse)
def figures_page(
    request: Request, db: DbSession, user: Annotated[Principal, Depends(require(p.FIGURES_READ))]
) -> HTMLResponse:
    return render(
        request,
        "onestop/figures.html",
        {
            "figures": service.indicator_figures(db),
            "departments": service.department_figures(db, actor=user),
            "certs": certs_service.counts(db),
        },
    )


@router.get("/onestop/admin/items", response_class=HTMLResponse)
def admin_items(
    request: Request, db: DbSession, user: Editor, q: Annotated[str | None, Query(max_length=50)] = None
) -> HTMLResponse:
    """Department admins edit their items; XLSX export and import."""
    department = None if user.has("core.scope.all") else user.department_code
    items, total = service.search_items(db, q=q or None, department_code=department, limit=200)
    return render(request, "onestop/admin_items.html", {"items": items, "total": total, "q": q or ""})


@router.post("/onestop/admin/items/{code}")
def admin_item_save(
    code: str,
    db: DbSession,
    user: Editor,
    _csrf: CsrfChecked,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    legal_days: Annotated[int, Form(ge=0, le=365)],
    promised_days: Annotated[int, Form(ge=0, le=365)],
    visits: Annotated[int, Form(ge=0, le=10)],
    online: Annotated[str, Form(max_length=3)] = "",
    entry_point: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    service.update_item(
        db,
        actor=user,
        code=code,
        data=_model(
            ItemUpdate,
            name=name,
            legal_days=legal_days,
            promised_days=promised_days,
            visits=visits,
            online=online == "yes",
            entry_point=entry_point == "yes",
        ),
    )
    return _see("/onestop/admin/items?notice=saved")


@router.post("/onestop/admin/import", response_class=HTMLResponse)
def admin_import(request: Request, db: DbSession, user: Editor, _csrf: CsrfChecked, form: PageForm) -> HTMLResponse:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise AppError("请选择 XLSX 文件", code="file_missing", status_code=422)
    result = service.import_xlsx(db, actor=user, content=upload_bytes(upload))
    items, total = service.search_items(
        db, department_code=None if user.has("core.scope.all") else user.department_code, limit=200
    )
    return render(
        request, "onestop/admin_items.html", {"items": items, "total": total, "q": "", "import_result": result}
    )
