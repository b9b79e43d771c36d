"""Pages of 统一身份认证: login, logout, the account page (password, personal data, API keys), and the
staff workbench, headed by the account's department and roles."""

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.config import Settings
from yiwang.core import workbench
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError, NotFound
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import (
    CurrentUser,
    MaybeUser,
    Principal,
    before_password_change,
    client_ip,
    during_enrolment,
    public,
    require,
)
from yiwang.org import accounts, auth, mfa, service
from yiwang.org.models import User
from yiwang.org.page_forms import ApiKeyForm, LoginForm, PasswordForm
from yiwang.org.permissions import WORKBENCH_VIEW
from yiwang.web import signout
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)

KIND_NAMES = {"staff": "工作人员", "citizen": "个人", "enterprise": "企业", "system": "系统客户端"}


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot be used to redirect elsewhere."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
@public
def login_page(request: Request, user: MaybeUser, next: str = "/", reauth: bool = False) -> Response:
    """The one login page of the platform and of every application signed in through it (单点登录).

    `reauth` asks a signed-in person to authenticate again (an application's prompt=login or max_age)."""
    if user.is_authenticated and not reauth:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "org/login.html", {"next_url": _safe_next(next)})


@router.post("/login", response_class=HTMLResponse)
@public
def login_submit(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[LoginForm], Depends(LoginForm.submitted)],
) -> Response:
    """Check the password, start a server-side session, and set an HttpOnly SameSite cookie."""
    next_url = _safe_next(form.value("next", "/"))
    if form.data is None:
        return render(request, "org/login.html", {"form": form, "next_url": next_url}, status_code=422)
    ip = client_ip(request)
    try:
        user = auth.login_with_password(
            db,
            username=form.data.username,
            password=form.data.password,
            ip=ip,
            settings=settings,
            kinds={"staff", "citizen", "enterprise"},
        )
    except AppError as exc:
        db.commit()  # keep the counted failure and its audit entry
        return render(
            request,
            "org/login.html",
            {"error_message": exc.message, "form": form, "next_url": next_url},
            status_code=exc.status_code,
        )
    needs = mfa.requirement(db, user=user)
    if needs is mfa.Requirement.VERIFY:  # the password was right: now the code, on its own page
        pending, _ = auth.issue_credential(
            db, user=user, kind=auth.MFA_PENDING, lifetime=auth.PENDING_LIFETIME, ip=ip, label="second factor"
        )
        # Where to go afterwards rides along in the address and the form, as on the login page: an
        # application's sign-in request can be longer than any column would hold.
        after = "" if next_url == "/" else "?" + urlencode({"next": next_url})
        response = RedirectResponse(f"/login/second-factor{after}", status_code=303)
        response.set_cookie(
            auth.PENDING_COOKIE,
            pending,
            max_age=int(auth.PENDING_LIFETIME.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
            path="/login",
        )
        return response
    if needs is mfa.Requirement.ENROL:  # a session that opens nothing but enrolment
        return start_session(
            request, db, user=user, settings=settings, ip=ip, target="/account/second-factor", kind=auth.ENROLMENT
        )
    return start_session(request, db, user=user, settings=settings, ip=ip, target=next_url)


def start_session(
    request: Request,
    db: DbSession,
    *,
    user: User,
    settings: Settings,
    ip: str | None,
    target: str,
    kind: str = auth.SESSION,
) -> Response:
    """Issue a server-side session and set it as an HttpOnly SameSite cookie; go to `target`.

    Signing in again (re-authentication) replaces the browser's previous session."""
    previous = request.cookies.get(auth.SESSION_COOKIE)
    if previous:
        auth.revoke_secret(db, actor=auth.build_principal(db, user=user, via="password", ip=ip), secret=previous)
    lifetime = timedelta(minutes=settings.session_minutes)
    if kind == auth.ENROLMENT:
        lifetime = min(lifetime, auth.ENROLMENT_LIFETIME)
    secret, _ = auth.issue_credential(
        db,
        user=user,
        kind=kind,
        lifetime=lifetime,
        ip=ip,
        label="web",
        user_agent=request.headers.get("user-agent"),
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        secret,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return response


@router.post("/logout")
@during_enrolment
def logout(request: Request, db: DbSession, user: CurrentUser, _csrf: CsrfChecked) -> Response:
    """End the browser session; applications signed in through it are logged out too (back-channel
    through the events outbox, front-channel by the frames of the page shown here)."""
    secret = request.cookies.get(auth.SESSION_COOKIE)
    if secret:
        auth.revoke_secret(db, actor=user, secret=secret)
    frames = signout.frontchannel_urls(db, user.session_id)
    response: Response
    if frames:
        response = render(request, "org/logged_out.html", {"frames": frames})
        response.headers["content-security-policy"] = signout.frame_policy(frames)
    else:
        response = RedirectResponse("/?notice=logged_out", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


def _account_context(db: DbSession, user: CurrentUser, cipher: CipherDep) -> dict[str, object]:
    assert user.user_id is not None
    roles = {r.code: r.name for r in service.list_roles(db)}
    return {
        "account": accounts.get_user(db, actor=user, user_id=user.user_id, cipher=cipher),
        "kind_names": KIND_NAMES,
        "role_names": [roles.get(code, code) for code in sorted(user.roles)],
        "second_factor": mfa.status(db, user_id=user.user_id),
    }


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, db: DbSession, user: CurrentUser, cipher: CipherDep) -> HTMLResponse:
    return render(request, "org/account.html", _account_context(db, user, cipher))


@router.post("/account/reveal", response_class=HTMLResponse)
def account_reveal(
    request: Request, db: DbSession, user: CurrentUser, cipher: CipherDep, _csrf: CsrfChecked
) -> HTMLResponse:
    """The holder sees their own personal data in clear; the read is audited like anyone else's."""
    assert user.user_id is not None
    personal = accounts.read_personal(db, actor=user, user_id=user.user_id, cipher=cipher, reason="本人查看")
    return render(request, "org/account.html", _account_context(db, user, cipher) | {"personal": personal})


@router.get("/account/password", response_class=HTMLResponse)
@before_password_change
def password_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """The change-password form; an account whose password must change is sent here first."""
    return render(request, "org/account_password.html", {"must_change": user.must_change_password})


@router.post("/account/password", response_class=HTMLResponse)
@before_password_change
def account_password(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[PasswordForm], Depends(PasswordForm.submitted)],
) -> Response:
    error, status_code = None, 422
    if form.data is not None:
        try:
            auth.change_password(
                db, actor=user, current_password=form.data.current_password, new_password=form.data.new_password
            )
            return RedirectResponse("/account?notice=password_changed", status_code=303)
        except AppError as exc:
            if exc.commit:
                db.commit()
            else:
                db.rollback()
            error, status_code = exc.message, exc.status_code
    context = {"password_form": form, "password_error": error}
    if user.must_change_password:  # the full account page is not open to it yet
        return render(request, "org/account_password.html", {"must_change": True} | context, status_code=status_code)
    return render(request, "org/account.html", _account_context(db, user, cipher) | context, status_code=status_code)


@router.post("/account/api-keys", response_class=HTMLResponse)
def account_api_key(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    cipher: CipherDep,
    settings: SettingsDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[ApiKeyForm], Depends(ApiKeyForm.submitted)],
) -> HTMLResponse:
    if form.data is None:
        return render(
            request, "org/account.html", _account_context(db, user, cipher) | {"key_form": form}, status_code=422
        )
    account = accounts.get_user_by_username(db, username=user.username)
    if account is None:
        raise NotFound("账号不存在")
    secret, _ = auth.issue_api_key(db, actor=user, user=account, settings=settings, label=form.data.label)
    return render(request, "org/account.html", _account_context(db, user, cipher) | {"new_api_key": secret})


@router.get("/workbench", response_class=HTMLResponse)
def workbench_page(
    request: Request, db: DbSession, user: Annotated[Principal, Depends(require(WORKBENCH_VIEW))]
) -> HTMLResponse:
    """The staff member's pending work gathered from every domain."""
    department = service.get_department(db, department_id=user.department_id) if user.department_id else None
    roles = {r.code: r.name for r in service.list_roles(db)}
    return render(
        request,
        "org/workbench.html",
        {
            "work_items": workbench.pending_work(db, user),
            "department_name": department.full_name if department else None,
            "role_names": [roles.get(code, code) for code in sorted(user.roles)],
        },
    )
