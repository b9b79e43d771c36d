"""Pages of the exchange: apply, applications to answer, grants with usage."""

import re
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from yiwang.catalog import service as catalog_service
from yiwang.core.db import DbSession
from yiwang.core.errors import ValidationFailed
from yiwang.core.params import IdPath
from yiwang.core.security import CurrentUser, Principal, require
from yiwang.core.timeutil import local_today
from yiwang.exchange import permissions as perm
from yiwang.exchange import service
from yiwang.exchange.schemas import ApplicationCreate, Decision
from yiwang.org import service as org_service
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import PageForm
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


def _text(value: object) -> str:
    """A form value as text without NUL characters (PostgreSQL cannot store them)."""
    return str(value or "").replace("\x00", "")


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


@router.get("/apply/{code}", response_class=HTMLResponse)
def apply_form(request: Request, db: DbSession, user: Applicant, code: str) -> HTMLResponse:
    entry = catalog_service.get_entry(db, code=code, actor=user)
    return render(
        request,
        "exchange/apply.html",
        {"entry": entry, "default_end": (local_today() + timedelta(days=365)).isoformat()},
    )


@router.post("/apply/{code}", response_class=HTMLResponse)
def apply_submit(
    request: Request, db: DbSession, user: Applicant, _csrf: CsrfChecked, code: str, form: PageForm
) -> Response:
    try:
        data = ApplicationCreate(
            entry_code=code,
            fields=[str(f) for f in form.getlist("fields")],
            purpose=_text(form.get("purpose")),
            period_end=date.fromisoformat(str(form.get("period_end", ""))),
            row_filter=_row_filter(form.getlist("filter_field"), form.getlist("filter_values")),
        )
    except (ValidationError, ValueError) as exc:
        raise ValidationFailed("请选择字段、填写用途（至少4个字）和有效的使用期限") from exc
    application = service.apply(db, actor=user, data=data)
    return RedirectResponse(f"/exchange/applications/{application.id}?notice=created", status_code=303)


_VALUE_SEPARATORS = re.compile(r"[,，、;；]")


def _row_filter(fields: list[Any], values: list[Any]) -> dict[str, str | list[str]]:
    """The form's filter rows as the API's row filter: field → one value or a list of values."""
    wanted: dict[str, list[str]] = {}
    for field, raw in zip(fields, values, strict=False):
        name = str(field).strip()
        if not name:
            continue
        found = [v.strip() for v in _VALUE_SEPARATORS.split(str(raw)) if v.strip()]
        if not found:
            raise ValidationFailed("行筛选选了字段就须填写取值")
        wanted.setdefault(name, [])
        wanted[name] += [v for v in found if v not in wanted[name]]
    return {name: vals[0] if len(vals) == 1 else vals for name, vals in wanted.items()}


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, db: DbSession, user: CurrentUser, application_id: IdPath) -> HTMLResponse:
    application = service.get_application(db, actor=user, application_id=application_id)
    entry = catalog_service.get_entry(db, code=application.entry_code)
    return render(
        request,
        "exchange/application.html",
        {
            "a": application,
            "entry": entry,
            "departments": _departments(db),
            "status_names": STATUS_NAMES,
            "can_provider": user.has(perm.REVIEW) and user.can_reach_department(application.provider_department_id),
            "bureau": catalog_service.is_bureau(db, user),
        },
    )


@router.post("/applications/{application_id}/decide", response_class=HTMLResponse)
def decide(
    request: Request, db: DbSession, user: CurrentUser, _csrf: CsrfChecked, application_id: IdPath, form: PageForm
):
    decision = Decision(approve=form.get("approve") == "1", reason=_text(form.get("reason"))[:500])
    if form.get("stage") == "provider":
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
    form: PageForm,
) -> Response:
    service.revoke_grant(db, actor=user, grant_id=grant_id, reason=_text(form.get("reason")) or "提供部门撤销")
    return RedirectResponse("/exchange?notice=saved", status_code=303)


@router.get("/grants/{grant_id}", response_class=HTMLResponse)
def grant_page(request: Request, db: DbSession, user: UsageReader, grant_id: IdPath) -> HTMLResponse:
    grant = service.get_grant(db, actor=user, grant_id=grant_id)
    return render(
        request,
        "exchange/grant.html",
        {"g": grant, "calls": service.list_calls(db, actor=user, grant_id=grant_id), "departments": _departments(db)},
    )
