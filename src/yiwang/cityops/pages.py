"""Pages of 一网统管: report form, event list and detail with actions, supervision, dispatch rules, figures, map."""

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.cityops import permissions as p
from yiwang.cityops import service
from yiwang.cityops.page_forms import DispatchRuleForm, EventActionForm, RatingForm, ReportForm
from yiwang.cityops.schemas import DispatchRuleCreate, EventAction, EventCreate, Rating
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.params import IdPath
from yiwang.core.runtime import CipherDep
from yiwang.core.security import CurrentUser, Principal, require
from yiwang.geo import service as geo_service
from yiwang.org import service as org_service
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)


def _form_context(db: DbSession) -> dict:
    return {
        "categories": service.list_categories(db),
        "divisions": [d for d in org_service.list_divisions(db) if d.level in ("subdistrict", "town")],
    }


def _report_page(request: Request, db: DbSession, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    return render(request, "cityops/report.html", _form_context(db) | extra, status_code=status_code)


@router.get("/cityops/report", response_class=HTMLResponse)
def report_form(request: Request, db: DbSession, user: Annotated[Principal, Depends(require(p.REPORT))]) -> Response:
    return _report_page(request, db)


@router.post("/cityops/report", response_class=HTMLResponse)
def report_submit(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    user: Annotated[Principal, Depends(require(p.REPORT))],
    form: Annotated[Submission[ReportForm], Depends(ReportForm.submitted)],
) -> Response:
    # Only staff say where a report came from; a citizen's report is always the citizen's.
    source = form.data.source if form.data is not None and user.kind == "staff" else "citizen"
    data = form.to(EventCreate, source=source)
    if data is None:
        return _report_page(request, db, form=form, status_code=422)
    try:
        event = service.create_event(db, actor=user, data=data, cipher=cipher)
    except AppError as exc:
        db.rollback()
        return _report_page(request, db, form=form, error_message=exc.message, status_code=exc.status_code)
    target = f"/cityops/events/{event.number}" if user.has(p.READ) else "/cityops/mine"
    return RedirectResponse(f"{target}?notice=created", status_code=303)


@router.get("/cityops", response_class=HTMLResponse)
def event_list(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(p.READ))],
    status: str = "",
    category: str = "",
    overdue: bool = False,
    needs_dispatcher: bool = False,
    page: int = 1,
) -> Response:
    filters = service.EventFilter(
        status=status or None, category_code=category or None, overdue=overdue, needs_dispatcher=needs_dispatcher
    )
    page = max(page, 1)
    rows, total = service.list_events(db, actor=user, filters=filters, limit=30, offset=(page - 1) * 30)
    items = service.to_reads(db, rows, actor=user, cipher=cipher)
    return render(
        request,
        "cityops/list.html",
        {
            "items": items,
            "total": total,
            "page": page,
            "status": status,
            "category": category,
            "statuses": service.STATUS_NAMES,
            "categories": service.list_categories(db),
            "overdue": overdue,
            "needs_dispatcher": needs_dispatcher,
        },
    )


def _detail_page(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Principal,
    number: str,
    *,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    event = service.get_event_row(db, actor=user, number=number)
    view = service.to_read(db, event, actor=user, cipher=cipher)
    actions = [
        a
        for a, (froms, _to, who) in service.TRANSITIONS.items()
        if event.status in froms and a != "rate" and service.role_ok(db, event, who, user)
    ]
    context = {
        "event": view,
        "transitions": service.transitions(db, event_id=event.id),
        "actions": actions,
        "action_names": service.ACTION_NAMES,
        "departments": org_service.list_departments(db),
        "categories": service.list_categories(db),
        "can_rate": event.status == "closed" and user.user_id == event.reporter_user_id,
        "nearby": service.nearby(db, actor=user, lon=event.lon, lat=event.lat) if user.kind == "staff" else [],
    }
    return render(request, "cityops/detail.html", context | extra, status_code=status_code)


@router.get("/cityops/events/{number}", response_class=HTMLResponse)
def event_detail(request: Request, number: str, db: DbSession, cipher: CipherDep, user: CurrentUser) -> Response:
    return _detail_page(request, db, cipher, user, number)


@router.post("/cityops/events/{number}/action", response_class=HTMLResponse)
def event_action_form(
    request: Request,
    number: str,
    db: DbSession,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    user: CurrentUser,
    form: Annotated[Submission[EventActionForm], Depends(EventActionForm.submitted)],
) -> Response:
    data = form.to(EventAction)
    if data is None:
        return _detail_page(request, db, cipher, user, number, action_form=form, status_code=422)
    service.act(db, actor=user, number=number, data=data)
    return RedirectResponse(f"/cityops/events/{number}?notice=saved", status_code=303)


@router.post("/cityops/events/{number}/rating", response_class=HTMLResponse)
def rating_form(
    request: Request,
    number: str,
    db: DbSession,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    user: CurrentUser,
    form: Annotated[Submission[RatingForm], Depends(RatingForm.submitted)],
) -> Response:
    data = form.to(Rating)
    if data is None:
        return _detail_page(request, db, cipher, user, number, rating_form=form, status_code=422)
    service.rate(db, actor=user, number=number, data=data)
    return RedirectResponse(f"/cityops/events/{number}?notice=saved", status_code=303)


@router.get("/cityops/mine", response_class=HTMLResponse)
def my_events(request: Request, db: DbSession, cipher: CipherDep, user: CurrentUser) -> Response:
    rows = service.reporter_events(db, actor=user)
    items = service.to_reads(db, rows, actor=user, cipher=cipher)
    return render(request, "cityops/mine.html", {"items": items})


@router.get("/cityops/supervision", response_class=HTMLResponse)
def supervision_page(
    request: Request, db: DbSession, user: Annotated[Principal, Depends(require(p.DISPATCH))]
) -> Response:
    return render(
        request,
        "cityops/supervision.html",
        {"data": service.supervision(db), "can_configure": user.has(p.CONFIG)},
    )


# ---- dispatch rules --------------------------------------------------------------------------------------

Configurer = Annotated[Principal, Depends(require(p.CONFIG))]


def _division_groups(db: DbSession) -> list[tuple[Any, list[Any]]]:
    """Towns and subdistricts, each with its communities and villages, for the division select."""
    divisions = org_service.list_divisions(db)
    below: dict[int | None, list[Any]] = defaultdict(list)
    for d in divisions:
        if d.level in ("community", "village"):
            below[d.parent_id].append(d)
    return [(d, below[d.id]) for d in divisions if d.level in ("subdistrict", "town")]


def _rules_page(
    request: Request,
    db: DbSession,
    user: Principal,
    *,
    form: Submission[DispatchRuleForm] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "cityops/rules.html",
        {
            "rules": service.list_dispatch_rules(db),
            "categories": service.list_categories(db),
            "department_names": {d.code: d.short_name for d in org_service.list_departments(db, include_inactive=True)},
            "departments": org_service.list_departments(db),
            "division_groups": _division_groups(db),
            "can_configure": user.has(p.CONFIG),
            "form": form,
            "error_message": error,
        },
        status_code=status_code,
    )


@router.get("/cityops/rules", response_class=HTMLResponse)
def rules_page(request: Request, db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]) -> Response:
    return _rules_page(request, db, user)


@router.post("/cityops/rules", response_class=HTMLResponse)
def rule_add_form(
    request: Request,
    db: DbSession,
    _csrf: CsrfChecked,
    user: Configurer,
    form: Annotated[Submission[DispatchRuleForm], Depends(DispatchRuleForm.submitted)],
) -> Response:
    data = form.to(DispatchRuleCreate)
    if data is None:
        return _rules_page(request, db, user, form=form, status_code=422)
    try:
        service.add_dispatch_rule(db, actor=user, data=data)  # checks everything before it writes
    except AppError as exc:
        return _rules_page(request, db, user, form=form, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/cityops/rules?notice=created", status_code=303)


@router.post("/cityops/rules/{rule_id}/delete", response_class=HTMLResponse)
def rule_delete_form(
    request: Request,
    rule_id: IdPath,
    db: DbSession,
    _csrf: CsrfChecked,
    user: Configurer,
) -> Response:
    try:
        service.delete_dispatch_rule(db, actor=user, rule_id=rule_id)
    except AppError as exc:
        return _rules_page(request, db, user, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/cityops/rules?notice=saved", status_code=303)


@router.get("/cityops/figures", response_class=HTMLResponse)
def figures_page(request: Request, db: DbSession, user: Annotated[Principal, Depends(require(p.FIGURES))]) -> Response:
    return render(
        request,
        "cityops/figures.html",
        {
            "by_department": service.figures(db, by="department"),
            "by_category": service.figures(db, by="category"),
            "layers": geo_service.map_layers(user, ("divisions", "grid-cells", "buildings", "events")),
        },
    )
