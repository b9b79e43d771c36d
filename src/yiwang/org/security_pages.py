"""The security administrator's pages (安全管理员): a role's second-factor rule, an account's roles
(授权), and the reset of an account's lost second factor with a written reason."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.params import IdPath
from yiwang.core.runtime import CipherDep
from yiwang.core.security import Principal, require
from yiwang.org import accounts, mfa, service
from yiwang.org import permissions as perm
from yiwang.org.admin_pages import _end_failed_write, _roles_context, _user_page
from yiwang.org.page_forms import AssignRolesForm, RoleSecondFactorForm, SecondFactorResetForm
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.post("/roles/{code}/second-factor")
def role_second_factor(
    request: Request,
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.ROLE_WRITE))],
    code: str,
    _csrf: CsrfChecked,
    form: Annotated[Submission[RoleSecondFactorForm], Depends(RoleSecondFactorForm.submitted)],
) -> Response:
    if form.data is None:
        form.refuse()
    try:
        service.set_role_second_factor(db, actor=user, code=code, required=form.data.requires_second_factor)
    except AppError as exc:
        _end_failed_write(db, exc)
        context = _roles_context(db) | {"role_code": code, "error_message": exc.message}
        return render(request, "org/roles.html", context, status_code=exc.status_code)
    return RedirectResponse("/admin/roles?notice=saved", status_code=303)


@router.post("/users/{user_id}/roles")
def user_roles(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.ROLE_ASSIGN))],
    user_id: IdPath,
    _csrf: CsrfChecked,
    form: Annotated[Submission[AssignRolesForm], Depends(AssignRolesForm.submitted)],
) -> Response:
    """Authorisation: the account's complete set of roles (never two of the three administrators)."""
    if form.data is None:
        return _user_page(request, db, cipher, user, user_id, roles_form=form, status_code=422)
    try:
        accounts.assign_roles(db, actor=user, user_id=user_id, role_codes=form.data.roles, cipher=cipher)
    except AppError as exc:
        _end_failed_write(db, exc)
        return _user_page(
            request, db, cipher, user, user_id, roles_form=form, roles_error=exc.message, status_code=exc.status_code
        )
    return RedirectResponse(f"/admin/users/{user_id}?notice=roles_assigned", status_code=303)


@router.post("/users/{user_id}/second-factor/reset")
def user_second_factor_reset(
    request: Request,
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.SECOND_FACTOR_RESET))],
    user_id: IdPath,
    _csrf: CsrfChecked,
    form: Annotated[Submission[SecondFactorResetForm], Depends(SecondFactorResetForm.submitted)],
) -> Response:
    """Remove the account's lost factor; the written reason goes into the audit chain."""
    if form.data is None:
        return _user_page(request, db, cipher, user, user_id, reset_form=form, status_code=422)
    try:
        mfa.reset(db, actor=user, user_id=user_id, reason=form.data.reason)
    except AppError as exc:
        _end_failed_write(db, exc)
        return _user_page(
            request, db, cipher, user, user_id, reset_form=form, reset_error=exc.message, status_code=exc.status_code
        )
    return RedirectResponse(f"/admin/users/{user_id}?notice=second_factor_reset", status_code=303)
