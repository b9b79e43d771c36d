"""Pages of live services (服务共享): the list, registering, a service with its calls, applying, and
the calls a department made or answered with their evidence."""

from datetime import timedelta
from math import ceil
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.pagination import PageParams, page_params
from yiwang.core.security import Principal, require
from yiwang.core.timeutil import local_today
from yiwang.exchange import evidence, live_services
from yiwang.exchange import permissions as perm
from yiwang.exchange.page_forms import ServiceApplyForm, ServiceForm
from yiwang.exchange.schemas import SERVICE_CODE_PATTERN, ServiceApplicationCreate, ServiceCreate
from yiwang.org import service as org_service
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(prefix="/exchange", include_in_schema=False)
UsageReader = Annotated[Principal, Depends(require(perm.USAGE_READ))]
Registrar = Annotated[Principal, Depends(require(perm.SERVICE_REGISTER))]
Applicant = Annotated[Principal, Depends(require(perm.APPLY))]
Paging = Annotated[PageParams, Depends(page_params)]
OUTCOME_NAMES = {"answered": "已应答", "refused": "已拒绝", "failed": "失败"}


def _departments(db: DbSession) -> dict[int, str]:
    return {d.id: d.short_name for d in org_service.list_departments(db, include_inactive=True)}


def _pages(total: int, size: int) -> int:
    return max(1, ceil(total / size))


@router.get("/services", response_class=HTMLResponse)
def services(request: Request, db: DbSession, user: UsageReader, paging: Paging) -> HTMLResponse:
    found = live_services.list_services(db, offset=paging.offset, limit=paging.size)
    return render(
        request,
        "exchange/services.html",
        {
            "services": found,
            "page": paging.page,
            "pages": _pages(found.total, paging.size),
            "departments": _departments(db),
            "can_register": user.has(perm.SERVICE_REGISTER),
        },
    )


def _register_page(request: Request, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    return render(request, "exchange/service_new.html", extra, status_code=status_code)


@router.get("/services/new", response_class=HTMLResponse)
def register_form(request: Request, user: Registrar) -> HTMLResponse:
    return _register_page(request)


@router.post("/services/new", response_class=HTMLResponse)
def register_submit(
    request: Request,
    db: DbSession,
    user: Registrar,
    _csrf: CsrfChecked,
    form: Annotated[Submission[ServiceForm], Depends(ServiceForm.submitted)],
) -> Response:
    data = None
    if form.data is not None:
        try:
            document = live_services.parse_openapi_text(form.data.openapi_text)
        except AppError as exc:
            return _register_page(request, form=form, error_message=exc.message, status_code=422)
        data = form.to(
            ServiceCreate,
            operations=form.data.operation_list(),
            openapi=document,
            openapi_url=form.data.openapi_url or None,
        )
    if data is None:
        return _register_page(request, form=form, status_code=422)
    try:
        service = live_services.register_service(db, actor=user, data=data)
    except AppError as exc:
        db.rollback()
        return _register_page(request, form=form, error_message=exc.message, status_code=exc.status_code)
    return RedirectResponse(f"/exchange/services/{service.code}?notice=created", status_code=303)


@router.get("/services/{code}", response_class=HTMLResponse)
def service_page(
    request: Request,
    db: DbSession,
    user: UsageReader,
    paging: Paging,
    code: str,
) -> HTMLResponse:
    service = live_services.get_service(db, code=code)
    provider = user.can_reach_department(service.provider_department_id)
    calls = evidence.list_messages(
        db, actor=user, side="provider" if provider else "consumer", service_code=code,
        offset=paging.offset, limit=paging.size,
    )  # fmt: skip
    return render(
        request,
        "exchange/service.html",
        {
            "s": service,
            "provider": provider,
            "calls": calls,
            "page": paging.page,
            "pages": _pages(calls.total, paging.size),
            "departments": _departments(db),
            "outcome_names": OUTCOME_NAMES,
            "can_apply": user.has(perm.APPLY) and not provider,
        },
    )


def _apply_page(request: Request, db: DbSession, code: str, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    context = {
        "s": live_services.get_service(db, code=code),
        "default_end": (local_today() + timedelta(days=365)).isoformat(),
    }
    return render(request, "exchange/service_apply.html", context | extra, status_code=status_code)


@router.get("/services/{code}/apply", response_class=HTMLResponse)
def apply_form(request: Request, db: DbSession, user: Applicant, code: str) -> HTMLResponse:
    return _apply_page(request, db, code)


@router.post("/services/{code}/apply", response_class=HTMLResponse)
def apply_submit(
    request: Request,
    db: DbSession,
    user: Applicant,
    _csrf: CsrfChecked,
    code: str,
    form: Annotated[Submission[ServiceApplyForm], Depends(ServiceApplyForm.submitted)],
) -> Response:
    data = form.to(ServiceApplicationCreate, service_code=code)
    if data is None:
        return _apply_page(request, db, code, form=form, status_code=422)
    try:
        application = live_services.apply_for_service(db, actor=user, data=data)
    except AppError as exc:
        db.rollback()
        return _apply_page(request, db, code, form=form, error_message=exc.message, status_code=exc.status_code)
    return RedirectResponse(f"/exchange/applications/{application.id}?notice=created", status_code=303)


@router.get("/calls", response_class=HTMLResponse)
def calls(
    request: Request,
    db: DbSession,
    user: UsageReader,
    paging: Paging,
    side: Annotated[Literal["consumer", "provider"], Query()] = "consumer",
    service: Annotated[str | None, Query(pattern=SERVICE_CODE_PATTERN)] = None,
) -> HTMLResponse:
    found = evidence.list_messages(
        db, actor=user, side=side, service_code=service, offset=paging.offset, limit=paging.size
    )
    return render(
        request,
        "exchange/calls.html",
        {
            "calls": found,
            "side": side,
            "page": paging.page,
            "pages": _pages(found.total, paging.size),
            "departments": _departments(db),
            "outcome_names": OUTCOME_NAMES,
        },
    )
