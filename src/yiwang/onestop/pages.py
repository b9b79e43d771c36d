"""Pages of 一网通办: public catalog, applying, the applicant's one-stop page, handlers' queue, figures."""

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from yiwang.certs import service as certs_service
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError, NotFound
from yiwang.core.params import IdPath
from yiwang.core.runtime import CertificateSigningDep, CipherDep, SettingsDep
from yiwang.core.security import CurrentUser, MaybeUser, Principal, public, require
from yiwang.onestop import permissions as p
from yiwang.onestop import service
from yiwang.onestop.page_forms import (
    ANSWER,
    MATERIAL,
    ApplyForm,
    FollowupForm,
    ItemForm,
    RatingForm,
    SupplementForm,
    TaskActionForm,
)
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
from yiwang.web.forms import RevealForm, Submission, UploadForm, upload_bytes
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)
Handler = Annotated[Principal, Depends(require(p.TASK_HANDLE))]
Applicant = Annotated[Principal, Depends(require(p.APPLY))]
Editor = Annotated[Principal, Depends(require(p.ITEM_WRITE))]
OUTCOMES = {"approved": "准予", "refused": "不予许可", "partly_refused": "部分不予许可"}
STATUSES = {"processing": "办理中", "supplement": "待补正", "completed": "已办结"}


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


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
def item_page(request: Request, code: str, db: DbSession, user: MaybeUser) -> HTMLResponse:
    """An item for everyone; a logged-in applicant can start it from here (在线办理)."""
    return render(request, "onestop/item.html", {"item": service.get_item(db, code=code), "db_names": DATABASE_NAMES})


@router.get("/onestop/bundles/{code}", response_class=HTMLResponse)
@public
def bundle_page(request: Request, code: str, db: DbSession, user: MaybeUser) -> HTMLResponse:
    """A bundle for everyone; a logged-in applicant can start it from here (一次办理)."""
    return render(request, "onestop/bundle.html", {"bundle": service.get_bundle(db, code=code)})


def _apply_page(
    request: Request,
    db: DbSession,
    user: Principal,
    cipher: Any,
    item: str | None,
    bundle: str | None,
    *,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    target = service.get_bundle(db, code=bundle) if bundle else service.get_item(db, code=item or "")
    context = {
        "target": target,
        "kind": "bundle" if bundle else "item",
        "prefill": service.prefill(db, actor=user, cipher=cipher, item_code=item, bundle_code=bundle),
    }
    return render(request, "onestop/apply.html", context | extra, status_code=status_code)


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
    return _apply_page(request, db, user, cipher, item, bundle)


def _store_materials(
    db: DbSession,
    user: Principal,
    settings: Any,
    form: Submission[Any],
    uploads: Mapping[str, UploadFile],
    *,
    item: str | None = None,
    bundle: str | None = None,
) -> dict[str, int]:
    """Check and store each uploaded material; a refused file is a message beside its file input."""
    stored: dict[str, int] = {}
    for material, upload in uploads.items():
        try:
            limit = (
                service.material_page_limit(db, material_key=material, item_code=item, bundle_code=bundle)
                if item or bundle
                else None
            )
            stored[material] = service.upload_material(
                db,
                actor=user,
                files_dir=settings.files_dir,
                material_key=material,
                filename=upload.filename or "",
                content=upload_bytes(upload),
                **({"max_pages": limit} if limit is not None else {}),
            ).id
        except AppError as exc:
            form.add_error(MATERIAL + material, exc.message)
    return stored


def _place_refusal(form: Submission[Any], exc: AppError) -> str | None:
    """Put a refusal about particular fields or materials beside them; anything else is the page's error."""
    details = exc.details if isinstance(exc.details, list) else []
    for detail in details:
        if isinstance(detail, dict) and detail.get("field"):
            form.add_error(ANSWER + str(detail["field"]), str(detail["message"]), label=str(detail.get("label")))
        elif isinstance(detail, dict) and detail.get("material"):
            label = str(detail.get("name") or detail["material"])
            form.add_error(MATERIAL + str(detail["material"]), str(detail["message"]), label=label)
    return None if form.errors else exc.message


@router.post("/onestop/apply", response_class=HTMLResponse)
def apply_submit(
    request: Request,
    db: DbSession,
    user: Applicant,
    cipher: CipherDep,
    settings: SettingsDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[ApplyForm], Depends(ApplyForm.submitted)],
) -> Response:
    item, bundle = form.value("item") or None, form.value("bundle") or None
    error, status_code = None, 422
    if form.data is not None:
        attachments = _store_materials(db, user, settings, form, form.data.materials, item=item, bundle=bundle)
        application = form.build(
            lambda data: ApplicationCreate(
                item_code=data.item,
                bundle_code=data.bundle,
                form=data.answers,
                consent=data.consent,
                attachments=attachments,
            )
        )
        if application is not None:
            try:
                result = service.submit_application(db, actor=user, data=application, cipher=cipher)
                return _see(f"/onestop/applications/{result.number}?notice=created")
            except AppError as exc:
                error, status_code = _place_refusal(form, exc), exc.status_code
    db.rollback()
    return _apply_page(request, db, user, cipher, item, bundle, form=form, error_message=error, status_code=status_code)


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


def _application_page(
    request: Request, db: DbSession, user: Principal, number: str, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    context = {
        "app": service.get_application(db, actor=user, number=number),
        "statuses": STATUSES,
        "outcomes": OUTCOMES,
    }
    return render(request, "onestop/application.html", context | extra, status_code=status_code)


@router.get("/onestop/applications/{number}", response_class=HTMLResponse)
def application_page(request: Request, number: str, db: DbSession, user: CurrentUser) -> HTMLResponse:
    return _application_page(request, db, user, number)


@router.post("/onestop/applications/{number}/rate", response_class=HTMLResponse)
def rate_submit(
    request: Request,
    number: str,
    db: DbSession,
    user: Applicant,
    _csrf: CsrfChecked,
    form: Annotated[Submission[RatingForm], Depends(RatingForm.submitted)],
) -> Response:
    data = form.to(RatingCreate)
    if data is None:
        return _application_page(request, db, user, number, rating_form=form, status_code=422)
    service.rate_application(db, actor=user, number=number, data=data)
    return _see(f"/onestop/applications/{number}?notice=saved")


@router.post("/onestop/applications/{number}/supplement", response_class=HTMLResponse)
def supplement_submit(
    request: Request,
    number: str,
    db: DbSession,
    user: Applicant,
    settings: SettingsDep,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[SupplementForm], Depends(SupplementForm.submitted)],
) -> Response:
    if form.data is not None:
        attachments = _store_materials(db, user, settings, form, form.data.materials)
        data = form.build(lambda f: SupplementSubmit(attachments=attachments, note=f.note))
        if data is not None:
            service.submit_supplement(db, actor=user, number=number, data=data, cipher=cipher)
            return _see(f"/onestop/applications/{number}?notice=saved")
    db.rollback()
    return _application_page(request, db, user, number, supplement_form=form, status_code=422)


def _queue_page(
    request: Request,
    db: DbSession,
    user: Principal,
    *,
    stage: str | None = None,
    overdue: bool = False,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    context = {
        "tasks": service.task_queue(db, actor=user, stage=stage or None, overdue_only=overdue),
        "followups": service.list_followups(db, actor=user),
        "figures": service.department_figures(db, actor=user),
        "stage": stage or "",
        "overdue": overdue,
    }
    return render(request, "onestop/tasks.html", context | extra, status_code=status_code)


@router.get("/onestop/tasks", response_class=HTMLResponse)
def queue_page(
    request: Request,
    db: DbSession,
    user: Handler,
    stage: Annotated[str | None, Query(max_length=20)] = None,
    overdue: bool = False,
) -> HTMLResponse:
    """The department's queue (deadlines in working days, warnings, overdue) and open follow-ups."""
    return _queue_page(request, db, user, stage=stage, overdue=overdue)


def _task_page(
    request: Request, db: DbSession, user: Principal, task_id: int, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    task = service.get_task(db, actor=user, task_id=task_id)
    application = service.get_application(db, actor=user, number=task.application_number)
    context = {"task": task, "app": application, "outcomes": OUTCOMES, "field_labels": _field_labels(db, application)}
    return render(request, "onestop/task.html", context | extra, status_code=status_code)


def _field_labels(db: DbSession, application: Any) -> dict[str, str]:
    """The Chinese label of each form field, from the item's or bundle's form definition."""
    try:
        if application.kind == "bundle":
            fields = service.get_bundle(db, code=application.target_code).form
        else:
            fields = service.get_item(db, code=application.target_code).form
    except NotFound:
        return {}
    return {f.name: f.label for f in fields}


@router.get("/onestop/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: IdPath, db: DbSession, user: Handler) -> HTMLResponse:
    return _task_page(request, db, user, task_id)


# Declared before the task actions below, whose path would otherwise take "personal" as an action.
@router.post("/onestop/tasks/{task_id}/personal", response_class=HTMLResponse)
def task_reveal(
    request: Request,
    task_id: IdPath,
    db: DbSession,
    cipher: CipherDep,
    user: Handler,
    _csrf: CsrfChecked,
    form: Annotated[Submission[RevealForm], Depends(RevealForm.submitted)],
) -> HTMLResponse:
    """The form's personal fields in clear with a stated reason; audited, and refused without the right."""
    if form.data is None:
        return _task_page(request, db, user, task_id, reveal_form=form, status_code=422)
    task = service.get_task(db, actor=user, task_id=task_id)
    clear = service.read_personal_clear(
        db, actor=user, number=task.application_number, cipher=cipher, reason=form.data.reason
    )
    return _task_page(request, db, user, task_id, personal=clear.fields, applicant_name=clear.applicant_name)


@router.post("/onestop/tasks/{task_id}/{action}", response_class=HTMLResponse)
def task_action(
    request: Request,
    task_id: IdPath,
    action: str,
    db: DbSession,
    user: Handler,
    signing: CertificateSigningDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[TaskActionForm], Depends(TaskActionForm.submitted)],
) -> Response:
    if action not in ("accept", "supplement", "review", "approve", "refuse", "complete"):
        raise AppError("未知操作", code="unknown_action", status_code=404)
    data = form.data
    if data is not None and action == "accept":
        service.accept_task(db, actor=user, task_id=task_id)
    elif data is not None and action == "supplement":
        missing = form.build(
            lambda f: SupplementRequest.model_validate({"items": f.supplement_items()}),
            field_of=lambda loc: "missing",
            label_of=TaskActionForm.supplement_label,
        )
        if missing is not None:
            service.request_supplement(db, actor=user, task_id=task_id, data=missing)
    elif data is not None and action == "review":
        service.review_task(db, actor=user, task_id=task_id, note=data.reason)
    elif data is not None and action in ("approve", "refuse"):
        decision = form.build(
            lambda f: DecisionInput(decision="approved" if action == "approve" else "refused", reason=f.reason or None),
            field_of=lambda loc: "reason",
        )
        if decision is not None:
            service.decide_task(db, actor=user, task_id=task_id, data=decision)
    elif data is not None:
        service.complete_task(
            db,
            actor=user,
            task_id=task_id,
            signing=signing,
        )
    if form.errors:
        return _task_page(request, db, user, task_id, action_form=form, action_name=action, status_code=422)
    return _see(f"/onestop/tasks/{task_id}?notice=saved")


@router.post("/onestop/followups/{followup_id}/close", response_class=HTMLResponse)
def followup_close(
    request: Request,
    followup_id: IdPath,
    db: DbSession,
    user: Handler,
    _csrf: CsrfChecked,
    form: Annotated[Submission[FollowupForm], Depends(FollowupForm.submitted)],
) -> Response:
    if form.data is None:
        return _queue_page(request, db, user, followup_form=form, followup_id=followup_id, status_code=422)
    service.close_followup(db, actor=user, followup_id=followup_id, resolution=form.data.resolution)
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
    request: Request,
    db: DbSession,
    user: Editor,
    q: Annotated[str | None, Query(max_length=50)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> HTMLResponse:
    """Department admins edit their items, a page at a time; XLSX export and import."""
    return _items_page(request, db, user, q=q or "", page=page)


ADMIN_ITEMS_PAGE = 30


def _items_page(
    request: Request,
    db: DbSession,
    user: Principal,
    *,
    q: str = "",
    page: int = 1,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    department = None if user.has("core.scope.all") else user.department_code
    items, total = service.search_items(
        db, q=q or None, department_code=department, offset=(page - 1) * ADMIN_ITEMS_PAGE, limit=ADMIN_ITEMS_PAGE
    )
    pages = max(1, -(-total // ADMIN_ITEMS_PAGE))
    context = {"items": items, "total": total, "q": q, "page": page, "pages": pages}
    return render(request, "onestop/admin_items.html", context | extra, status_code=status_code)


@router.post("/onestop/admin/items/{code}", response_class=HTMLResponse)
def admin_item_save(
    request: Request,
    code: str,
    db: DbSession,
    user: Editor,
    _csrf: CsrfChecked,
    form: Annotated[Submission[ItemForm], Depends(ItemForm.submitted)],
) -> Response:
    data = form.to(ItemUpdate)
    if data is None:
        return _items_page(request, db, user, item_form=form, item_code=code, status_code=422)
    service.update_item(db, actor=user, code=code, data=data)
    return _see("/onestop/admin/items?notice=saved")


@router.post("/onestop/admin/import", response_class=HTMLResponse)
def admin_import(
    request: Request,
    db: DbSession,
    user: Editor,
    _csrf: CsrfChecked,
    form: Annotated[Submission[UploadForm], Depends(UploadForm.submitted)],
) -> HTMLResponse:
    if form.data is None:
        return _items_page(request, db, user, import_form=form, status_code=422)
    result = service.import_xlsx(db, actor=user, content=upload_bytes(form.data.file))
    return _items_page(request, db, user, import_result=result)
