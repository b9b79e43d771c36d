"""Administration pages: accounts, roles, departments, divisions and the audit log."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from yiwang.core import audit
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.params import IdPath
from yiwang.core.permissions import AUDIT_READ, registry
from yiwang.core.runtime import CipherDep
from yiwang.core.security import CurrentUser, Principal, require
from yiwang.org import accounts, service
from yiwang.org import permissions as perm
from yiwang.org.pages import KIND_NAMES
from yiwang.org.schemas import DepartmentCreate, DivisionCreate, UserCreate, UserUpdate
from yiwang.web import nav
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import PageForm
from yiwang.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)
PAGE_SIZE = 30


def _failure_message(exc: ValidationError | AppError) -> str:
    """One readable line for the page: the first field error, or the service's message."""
    if isinstance(exc, AppError):
        return exc.message
    error = exc.errors()[0]
    field = ".".join(str(p) for p in error.get("loc", ()))
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{field}：{message}" if field else message


@router.get("", response_class=HTMLResponse)
def admin_home(request: Request, user: CurrentUser) -> HTMLResponse:
    return render(request, "org/admin_home.html", {"entries": nav.visible_entries(user, "admin")})


# ---- accounts --------------------------------------------------------------------------------


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.USER_READ))],
    q: str = "",
    kind: str = "",
    department: str = "",
    role: str = "",
    page: int = 1,
) -> HTMLResponse:
    page = max(page, 1)
    filters = accounts.UserFilter(q=q or None, kind=kind or None, department_code=department or None, role=role or None)
    items, total = accounts.list_users(
        db, actor=user, cipher=cipher, filters=filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return render(
        request,
        "org/users.html",
        {
            "items": items,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "filters": filters,
            "kind_names": KIND_NAMES,
            "departments": service.list_departments(db),
            "roles": service.list_roles(db),
        },
    )


def _end_failed_write(db: DbSession, exc: ValidationError | AppError) -> None:
    """Keep what a refusal recorded (an audited denial); drop everything else."""
    if isinstance(exc, AppError) and exc.commit:
        db.commit()
    else:
        db.rollback()


def _user_form_context(db: DbSession) -> dict[str, object]:
    return {"departments": service.list_departments(db), "roles": service.list_roles(db), "kind_names": KIND_NAMES}


@router.get("/users/new", response_class=HTMLResponse)
def new_user_page(
    request: Request, db: DbSession, _: Annotated[Principal, Depends(require(perm.USER_WRITE))]
) -> HTMLResponse:
    return render(request, "org/user_new.html", _user_form_context(db) | {"form": {}})


@router.post("/users/new", response_class=HTMLResponse)
def new_user_submit(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.USER_WRITE))],
    _csrf: CsrfChecked,
    form: PageForm,
) -> Response:
    raw = {k: str(v).strip() for k, v in form.items() if k != "csrf_token" and isinstance(v, str) and str(v).strip()}
    raw_roles = [str(v) for v in form.getlist("roles")]
    raw.pop("roles", None)
    try:
        data = UserCreate(**raw, roles=raw_roles)
        created = accounts.create_user(db, actor=user, data=data, cipher=cipher)
    except (ValidationError, AppError) as exc:
        _end_failed_write(db, exc)
        return render(
            request,
            "org/user_new.html",
            _user_form_context(db) | {"form": raw, "error_message": _failure_message(exc)},
            status_code=exc.status_code if isinstance(exc, AppError) else 422,
        )
    return RedirectResponse(f"/admin/users/{created.id}?notice=created", status_code=303)


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.USER_READ))],
    user_id: IdPath,
) -> HTMLResponse:
    account = accounts.get_user(db, actor=user, user_id=user_id, cipher=cipher)
    return render(request, "org/user_detail.html", _user_form_context(db) | {"account": account})


@router.post("/users/{user_id}", response_class=HTMLResponse)
def user_update(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.USER_WRITE))],
    user_id: IdPath,
    _csrf: CsrfChecked,
    form: PageForm,
) -> Response:
    try:
        data = UserUpdate(
            display_name=str(form.get("display_name", "")).strip() or None,
            department_code=str(form.get("department_code", "")) or None,
            roles=[str(v) for v in form.getlist("roles")],
            active=form.get("active") == "on",
        )
        accounts.update_user(db, actor=user, user_id=user_id, data=data, cipher=cipher)
    except (ValidationError, AppError) as exc:
        _end_failed_write(db, exc)
        message = _failure_message(exc)
        account = accounts.get_user(db, actor=user, user_id=user_id, cipher=cipher)
        return render(
            request,
            "org/user_detail.html",
            _user_form_context(db) | {"account": account, "error_message": message},
            status_code=exc.status_code if isinstance(exc, AppError) else 422,
        )
    return RedirectResponse(f"/admin/users/{user_id}?notice=saved", status_code=303)


@router.post("/users/{user_id}/unlock")
def user_unlock(
    db: DbSession, user: Annotated[Principal, Depends(require(perm.USER_WRITE))], user_id: IdPath, _csrf: CsrfChecked
) -> Response:
    accounts.unlock_user(db, actor=user, user_id=user_id)
    return RedirectResponse(f"/admin/users/{user_id}?notice=unlocked", status_code=303)


@router.post("/users/{user_id}/reveal", response_class=HTMLResponse)
def user_reveal(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.USER_READ))],
    user_id: IdPath,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form(min_length=2, max_length=200)],
) -> HTMLResponse:
    """Show personal fields in clear with a stated reason; the read is audited (and refused without the right)."""
    personal = accounts.read_personal(db, actor=user, user_id=user_id, cipher=cipher, reason=reason)
    account = accounts.get_user(db, actor=user, user_id=user_id, cipher=cipher)
    return render(request, "org/user_detail.html", _user_form_context(db) | {"account": account, "personal": personal})


# ---- roles, departments, divisions -----------------------------------------------------------


def _roles_context(db: DbSession) -> dict[str, object]:
    permissions = sorted(registry.permissions.values(), key=lambda p: p.name)
    return {"roles": service.list_roles(db), "permissions": permissions}


@router.get("/roles", response_class=HTMLResponse)
def roles_page(
    request: Request, db: DbSession, _: Annotated[Principal, Depends(require(perm.ROLE_READ))]
) -> HTMLResponse:
    return render(request, "org/roles.html", _roles_context(db))


@router.post("/roles/{code}", response_class=HTMLResponse)
def role_update(
    request: Request,
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.ROLE_WRITE))],
    code: str,
    _csrf: CsrfChecked,
    form: PageForm,
) -> Response:
    try:
        service.set_role_permissions(
            db, actor=user, code=code, permissions=[str(v) for v in form.getlist("permissions")]
        )
    except AppError as exc:
        _end_failed_write(db, exc)
        return render(
            request,
            "org/roles.html",
            _roles_context(db) | {"error_message": exc.message},
            status_code=exc.status_code,
        )
    return RedirectResponse("/admin/roles?notice=saved", status_code=303)


@router.get("/departments", response_class=HTMLResponse)
def departments_page(
    request: Request, db: DbSession, _: Annotated[Principal, Depends(require(perm.DEPARTMENT_READ))]
) -> HTMLResponse:
    return render(
        request,
        "org/departments.html",
        {"tree": service.department_tree(db), "departments": service.list_departments(db)},
    )


@router.post("/departments", response_class=HTMLResponse)
def department_create(
    request: Request,
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.DEPARTMENT_WRITE))],
    _csrf: CsrfChecked,
    code: Annotated[str, Form()],
    short_name: Annotated[str, Form()],
    full_name: Annotated[str, Form()],
    parent_code: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = DepartmentCreate(
            code=code.strip().upper(),
            short_name=short_name,
            full_name=full_name,
            kind="unit",
            parent_code=parent_code or None,
        )
        service.create_department(db, actor=user, data=data)
    except (ValidationError, AppError) as exc:
        db.rollback()
        message = _failure_message(exc)
        return render(
            request,
            "org/departments.html",
            {
                "tree": service.department_tree(db),
                "departments": service.list_departments(db),
                "error_message": message,
            },
            status_code=422,
        )
    return RedirectResponse("/admin/departments?notice=created", status_code=303)


@router.get("/divisions", response_class=HTMLResponse)
def divisions_page(
    request: Request, db: DbSession, _: Annotated[Principal, Depends(require(perm.DIVISION_READ))]
) -> HTMLResponse:
    return render(request, "org/divisions.html", _divisions_context(db))


@router.post("/divisions", response_class=HTMLResponse)
def division_create(
    request: Request,
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.DIVISION_WRITE))],
    _csrf: CsrfChecked,
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    level: Annotated[str, Form()],
    parent_code: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = DivisionCreate(code=code, name=name, level=level, parent_code=parent_code or None)
        service.create_division(db, actor=user, data=data)
    except (ValidationError, AppError) as exc:
        db.rollback()
        message = _failure_message(exc)
        return render(
            request, "org/divisions.html", _divisions_context(db) | {"error_message": message}, status_code=422
        )
    return RedirectResponse("/admin/divisions?notice=created", status_code=303)


def _divisions_context(db: DbSession) -> dict[str, object]:
    divisions = service.list_divisions(db)
    children: dict[int | None, list] = {}
    for division in divisions:
        children.setdefault(division.parent_id, []).append(division)
    return {"roots": children.get(None, []), "children": children, "divisions": divisions}


# ---- audit -----------------------------------------------------------------------------------


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    db: DbSession,
    _: Annotated[Principal, Depends(require(AUDIT_READ))],
    actor: str = "",
    action: str = "",
    target_type: str = "",
    target_id: str = "",
    outcome: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> HTMLResponse:
    page = max(page, 1)
    query = audit.AuditQuery(
        actor=actor or None,
        action=action or None,
        target_type=target_type or None,
        target_id=target_id or None,
        outcome=outcome or None,
        since=_parse_time(since),
        until=_parse_time(until),
    )
    rows, total = audit.search(db, query=query, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render(
        request,
        "org/audit.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "q": {
                "actor": actor,
                "action": action,
                "target_type": target_type,
                "target_id": target_id,
                "outcome": outcome,
                "since": since,
                "until": until,
            },
        },
    )


@router.post("/audit/verify", response_class=HTMLResponse)
def audit_verify(
    request: Request, db: DbSession, _: Annotated[Principal, Depends(require(AUDIT_READ))], _csrf: CsrfChecked
) -> HTMLResponse:
    result = audit.verify(db, request.app.state.runtime.signing_key.public_key())
    rows, total = audit.search(db, query=audit.AuditQuery(), limit=PAGE_SIZE)
    return render(
        request,
        "org/audit.html",
        {"rows": rows, "total": total, "page": 1, "pages": max(1, -(-total // PAGE_SIZE)), "q": {}, "verify": result},
    )
