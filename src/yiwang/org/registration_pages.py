"""Pages of self-registration (实名注册) and password reset (找回密码), and the message gateway's record.

Each form has two buttons: 获取验证码 sends only the mobile (and, for a reset, the username) and shows
the page again with everything typed kept; the main button submits the whole form."""

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.masking import mask_phone
from yiwang.core.pagination import PageParams, page_params
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import CurrentUser, Principal, client_ip, public, require
from yiwang.org import codes, messages, recovery, registration
from yiwang.org import permissions as perm
from yiwang.org.page_forms import (
    CitizenRegisterForm,
    EnterpriseRegisterForm,
    PhoneChangeForm,
    RegisterCodeForm,
    ResetCodeForm,
    ResetForm,
)
from yiwang.org.schemas import (
    CitizenRegistration,
    CodeRequest,
    CodeSent,
    EnterpriseRegistration,
    PasswordReset,
    PhoneChange,
    ResetCodeRequest,
)
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)

SEND_CODE = "send_code"
S = TypeVar("S", bound=BaseModel)
# Which field a service's refusal is about, by its error code; others are the page's alert.
FIELD_OF_ERROR = {
    "code_invalid": "code",
    "username_taken": "username",
    "under_age": "id_number",
}


def _anonymous(request: Request) -> Principal:
    return Principal.anonymous(client_ip(request))


def _settle(db: Session, exc: AppError) -> None:
    """Keep what a refusal must keep (a wrong code counted), drop the rest."""
    if exc.commit:
        db.commit()
    else:
        db.rollback()


def _refused(request: Request, template: str, form: Submission[Any], exc: AppError) -> HTMLResponse:
    """A service's refusal: beside the field it is about when there is one, else the page's alert."""
    name = FIELD_OF_ERROR.get(exc.code)
    if name is None and isinstance(exc.details, dict) and "password" in exc.details:
        name = next(n for n in ("password", "new_password") if n in form.model.model_fields)
    if name is not None and name in form.model.model_fields:
        form.add_error(name, exc.message)
        return render(request, template, {"form": form}, status_code=exc.status_code)
    return render(request, template, {"form": form, "error_message": exc.message}, status_code=exc.status_code)


def _send_code(
    request: Request,
    db: Session,
    template: str,
    form: Submission[Any],
    code_form: Submission[Any],
    schema: type[S],
    send: Callable[[Any], CodeSent],
) -> HTMLResponse:
    """The 获取验证码 button: text a code and show the form again, typed values kept, no other errors."""
    shown = replace(form, errors={}, data=None)
    data = code_form.to(schema)
    if data is None:
        shown.errors = dict(code_form.errors)
        return render(request, template, {"form": shown}, status_code=422)
    try:
        issued = send(data)
    except AppError as exc:
        _settle(db, exc)
        return _refused(request, template, shown, exc)
    phone = getattr(data, "phone", "")
    sent = f"{issued.message}。手机号：{mask_phone(phone)}，验证码{issued.expires_in_seconds // 60}分钟内有效"
    return render(request, template, {"form": shown, "code_notice": sent})


# ---- registration ---------------------------------------------------------------------------------


@router.get("/register", response_class=HTMLResponse)
@public
def register_page(request: Request) -> HTMLResponse:
    """Choose between a citizen's and an enterprise's registration."""
    return render(request, "org/register.html")


def _register(
    request: Request,
    db: Session,
    settings: SettingsDep,
    cipher: CipherDep,
    form: Submission[Any],
    code_form: Submission[RegisterCodeForm],
    schema: type[CitizenRegistration] | type[EnterpriseRegistration],
    template: str,
) -> Response:
    actor = _anonymous(request)
    if form.value("action") == SEND_CODE:

        def send(data: CodeRequest) -> CodeSent:
            issued = codes.request_code(
                db, settings=settings, cipher=cipher, actor=actor, purpose=registration.PURPOSE, phone=data.phone
            )
            return CodeSent(message=recovery.CODE_SENT, **vars(issued))

        return _send_code(request, db, template, form, code_form, CodeRequest, send)
    data = form.to(schema)
    if data is None:
        return render(request, template, {"form": form}, status_code=422)
    try:
        registration.register(db, data=data, actor=actor, settings=settings, cipher=cipher)
    except AppError as exc:
        _settle(db, exc)
        return _refused(request, template, form, exc)
    return RedirectResponse("/register/sent", status_code=303)


@router.get("/register/citizen", response_class=HTMLResponse)
@public
def citizen_page(request: Request) -> HTMLResponse:
    return render(request, "org/register_citizen.html")


@router.post("/register/citizen", response_class=HTMLResponse)
@public
def citizen_submit(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[CitizenRegisterForm], Depends(CitizenRegisterForm.submitted)],
    code_form: Annotated[Submission[RegisterCodeForm], Depends(RegisterCodeForm.submitted)],
) -> Response:
    """Send the code, or register the citizen; both outcomes of a registration end on 请查收短信."""
    return _register(request, db, settings, cipher, form, code_form, CitizenRegistration, "org/register_citizen.html")


@router.get("/register/enterprise", response_class=HTMLResponse)
@public
def enterprise_page(request: Request) -> HTMLResponse:
    return render(request, "org/register_enterprise.html")


@router.post("/register/enterprise", response_class=HTMLResponse)
@public
def enterprise_submit(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[EnterpriseRegisterForm], Depends(EnterpriseRegisterForm.submitted)],
    code_form: Annotated[Submission[RegisterCodeForm], Depends(RegisterCodeForm.submitted)],
) -> Response:
    """Send the code to the operator's mobile, or register the enterprise."""
    return _register(
        request, db, settings, cipher, form, code_form, EnterpriseRegistration, "org/register_enterprise.html"
    )


@router.get("/register/sent", response_class=HTMLResponse)
@public
def register_sent(request: Request) -> HTMLResponse:
    """The one page every registration ends on, whatever its outcome."""
    return render(request, "org/register_sent.html", {"message": registration.ACCEPTED})


# ---- password reset -------------------------------------------------------------------------------


@router.get("/password-reset", response_class=HTMLResponse)
@public
def reset_page(request: Request) -> HTMLResponse:
    return render(request, "org/password_reset.html")


@router.post("/password-reset", response_class=HTMLResponse)
@public
def reset_submit(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    _csrf: CsrfChecked,
    form: Annotated[Submission[ResetForm], Depends(ResetForm.submitted)],
    code_form: Annotated[Submission[ResetCodeForm], Depends(ResetCodeForm.submitted)],
) -> Response:
    """Send a reset code (the same answer for an unknown name or number), or set the new password."""
    template, actor = "org/password_reset.html", _anonymous(request)
    if form.value("action") == SEND_CODE:

        def send(data: ResetCodeRequest) -> CodeSent:
            return recovery.request_reset_code(
                db, username=data.username, phone=data.phone, actor=actor, settings=settings, cipher=cipher
            )

        return _send_code(request, db, template, form, code_form, ResetCodeRequest, send)
    data = form.to(PasswordReset)
    if data is None:
        return render(request, template, {"form": form}, status_code=422)
    try:
        recovery.reset_password(db, data=data, actor=actor, settings=settings, cipher=cipher)
    except AppError as exc:
        _settle(db, exc)
        return _refused(request, template, form, exc)
    return RedirectResponse("/login?notice=password_reset", status_code=303)


# ---- a new mobile for one's own account ------------------------------------------------------------


@router.get("/account/phone", response_class=HTMLResponse)
def phone_page(request: Request, user: CurrentUser) -> HTMLResponse:
    return render(request, "org/account_phone.html")


@router.post("/account/phone", response_class=HTMLResponse)
def phone_submit(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    user: CurrentUser,
    _csrf: CsrfChecked,
    form: Annotated[Submission[PhoneChangeForm], Depends(PhoneChangeForm.submitted)],
    code_form: Annotated[Submission[RegisterCodeForm], Depends(RegisterCodeForm.submitted)],
) -> Response:
    """Text a code to the new number, or bind it once the code is entered."""
    template = "org/account_phone.html"
    if form.value("action") == SEND_CODE:

        def send(data: CodeRequest) -> CodeSent:
            return recovery.request_phone_code(db, phone=data.phone, actor=user, settings=settings, cipher=cipher)

        return _send_code(request, db, template, form, code_form, CodeRequest, send)
    data = form.to(PhoneChange)
    if data is None:
        return render(request, template, {"form": form}, status_code=422)
    try:
        recovery.change_phone(db, data=data, actor=user, settings=settings, cipher=cipher)
    except AppError as exc:
        _settle(db, exc)
        return _refused(request, template, form, exc)
    return RedirectResponse("/account?notice=phone_changed", status_code=303)


# ---- the message gateway's record -----------------------------------------------------------------


@router.get("/admin/messages", response_class=HTMLResponse)
def messages_page(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.MESSAGE_READ))],
    paging: Annotated[PageParams, Depends(page_params)],
) -> HTMLResponse:
    """Texts sent through the gateway; with the embedded outbox gateway, the only place they arrive."""
    items, total = messages.list_messages(
        db, actor=user, settings=settings, cipher=cipher, offset=paging.offset, limit=paging.size
    )
    return render(
        request,
        "org/messages.html",
        {
            "items": items,
            "total": total,
            "page": paging.page,
            "pages": max(1, -(-total // paging.size)),
            "outbox": messages.uses_outbox(settings),
        },
    )
