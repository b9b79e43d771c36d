"""JSON API of 一网通办: catalog, applications, the handlers' workflow, ratings, figures."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from yiwang.core import workdays
from yiwang.core.db import DbSession
from yiwang.core.downloads import attachment
from yiwang.core.errors import ValidationFailed
from yiwang.core.params import IdPath
from yiwang.core.runtime import CertificateSigningDep, CipherDep, SettingsDep
from yiwang.core.security import CurrentUser, Principal, public, require
from yiwang.core.spreadsheets import XLSX_MEDIA_TYPE
from yiwang.onestop import permissions as p
from yiwang.onestop import service, uploads
from yiwang.onestop.schemas import (
    ApplicationBrief,
    ApplicationCreate,
    ApplicationPersonalRead,
    ApplicationRead,
    AttachmentRead,
    BundleCreate,
    BundleRead,
    CalendarOverrideIn,
    DecisionInput,
    DepartmentFigures,
    FollowUpClose,
    FollowUpRead,
    IndicatorFigures,
    ItemCreate,
    ItemRead,
    ItemUpdate,
    NotificationRead,
    PrefillRead,
    RatingCreate,
    RatingRead,
    SupplementRequest,
    SupplementSubmit,
    TaskRead,
)

router = APIRouter(prefix="/api/onestop", tags=["一网通办 onestop"])
Handler = Annotated[Principal, Depends(require(p.TASK_HANDLE))]
Applicant = Annotated[Principal, Depends(require(p.APPLY))]


@router.get("/items")
@public
def list_items(
    db: DbSession,
    q: Annotated[str | None, Query(max_length=50)] = None,
    department: Annotated[str | None, Query(max_length=20)] = None,
    life_event: Annotated[str | None, Query(max_length=40)] = None,
    enterprise_event: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The public catalog of service items (政务服务事项目录)."""
    items, total = service.search_items(
        db,
        q=q,
        department_code=department,
        life_event=life_event,
        enterprise_event=enterprise_event,
        offset=(page - 1) * size,
        limit=size,
    )
    return {"items": [i.model_dump() for i in items], "total": total, "page": page, "size": size}


@router.get("/items.xlsx")
def export_items(
    db: DbSession,
    user: Annotated[Principal, Depends(require(p.ITEM_WRITE))],
    department: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """All items (or one department's) as XLSX."""
    content = service.export_xlsx(db, department_code=department)
    return attachment(content, filename="items.xlsx", media_type=XLSX_MEDIA_TYPE)


@router.post("/items/import")
def import_items(
    db: DbSession, user: Annotated[Principal, Depends(require(p.ITEM_WRITE))], file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """Create or update items from an XLSX in the export layout; rejected rows are listed."""
    return service.import_xlsx(db, actor=user, content=file.file.read())


@router.get("/items/{code}", response_model=ItemRead)
@public
def get_item(code: str, db: DbSession) -> ItemRead:
    return service.get_item(db, code=code)


@router.post("/items", response_model=ItemRead, status_code=201)
def create_item(
    data: ItemCreate, db: DbSession, user: Annotated[Principal, Depends(require(p.ITEM_WRITE))]
) -> ItemRead:
    return service.create_item(db, actor=user, data=data)


@router.patch("/items/{code}", response_model=ItemRead)
def update_item(
    code: str, data: ItemUpdate, db: DbSession, user: Annotated[Principal, Depends(require(p.ITEM_WRITE))]
) -> ItemRead:
    return service.update_item(db, actor=user, code=code, data=data)


@router.get("/bundles", response_model=list[BundleRead])
@public
def list_bundles(db: DbSession) -> list[BundleRead]:
    """一件事 bundles with merged form, shared materials and computed savings."""
    return service.list_bundles(db)


@router.get("/bundles/{code}", response_model=BundleRead)
@public
def get_bundle(code: str, db: DbSession) -> BundleRead:
    return service.get_bundle(db, code=code)


@router.post("/bundles", response_model=BundleRead, status_code=201)
def create_bundle(
    data: BundleCreate, db: DbSession, user: Annotated[Principal, Depends(require(p.ITEM_WRITE))]
) -> BundleRead:
    return service.create_bundle(db, actor=user, data=data)


@router.get("/prefill", response_model=PrefillRead)
def prefill(
    db: DbSession,
    user: Applicant,
    cipher: CipherDep,
    item: Annotated[str | None, Query(max_length=40)] = None,
    bundle: Annotated[str | None, Query(max_length=40)] = None,
) -> PrefillRead:
    """The form pre-filled from the caller's profile, and how each material can be met."""
    if bool(item) == bool(bundle):
        raise ValidationFailed("须且只能指定 item 或 bundle")
    return service.prefill(db, actor=user, cipher=cipher, item_code=item, bundle_code=bundle)


@router.post("/attachments", response_model=AttachmentRead, status_code=201)
def upload(
    request: Request,
    db: DbSession,
    user: Applicant,
    settings: SettingsDep,
    material: Annotated[str, Form(max_length=40)],
    file: Annotated[UploadFile, File()],
    item: Annotated[str | None, Form(max_length=40)] = None,
    bundle: Annotated[str | None, Form(max_length=40)] = None,
) -> AttachmentRead:
    """Upload a material (PDF, JPG or PNG; ≤ 10 MB; PDF page limit per material)."""
    limit = (
        service.material_page_limit(db, material_key=material, item_code=item, bundle_code=bundle)
        if item or bundle
        else uploads.MAX_PDF_PAGES
    )
    return service.upload_material(
        db,
        actor=user,
        files_dir=settings.files_dir,
        material_key=material,
        filename=file.filename or "file",
        content=file.file.read(),
        max_pages=limit,
    )


@router.post("/applications", response_model=ApplicationRead, status_code=201)
def submit(data: ApplicationCreate, db: DbSession, user: Applicant, cipher: CipherDep) -> ApplicationRead:
    """Apply for an item or a bundle (consent lets certificates and base databases replace uploads)."""
    return service.submit_application(db, actor=user, data=data, cipher=cipher)


@router.get("/applications", response_model=list[ApplicationBrief])
def mine(db: DbSession, user: CurrentUser) -> list[ApplicationBrief]:
    return service.my_applications(db, actor=user)


@router.get("/applications/{number}", response_model=ApplicationRead)
def get_application(number: str, db: DbSession, user: CurrentUser) -> ApplicationRead:
    return service.get_application(db, actor=user, number=number)


@router.get("/applications/{number}/personal", response_model=ApplicationPersonalRead)
def read_personal(
    number: str,
    db: DbSession,
    cipher: CipherDep,
    user: CurrentUser,
    reason: Annotated[str, Query(min_length=2, max_length=200, description="查看事由，记入审计")],
) -> ApplicationPersonalRead:
    """The form's personal fields in clear, with a stated reason: the applicant, or staff handling the
    application who hold `core.personal.read_clear`. Every call, refused ones too, is audited."""
    return service.read_personal_clear(db, actor=user, number=number, cipher=cipher, reason=reason)


@router.post("/applications/{number}/supplement", response_model=ApplicationRead)
def supplement(
    number: str, data: SupplementSubmit, db: DbSession, user: Applicant, cipher: CipherDep
) -> ApplicationRead:
    return service.submit_supplement(db, actor=user, number=number, data=data, cipher=cipher)


@router.post("/applications/{number}/rating", response_model=RatingRead, status_code=201)
def rate(number: str, data: RatingCreate, db: DbSession, user: Applicant) -> RatingRead:
    return service.rate_application(db, actor=user, number=number, data=data)


@router.get("/tasks", response_model=list[TaskRead])
def queue(
    db: DbSession, user: Handler, stage: Annotated[str | None, Query(max_length=20)] = None, overdue: bool = False
) -> list[TaskRead]:
    """The caller's department queue with deadlines, warnings and overdue marks."""
    return service.task_queue(db, actor=user, stage=stage, overdue_only=overdue)


@router.get("/tasks/{task_id}", response_model=TaskRead)
def get_task(task_id: IdPath, db: DbSession, user: Handler) -> TaskRead:
    return service.get_task(db, actor=user, task_id=task_id)


@router.post("/tasks/{task_id}/accept", response_model=TaskRead)
def accept(task_id: IdPath, db: DbSession, user: Handler) -> TaskRead:
    return service.accept_task(db, actor=user, task_id=task_id)


@router.post("/tasks/{task_id}/supplement", response_model=TaskRead)
def request_supplement(task_id: IdPath, data: SupplementRequest, db: DbSession, user: Handler) -> TaskRead:
    return service.request_supplement(db, actor=user, task_id=task_id, data=data)


@router.post("/tasks/{task_id}/review", response_model=TaskRead)
def review(task_id: IdPath, db: DbSession, user: Handler) -> TaskRead:
    return service.review_task(db, actor=user, task_id=task_id)


@router.post("/tasks/{task_id}/decide", response_model=TaskRead)
def decide(task_id: IdPath, data: DecisionInput, db: DbSession, user: Handler) -> TaskRead:
    return service.decide_task(db, actor=user, task_id=task_id, data=data)


@router.post("/tasks/{task_id}/complete", response_model=TaskRead)
def complete(task_id: IdPath, db: DbSession, user: Handler, signing: CertificateSigningDep) -> TaskRead:
    return service.complete_task(
        db,
        actor=user,
        task_id=task_id,
        signing=signing,
    )


@router.get("/followups", response_model=list[FollowUpRead])
def followups(db: DbSession, user: Handler, all: bool = False) -> list[FollowUpRead]:
    return service.list_followups(db, actor=user, open_only=not all)


@router.post("/followups/{followup_id}/close", response_model=FollowUpRead)
def close_followup(followup_id: IdPath, data: FollowUpClose, db: DbSession, user: Handler) -> FollowUpRead:
    return service.close_followup(db, actor=user, followup_id=followup_id, resolution=data.resolution)


@router.get("/notifications", response_model=list[NotificationRead])
def my_notifications(db: DbSession, user: CurrentUser) -> list[NotificationRead]:
    return service.notifications(db, actor=user)


@router.post("/notifications/{notification_id}/read", status_code=204)
def read_notification(notification_id: IdPath, db: DbSession, user: CurrentUser) -> Response:
    service.mark_read(db, actor=user, notification_id=notification_id)
    return Response(status_code=204)


@router.get("/indicators", response_model=IndicatorFigures)
def indicators(db: DbSession, user: Annotated[Principal, Depends(require(p.FIGURES_READ))]) -> IndicatorFigures:
    """Indicators 6–9 and time against promise."""
    return service.indicator_figures(db)


@router.get("/figures/departments", response_model=list[DepartmentFigures])
def department_figures(
    db: DbSession, user: Annotated[Principal, Depends(require(p.FIGURES_READ))]
) -> list[DepartmentFigures]:
    return service.department_figures(db, actor=user)


@router.get("/workdays")
def working_days(
    db: DbSession, user: CurrentUser, start: date, days: Annotated[int, Query(ge=0, le=365)]
) -> dict[str, Any]:
    """The date `days` working days after `start` on the official calendar with overrides."""
    end = workdays.working_day_after(db, start=start, days=days)
    return {
        "start": start,
        "days": days,
        "end": end,
        "start_is_workday": workdays.is_workday(start, workdays.calendar_overrides(db)),
    }


@router.put("/calendar", status_code=204)
def set_override(
    data: CalendarOverrideIn, db: DbSession, user: Annotated[Principal, Depends(require(p.CALENDAR_WRITE))]
) -> Response:
    service.set_calendar_override(db, actor=user, data=data)
    return Response(status_code=204)
