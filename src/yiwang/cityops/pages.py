"""Pages of 一网统管: report form, event list and detail with actions, supervision, dispatch rules, figures, map."""

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from yiwang.cityops import permissions as p
from yiwang.cityops import service
from yiwang.cityops.schemas import DispatchRuleCreate, EventAction, EventCreate, Rating
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.runtime import CipherDep
from yiwang.core.security import CurrentUser, Principal, require
from yiwang.org import service as org_service
from yiwang.web.csrf import CsrfChecked
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)


def _form_context(db: DbSession) -> dict:
    return {
        "categories": service.list_categories(db),
        "divisions": [d for d in org_service.list_divisions(db) if d.level in ("subdistrict", "town")],
    }


@router.get("/cityops/report", response_class=HTMLResponse)
def report_form(request: Request, db: DbSession, user: Annotated[Principal, Depends(require(p.REPORT))]) -> Response:
    return render(request, "cityops/report.html", _form_context(db))


@router.post("/cityops/report", response_class=HTMLResponse)
def report_submit(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    user: Annotated[Principal, Depends(require(p.REPORT))],
    description: Annotated[str, Form(max_length=4000)],
    division_code: Annotated[str, Form(max_length=20)] = "",
    address: Annotated[str, Form(max_length=300)] = "",
    category_code: Annotated[str, Form(max_length=10)] = "",
    source: Annotated[str, Form(max_length=20)] = "citizen",
    reporter_name: Annotated[str, Form(max_length=50)] = "",
    reporter_phone: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        data = EventCreate(
            description=description,
            division_code=division_code or None,
            address=address,
            category_code=category_code or None,
            source=source if user.kind == "staff" else "citizen",  # type: ignore[arg-type]
            reporter_name=reporter_name or None,
            reporter_phone=reporter_phone or None,
        )
        event = service.create_event(db, actor=user, data=data, cipher=cipher)
    except ValidationError as exc:
        message = "；".join(f"{e['loc'][-1]}：{e['msg']}" for e in exc.errors())
        return render(request, "cityops/report.html", {**_form_context(db), "error_message": message}, status_code=422)
    except AppError as exc:
        db.rollback()
        return render(
            request,
            "cityops/report.html",
            {**_form_context(db), "error_message": exc.message},
            status_code=exc.status_code,
        )
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


@router.get("/cityops/events/{number}", response_class=HTMLResponse)
def event_detail(request: Request, number: str, db: DbSession, cipher: CipherDep, user: CurrentUser) -> Response:
    event = service.get_event_row(db, actor=user, number=number)
    view = service.to_read(db, event, actor=user, cipher=cipher)
    actions = [
        a
        for a, (froms, _to, who) in service.TRANSITIONS.items()
        if event.status in froms and a != "rate" and service.role_ok(db, event, who, user)
    ]
    return render(
        request,
        "cityops/detail.html",
        {
            "event": view,
            "transitions": service.transitions(db, event_id=event.id),
            "actions": actions,
            "action_names": service.ACTION_NAMES,
            "departments": org_service.list_departments(db),
            "categories": service.list_categories(db),
            "can_rate": event.status == "closed" and user.user_id == event.reporter_user_id,
        },
    )


@router.post("/cityops/events/{number}/action")
def event_action_form(
    request: Request,
    number: str,
    db: DbSession,
    _csrf: CsrfChecked,
    user: CurrentUser,
    action: Annotated[str, Form(max_length=30)],
    note: Annotated[str, Form(max_length=1000)] = "",
    department_code: Annotated[str, Form(max_length=40)] = "",
    category_code: Annotated[str, Form(max_length=10)] = "",
    hours: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        data = EventAction(
            action=action,
            note=note or None,
            department_code=department_code or None,  # type: ignore[arg-type]
            category_code=category_code or None,
            hours=int(hours) if hours.isdigit() else None,
        )
    except ValidationError as exc:
        raise AppError("操作参数无效", code="validation_failed", status_code=422) from exc
    service.act(db, actor=user, number=number, data=data)
    return RedirectResponse(f"/cityops/events/{number}?notice=saved", status_code=303)


@router.post("/cityops/events/{number}/rating")
def rating_form(
    number: str,
    db: DbSession,
    _csrf: CsrfChecked,
    user: CurrentUser,
    rating: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    service.rate(db, actor=user, number=number, data=Rating(rating=rating, comment=comment or None))
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
_RULE_FIELDS = {"division_code": "区划", "category_code": "事件类别", "department_code": "责任部门"}


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
    form: dict[str, str] | None = None,
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
            "form": form or {},
            "error_message": error,
        },
        status_code=status_code,
    )


def _rule_form_message(exc: ValidationError) -> str:
    """The form's mistakes in words a dispatcher reads, not the validator's English."""
    messages = []
    for error in exc.errors():
        field = str(error["loc"][-1]) if error["loc"] else ""
        if field == "sla_hours":
            messages.append("时限须为 1 到 720 之间的整数小时，或留空按类别默认")
        elif error["type"] == "string_too_short":
            messages.append(f"请选择{_RULE_FIELDS.get(field, field)}")
        else:
            messages.append(f"{_RULE_FIELDS.get(field, field)}无效")
    return "；".join(dict.fromkeys(messages))


@router.get("/cityops/rules", response_class=HTMLResponse)
def rules_page(request: Request, db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]) -> Response:
    return _rules_page(request, db, user)


@router.post("/cityops/rules", response_class=HTMLResponse)
def rule_add_form(
    request: Request,
    db: DbSession,
    _csrf: CsrfChecked,
    user: Configurer,
    division_code: Annotated[str, Form(max_length=20)] = "",
    category_code: Annotated[str, Form(max_length=10)] = "",
    department_code: Annotated[str, Form(max_length=40)] = "",
    sla_hours: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    form = {
        "division_code": division_code,
        "category_code": category_code,
        "department_code": department_code,
        "sla_hours": sla_hours,
    }
    try:
        data = DispatchRuleCreate(
            division_code=division_code,
            category_code=category_code,
            department_code=department_code,
            sla_hours=sla_hours.strip() or None,  # type: ignore[arg-type]  # the form sends text; the model parses it
        )
        service.add_dispatch_rule(db, actor=user, data=data)  # checks everything before it writes
    except ValidationError as exc:
        return _rules_page(request, db, user, form=form, error=_rule_form_message(exc), status_code=422)
    except AppError as exc:
        return _rules_page(request, db, user, form=form, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/cityops/rules?notice=created", status_code=303)


@router.post("/cityops/rules/{rule_id}/delete", response_class=HTMLResponse)
def rule_delete_form(
    request: Request,
    rule_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
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
            "map": service.map_points(db, actor=user) if user.has(p.READ) else {"points": [], "divisions": []},
        },
    )
