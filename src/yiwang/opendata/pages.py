"""The public open data portal (公共数据开放): search, dataset pages, downloads; and staff management."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from yiwang.catalog import service as catalog_service
from yiwang.catalog.schemas import MASKING_NAMES
from yiwang.core.db import DbSession, ReadDbSession
from yiwang.core.errors import NotFound
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import CurrentUser, MaybeUser, Principal, public, require
from yiwang.opendata import permissions as perm
from yiwang.opendata import service
from yiwang.opendata.page_forms import OpenApplyForm, OpenDecisionForm, PublishForm
from yiwang.opendata.schemas import OpenDecision
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
router = APIRouter(prefix="/opendata", include_in_schema=False)
PAGE_SIZE = 20


@router.get("", response_class=HTMLResponse)
@public
def portal(
    request: Request,
    db: ReadDbSession,
    user: MaybeUser,
    q: str = "",
    department: str = "",
    open_type: str = "",
    category: str = "",
    tag: str = "",
    sort: str = "title",
    page: int = 1,
) -> HTMLResponse:
    """Search open datasets with facets; headline figures (fresh share, department coverage)."""
    page = max(1, page)
    result = service.search(
        db,
        q=q[:100],
        department=department or None,
        open_type=open_type or None,
        category=category or None,
        tag=tag or None,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        sort=sort,
    )
    return render(
        request,
        "opendata/portal.html",
        {
            "result": result,
            "q": q,
            "filters": {"department": department, "open_type": open_type, "category": category, "tag": tag},
            "figures": service.portal_figures(db),
            "page": page,
            "pages": max(1, -(-result.total // PAGE_SIZE)),
        },
    )


def _dataset_page(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    code: str,
    *,
    count_view: bool = False,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    dataset = service.get_dataset(db, code=code, count_view=count_view)
    preview = service.preview(
        db, code=code, data_dir=settings.data_dir, pseudonym=lambda v, ns: cipher.pseudonym(v, namespace=ns)
    )
    context = {"d": dataset, "preview": preview, "treatments": MASKING_NAMES, "base": str(request.base_url).rstrip("/")}
    return render(request, "opendata/dataset.html", context | extra, status_code=status_code)


@router.get("/datasets/{code}", response_class=HTMLResponse)
@public
def dataset_page(
    request: Request, db: DbSession, settings: SettingsDep, cipher: CipherDep, user: MaybeUser, code: str
) -> HTMLResponse:
    """Metadata, freshness and quality, a de-identified preview, a chart, downloads and an API example."""
    return _dataset_page(request, db, settings, cipher, code, count_view=True)


@router.get("/datasets/{code}/chart.json")
@public
def chart_data(db: DbSession, settings: SettingsDep, cipher: CipherDep, code: str) -> JSONResponse:
    option = service.chart(
        db, code=code, data_dir=settings.data_dir, pseudonym=lambda v, ns: cipher.pseudonym(v, namespace=ns)
    )
    if option is None:
        raise NotFound("该数据集没有可绘制的数值列")
    return JSONResponse(option)


@router.get("/datasets/{code}/download.{fmt}")
@public
def download(db: DbSession, settings: SettingsDep, cipher: CipherDep, user: MaybeUser, code: str, fmt: str) -> Response:
    """CSV, JSON or XLSX of the de-identified open view (有条件开放: approved applicants only)."""
    content, media = service.download(
        db,
        actor=user,
        code=code,
        fmt=fmt,
        data_dir=settings.data_dir,
        pseudonym=lambda v, ns: cipher.pseudonym(v, namespace=ns),
    )
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{code}.{fmt}"'})


@router.post("/datasets/{code}/apply", response_class=HTMLResponse)
def apply(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    user: CurrentUser,
    _csrf: CsrfChecked,
    code: str,
    form: Annotated[Submission[OpenApplyForm], Depends(OpenApplyForm.submitted)],
) -> Response:
    if form.data is None:
        return _dataset_page(request, db, settings, cipher, code, form=form, status_code=422)
    service.apply_for(db, actor=user, code=code, purpose=form.data.purpose)
    return RedirectResponse(f"/opendata/datasets/{code}?notice=created", status_code=303)


Manager = Annotated[Principal, Depends(require(perm.DATASET_WRITE))]


def _manage_page(
    request: Request, db: DbSession, user: Principal, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    bureau = catalog_service.is_bureau(db, user)
    openable = catalog_service.openable_entries(db, exclude_codes=service.opened_entry_codes(db))
    candidates = [e for e in openable if bureau or user.can_reach_department(e.department_id)]
    applications = service.list_applications(db, actor=user) if user.has(perm.APPLICATION_REVIEW) else []
    context = {"candidates": candidates[:300], "applications": applications}
    return render(request, "opendata/manage.html", context | extra, status_code=status_code)


@router.get("/manage", response_class=HTMLResponse)
def manage(request: Request, db: DbSession, user: Manager) -> HTMLResponse:
    """Entries that may be opened, and (for the bureau) conditional-open applications to decide."""
    return _manage_page(request, db, user)


@router.post("/manage/publish", response_class=HTMLResponse)
def publish(
    db: DbSession,
    user: Manager,
    _csrf: CsrfChecked,
    form: Annotated[Submission[PublishForm], Depends(PublishForm.submitted)],
) -> Response:
    data = form.data or form.refuse()
    service.publish_dataset(db, actor=user, entry_code=data.code)
    return RedirectResponse(f"/opendata/datasets/{data.code}?notice=created", status_code=303)


@router.post("/applications/{application_id}/decide", response_class=HTMLResponse)
def decide(
    request: Request,
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.APPLICATION_REVIEW))],
    _csrf: CsrfChecked,
    application_id: RowId,
    form: Annotated[Submission[OpenDecisionForm], Depends(OpenDecisionForm.submitted)],
) -> Response:
    decision = form.to(OpenDecision)
    if decision is None:
        return _manage_page(request, db, user, decide_form=form, decide_id=application_id, status_code=422)
    service.decide(db, actor=user, application_id=application_id, decision=decision)
    return RedirectResponse("/opendata/manage?notice=saved", status_code=303)
