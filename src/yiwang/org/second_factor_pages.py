"""Pages of the second factor (双因素认证): the login's second step, and the account's authenticator
(enrol with a QR code, confirm with a first code, recovery codes shown once, remove)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import CurrentUser, Principal, client_ip, during_enrolment, public
from yiwang.org import auth, mfa
from yiwang.org.models import Credential, User
from yiwang.org.page_forms import OtpForm
from yiwang.org.pages import _safe_next, start_session
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)


def _pending(request: Request, db: DbSession) -> tuple[Credential, User] | None:
    secret = request.cookies.get(auth.PENDING_COOKIE)
    return auth.pending_login(db, secret=secret) if secret else None


def _back_to_login() -> Response:
    response = RedirectResponse("/login?notice=second_factor_expired", status_code=303)
    response.delete_cookie(auth.PENDING_COOKIE, path="/login")
    return response


@router.get("/login/second-factor", response_class=HTMLResponse)
@public
def second_step_page(request: Request, db: DbSession, next: str = "/") -> Response:
    """The code after the password; without a live pending login, back to the login page."""
    if _pending(request, db) is None:
        return _back_to_login()
    return render(request, "org/login_second_factor.html", {"next_url": _safe_next(next)})


@router.post("/login/second-factor", response_class=HTMLResponse)
@public
def second_step_submit(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[OtpForm], Depends(OtpForm.submitted)],
) -> Response:
    """Check the code (or a recovery code), throttled like passwords; then the session starts."""
    found = _pending(request, db)
    if found is None:
        return _back_to_login()
    credential, user = found
    next_url = _safe_next(form.value("next", "/"))
    if form.data is None:
        context = {"form": form, "next_url": next_url}
        return render(request, "org/login_second_factor.html", context, status_code=422)
    ip = client_ip(request)
    try:
        method = mfa.verify_login(
            db, user=user, code=form.data.code, ip=ip, settings=settings, cipher=cipher, via="page"
        )
    except AppError as exc:
        db.commit()  # keep the counted failure and its audit entry
        return render(
            request,
            "org/login_second_factor.html",
            {"form": form, "error_message": exc.message, "next_url": next_url},
            status_code=exc.status_code,
        )
    auth.end_pending_login(db, credential=credential)
    target = next_url
    if method == "recovery_code":
        target = "/account/second-factor?notice=recovery_code_used"
    response = start_session(request, db, user=user, settings=settings, ip=ip, target=target)
    response.delete_cookie(auth.PENDING_COOKIE, path="/login")
    return response


def _own_context(db: DbSession, user: Principal, cipher: CipherDep) -> dict[str, object]:
    assert user.user_id is not None
    return {
        "status": mfa.status(db, user_id=user.user_id),
        "enrolment": mfa.pending_enrolment(db, actor=user, cipher=cipher),
        "enrolling_login": user.must_enrol_second_factor,
    }


def _own_page(
    request: Request, db: DbSession, user: Principal, cipher: CipherDep, *, status_code: int = 200, **extra: object
) -> HTMLResponse:
    return render(request, "org/second_factor.html", _own_context(db, user, cipher) | extra, status_code=status_code)


@router.get("/account/second-factor", response_class=HTMLResponse)
@during_enrolment
def own_factor_page(request: Request, db: DbSession, user: CurrentUser, cipher: CipherDep) -> HTMLResponse:
    """The account's authenticator: its state, or the enrolment in progress with its QR code."""
    return _own_page(request, db, user, cipher)


@router.post("/account/second-factor/start", response_class=HTMLResponse)
@during_enrolment
def own_factor_start(
    request: Request, db: DbSession, user: CurrentUser, cipher: CipherDep, _csrf: CsrfChecked
) -> HTMLResponse:
    mfa.begin_totp(db, actor=user, cipher=cipher)
    return _own_page(request, db, user, cipher)


@router.post("/account/second-factor/confirm", response_class=HTMLResponse)
@during_enrolment
def own_factor_confirm(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    cipher: CipherDep,
    settings: SettingsDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[OtpForm], Depends(OtpForm.submitted)],
) -> Response:
    """Confirm with the first code; the recovery codes are shown once. A login that was held at
    enrolment becomes a full session now."""
    if form.data is None:
        return _own_page(request, db, user, cipher, form=form, status_code=422)
    try:
        codes = mfa.confirm_totp(db, actor=user, cipher=cipher, code=form.data.code)
    except AppError as exc:
        if exc.commit:
            db.commit()
        return _own_page(request, db, user, cipher, form=form, error_message=exc.message, status_code=exc.status_code)
    page = render(request, "org/recovery_codes.html", {"codes": codes, "enrolled_now": True})
    if user.must_enrol_second_factor:
        account = auth.account_of(db, principal=user)
        secret = request.cookies.get(auth.SESSION_COOKIE)
        if secret:
            auth.revoke_secret(db, actor=user, secret=secret)
        session = start_session(request, db, user=account, settings=settings, ip=client_ip(request), target="/")
        for name, value in session.headers.items():
            if name.lower() == "set-cookie":
                page.headers.append("set-cookie", value)
    return page


@router.post("/account/second-factor/recovery-codes", response_class=HTMLResponse)
def own_recovery_codes(
    request: Request, db: DbSession, user: CurrentUser, cipher: CipherDep, _csrf: CsrfChecked
) -> HTMLResponse:
    """Ten new recovery codes, shown once; the old ones stop working."""
    codes = mfa.regenerate_recovery_codes(db, actor=user, cipher=cipher)
    return render(request, "org/recovery_codes.html", {"codes": codes, "enrolled_now": False})


@router.post("/account/second-factor/remove", response_class=HTMLResponse)
def own_factor_remove(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[OtpForm], Depends(OtpForm.submitted)],
) -> Response:
    if form.data is None:
        return _own_page(request, db, user, cipher, remove_form=form, status_code=422)
    try:
        mfa.remove_own(db, actor=user, cipher=cipher, code=form.data.code)
    except AppError as exc:
        if exc.commit:
            db.commit()
        else:
            db.rollback()
        return _own_page(
            request, db, user, cipher, remove_form=form, remove_error=exc.message, status_code=exc.status_code
        )
    return RedirectResponse("/account/second-factor?notice=second_factor_removed", status_code=303)
