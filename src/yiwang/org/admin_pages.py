"""Administration pages: accounts, roles, departments, divisions and the audit log."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.core import audit
from yiwang.core.db import DbSession
from yiwang.core.downloads import attachment
from yiwang.core.errors import AppError
from yiwang.core.params import IdPath
from yiwang.core.permissions import AUDIT_READ, registry
from yiwang.core.runtime import CipherDep
from yiwang.core.security import CurrentUser, Principal, require
from yiwang.core.spreadsheets import XLSX_MEDIA_TYPE
from yiwang.org import accounts, audit_reading, mfa, service
from yiwang.org import permissions as perm
from yiwang.org.page_forms import DepartmentForm, DivisionForm, NewUserForm, RoleForm, UserEditForm
from yiwang.org.pages import KIND_NAMES
from yiwang.org.schemas import DepartmentCreate, DivisionCreate, UserCreate, UserUpdate
from yiwang.web import nav
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import RevealForm, Submission
from yiwang.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)
PAGE_SIZE = 30


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


def _end_failed_write(db: DbSession, exc: AppError) -> None:
    """Keep what a refusal recorded (an audited denial); drop everything else."""
    if exc.commit:
        db.commit()
    else:
        db.rollback()


def _user_form_context(db: DbSession) -> dict[str, object]:
    return {"departments": service.list_departments(db), "roles": service.list_roles(db), "kind_names": KIND_NAMES}


@router.get("/users/new", response_class=HTMLResponse)
def new_user_page(
    request: Request, db: DbSession, _: Annotated[Principal, Depends(require(perm.USER_WRITE))]
) -> HTMLResponse:
    return render(request, "org/user_new.html", _user_form_context(db))


@router.post("/users/new", response_class=HTMLResponse)
def new_user_submit(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.USER_WRITE))],
    _csrf: CsrfChecked,
    form: Annotated[Submission[NewUserForm], Depends(NewUserForm.submitted)],
) -> Response:
    data = form.to(UserCreate)
    if data is None:
        return render(request, "org/user_new.html", _user_form_context(db) | {"form": form}, status_code=422)
    try:
        created = accounts.create_user(db, actor=user, data=data, cipher=cipher)
    except AppError as exc:
        _end_failed_write(db, exc)
        return render(
            request,
            "org/user_new.html",
            _user_form_context(db) | {"form": form, "error_message": exc.message},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/admin/users/{created.id}?notice=created", status_code=303)


def _user_page(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Principal,
    user_id: int,
    *,
    status_code: int = 200,
    **extra: object,
) -> HTMLResponse:
    account = accounts.get_user(db, actor=user, user_id=user_id, cipher=cipher)
    context = _user_form_context(db) | {"account": account, "factor": mfa.status(db, user_id=user_id)}
    return render(request, "org/user_detail.html", context | extra, status_code=status_code)


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.USER_READ))],
    user_id: IdPath,
) -> HTMLResponse:
    return _user_page(request, db, cipher, user, user_id)


@router.post("/users/{user_id}", response_class=HTMLResponse)
def user_update(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.USER_WRITE))],
    user_id: IdPath,
    _csrf: CsrfChecked,
    form: Annotated[Submission[UserEditForm], Depends(UserEditForm.submitted)],
) -> Response:
    data = form.to(UserUpdate)
    if data is None:
        return _user_page(request, db, cipher, user, user_id, form=form, status_code=422)
    try:
        accounts.update_user(db, actor=user, user_id=user_id, data=data, cipher=cipher)
    except AppError as exc:
        _end_failed_write(db, exc)
        return _user_page(
            request, db, cipher, user, user_id, form=form, error_message=exc.message, status_code=exc.status_code
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
    form: Annotated[Submission[RevealForm], Depends(RevealForm.submitted)],
) -> HTMLResponse:
    """Show personal fields in clear with a stated reason; the read is audited (and refused without the right)."""
    if form.data is None:
        return _user_page(request, db, cipher, user, user_id, reveal_form=form, status_code=422)
    personal = accounts.read_personal(db, actor=user, user_id=user_id, cipher=cipher, reason=form.data.reason)
    return _user_page(request, db, cipher, user, user_id, personal=personal)


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
    form: Annotated[Submission[RoleForm], Depends(RoleForm.submitted)],
) -> Response:
    refused = {"role_code": code, "role_form": form}
    if form.data is None:
        return render(request, "org/roles.html", _roles_context(db) | refused, status_code=422)
    try:
        service.set_role_permissions(db, actor=user, code=code, permissions=form.data.permissions)
    except AppError as exc:
        _end_failed_write(db, exc)
        return render(
            request,
            "org/roles.html",
            _roles_context(db) | refused | {"error_message": exc.message},
            status_code=exc.status_code,
        )
    return RedirectResponse("/admin/roles?notice=saved", status_code=303)


@router.get("/departments", response_class=HTMLResponse)
def departments_page(
    request: Request, db: DbSession, _: Annotated[Principal, Depends(require(perm.DEPARTMENT_READ))]
) -> HTMLResponse:
    return _departments_page(request, db)


def _departments_page(request: Request, db: DbSession, *, status_code: int = 200, **extra: object) -> HTMLResponse:
    context = {"tree": service.department_tree(db), "departments": service.list_departments(db)}
    return render(request, "org/departments.html", context | extra, status_code=status_code)


@router.post("/departments", response_class=HTMLResponse)
def department_create(
    request: Request,
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.DEPARTMENT_WRITE))],
    _csrf: CsrfChecked,
    form: Annotated[Submission[DepartmentForm], Depends(DepartmentForm.submitted)],
) -> Response:
    data = form.build(lambda f: DepartmentCreate(**f.model_dump() | {"code": f.code.upper(), "kind": "unit"}))
    if data is None:
        return _departments_page(request, db, form=form, status_code=422)
    try:
        service.create_department(db, actor=user, data=data)
    except AppError as exc:
        db.rollback()
        return _departments_page(request, db, form=form, error_message=exc.message, status_code=422)
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
    form: Annotated[Submission[DivisionForm], Depends(DivisionForm.submitted)],
) -> Response:
    data = form.to(DivisionCreate)
    if data is None:
        return render(request, "org/divisions.html", _divisions_context(db) | {"form": form}, status_code=422)
    try:
        service.create_division(db, actor=user, data=data)
    except AppError as exc:
        db.rollback()
        return render(
            request,
            "org/divisions.html",
            _divisions_context(db) | {"form": form, "error_message": exc.message},
            status_code=422,
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
    reader: Annotated[Principal, Depends(require(AUDIT_READ))],
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
    audit_reading.record_read(db, actor=reader, query=query, page=page, found=total)
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
    request: Request, db: DbSession, reader: Annotated[Principal, Depends(require(AUDIT_READ))], _csrf: CsrfChecked
) -> HTMLResponse:
    """Check the chain; the check itself goes into the chain."""
    result = audit_reading.verify(db, actor=reader, keyring=request.app.state.runtime.keyring)
    rows, total = audit.search(db, query=audit.AuditQuery(), limit=PAGE_SIZE)
    return render(
        request,
        "org/audit.html",
        {"rows": rows, "total": total, "page": 1, "pages": max(1, -(-total // PAGE_SIZE)), "q": {}, "verify": result},
    )


@router.get("/audit/export")
def audit_export(
    db: DbSession,
    reader: Annotated[Principal, Depends(require(AUDIT_READ))],
    actor: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    """The entries matching the page's filters as a workbook; the export is audited."""
    query = audit.AuditQuery(
        actor=actor or None, action=action or None, since=_parse_time(since), until=_parse_time(until)
    )
    content = audit_reading.export_xlsx(db, actor=reader, query=query)
    return attachment(content, filename="audit-log.xlsx", media_type=XLSX_MEDIA_TYPE)
