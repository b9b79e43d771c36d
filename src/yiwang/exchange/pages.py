"""Pages of the exchange: apply, applications to answer, grants with usage."""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.catalog import service as catalog_service
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.params import IdPath
from yiwang.core.security import CurrentUser, Principal, require
from yiwang.core.timeutil import local_today
from yiwang.exchange import live_services, service
from yiwang.exchange import permissions as perm
from yiwang.exchange.page_forms import ApplyForm, DecisionForm, RevokeForm
from yiwang.exchange.schemas import ApplicationCreate, Decision
from yiwang.org import service as org_service
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(prefix="/exchange", include_in_schema=False)
Applicant = Annotated[Principal, Depends(require(perm.APPLY))]
UsageReader = Annotated[Principal, Depends(require(perm.USAGE_READ))]
STATUS_NAMES = {
    "pending_provider": "待提供部门答复",
    "pending_bureau": "待大数据局审批",
    "granted": "已授权",
    "refused": "不予共享",
}


def _departments(db) -> dict[int, str]:
    return {d.id: d.short_name for d in org_service.list_departments(db, include_inactive=True)}


@router.get("", response_class=HTMLResponse)
def overview(request: Request, db: DbSession, user: UsageReader) -> HTMLResponse:
    usage = {u.grant_id: u for u in service.usage(db, actor=user)}
    return render(
        request,
        "exchange/overview.html",
        {
            "pending": service.pending_for(db, actor=user),
            "applications": service.list_applications(db, actor=user)[:100],
            "grants": service.list_grants(db, actor=user)[:200],
            "usage": usage,
            "figures": service.sharing_figures(db),
            "departments": _departments(db),
            "status_names": STATUS_NAMES,
            "bureau": catalog_service.is_bureau(db, user),
        },
    )


def _apply_page(
    request: Request, db: DbSession, user: Principal, code: str, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    entry = catalog_service.get_entry(db, code=code, actor=user)
    context = {"entry": entry, "default_end": (local_today() + timedelta(days=365)).isoformat()}
    return render(request, "exchange/apply.html", context | extra, status_code=status_code)


@router.get("/apply/{code}", response_class=HTMLResponse)
def apply_form(request: Request, db: DbSession, user: Applicant, code: str) -> HTMLResponse:
    return _apply_page(request, db, user, code)


@router.post("/apply/{code}", response_class=HTMLResponse)
def apply_submit(
    request: Request,
    db: DbSession,
    user: Applicant,
    _csrf: CsrfChecked,
    code: str,
    form: Annotated[Submission[ApplyForm], Depends(ApplyForm.submitted)],
) -> Response:
    data = form.to(ApplicationCreate, entry_code=code, row_filter=form.data.row_filter() if form.data else {})
    if data is None:
        return _apply_page(request, db, user, code, form=form, status_code=422)
    try:
        application = service.apply(db, actor=user, data=data)
    except AppError as exc:
        db.rollback()
        return _apply_page(request, db, user, code, form=form, error_message=exc.message, status_code=exc.status_code)
    return RedirectResponse(f"/exchange/applications/{application.id}?notice=created", status_code=303)


def _application_page(
    request: Request, db: DbSession, user: Principal, application_id: int, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    application = service.get_application(db, actor=user, application_id=application_id)
    is_service = application.kind == "service"
    context = {
        "a": application,
        "entry": catalog_service.get_entry(db, code=application.entry_code) if application.kind == "data" else None,
        "live_service": live_services.get_service(db, code=application.entry_code) if is_service else None,
        "departments": _departments(db),
        "status_names": STATUS_NAMES,
        "can_provider": user.has(perm.REVIEW) and user.can_reach_department(application.provider_department_id),
        "bureau": catalog_service.is_bureau(db, user),
    }
    return render(request, "exchange/application.html", context | extra, status_code=status_code)


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, db: DbSession, user: CurrentUser, application_id: IdPath) -> HTMLResponse:
    return _application_page(request, db, user, application_id)


@router.post("/applications/{application_id}/decide", response_class=HTMLResponse)
def decide(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    _csrf: CsrfChecked,
    application_id: IdPath,
    form: Annotated[Submission[DecisionForm], Depends(DecisionForm.submitted)],
) -> Response:
    decision = form.build(lambda f: Decision(approve=f.approve, reason=f.reason))
    if decision is None or form.data is None:
        return _application_page(request, db, user, application_id, form=form, status_code=422)
    if form.data.stage == "provider":
        service.provider_decide(db, actor=user, application_id=application_id, decision=decision)
    else:
        service.bureau_decide(db, actor=user, application_id=application_id, decision=decision)
    return RedirectResponse(f"/exchange/applications/{application_id}?notice=saved", status_code=303)


@router.post("/grants/{grant_id}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request,
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.REVIEW))],
    _csrf: CsrfChecked,
    grant_id: IdPath,
    form: Annotated[Submission[RevokeForm], Depends(RevokeForm.submitted)],
) -> Response:
    if form.data is None:
        return _grant_page(request, db, user, grant_id, form=form, status_code=422)
    service.revoke_grant(db, actor=user, grant_id=grant_id, reason=form.data.reason or "提供部门撤销")
    return RedirectResponse("/exchange?notice=saved", status_code=303)


def _grant_page(
    request: Request, db: DbSession, user: Principal, grant_id: int, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    context = {
        "g": service.get_grant(db, actor=user, grant_id=grant_id),
        "calls": service.list_calls(db, actor=user, grant_id=grant_id),
        "departments": _departments(db),
    }
    return render(request, "exchange/grant.html", context | extra, status_code=status_code)


@router.get("/grants/{grant_id}", response_class=HTMLResponse)
def grant_page(request: Request, db: DbSession, user: UsageReader, grant_id: IdPath) -> HTMLResponse:
    return _grant_page(request, db, user, grant_id)
