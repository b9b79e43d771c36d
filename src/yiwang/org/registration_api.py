"""JSON API of self-registration, one-time codes, password reset and the message gateway's record."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from yiwang.core.db import DbSession
from yiwang.core.pagination import Page, PageParams, page_params
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import CurrentUser, Principal, client_ip, public, require
from yiwang.org import codes, messages, recovery, registration
from yiwang.org import permissions as perm
from yiwang.org.api import oauth2_scheme
from yiwang.org.schemas import (
    CitizenRegistration,
    CodeRequest,
    CodeSent,
    EnterpriseRegistration,
    MessageRead,
    PasswordReset,
    PhoneChange,
    RegistrationAccepted,
    ResetCodeRequest,
)

router = APIRouter(tags=["注册与找回密码 registration"])


def _anonymous(request: Request) -> Principal:
    return Principal.anonymous(client_ip(request))


@router.post("/api/register/code", response_model=CodeSent, status_code=202)
@public
def request_registration_code(
    request: Request, db: DbSession, settings: SettingsDep, cipher: CipherDep, data: CodeRequest
) -> CodeSent:
    """Text a registration code to a mobile number (limited per number and per client address)."""
    issued = codes.request_code(
        db, settings=settings, cipher=cipher, actor=_anonymous(request), purpose=registration.PURPOSE, phone=data.phone
    )
    return CodeSent(message=recovery.CODE_SENT, **vars(issued))


@router.post("/api/register/citizen", response_model=RegistrationAccepted, status_code=202)
@public
def register_citizen(
    request: Request, db: DbSession, settings: SettingsDep, cipher: CipherDep, data: CitizenRegistration
) -> RegistrationAccepted:
    """实名注册 of a citizen. A number already registered gets the same answer; the outcome goes by SMS."""
    return registration.register(db, data=data, actor=_anonymous(request), settings=settings, cipher=cipher)


@router.post("/api/register/enterprise", response_model=RegistrationAccepted, status_code=202)
@public
def register_enterprise(
    request: Request, db: DbSession, settings: SettingsDep, cipher: CipherDep, data: EnterpriseRegistration
) -> RegistrationAccepted:
    """Registration of an enterprise by its credit code; answered like a citizen's."""
    return registration.register(db, data=data, actor=_anonymous(request), settings=settings, cipher=cipher)


@router.post("/api/password-reset/code", response_model=CodeSent, status_code=202)
@public
def request_reset_code(
    request: Request, db: DbSession, settings: SettingsDep, cipher: CipherDep, data: ResetCodeRequest
) -> CodeSent:
    """Text a reset code if the username and mobile belong together; the same answer if not."""
    return recovery.request_reset_code(
        db, username=data.username, phone=data.phone, actor=_anonymous(request), settings=settings, cipher=cipher
    )


@router.post("/api/password-reset", status_code=204)
@public
def reset_password(
    request: Request, db: DbSession, settings: SettingsDep, cipher: CipherDep, data: PasswordReset
) -> Response:
    """Set a new password with the reset code; the account's sessions, tokens and API keys end."""
    recovery.reset_password(db, data=data, actor=_anonymous(request), settings=settings, cipher=cipher)
    return Response(status_code=204)


@router.post("/api/auth/phone/code", response_model=CodeSent, status_code=202, dependencies=[Depends(oauth2_scheme)])
def request_phone_code(
    db: DbSession, settings: SettingsDep, cipher: CipherDep, user: CurrentUser, data: CodeRequest
) -> CodeSent:
    """Text a code to the mobile number the caller wants bound to their account."""
    return recovery.request_phone_code(db, phone=data.phone, actor=user, settings=settings, cipher=cipher)


@router.post("/api/auth/phone", status_code=204, dependencies=[Depends(oauth2_scheme)])
def change_phone(
    db: DbSession, settings: SettingsDep, cipher: CipherDep, user: CurrentUser, data: PhoneChange
) -> Response:
    """Bind the new mobile once its code is entered; the old number is told of the change."""
    recovery.change_phone(db, data=data, actor=user, settings=settings, cipher=cipher)
    return Response(status_code=204)


@router.get("/api/org/messages", response_model=Page[MessageRead], dependencies=[Depends(oauth2_scheme)])
def list_messages(
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.MESSAGE_READ))],
    paging: Annotated[PageParams, Depends(page_params)],
) -> Page[MessageRead]:
    """The message gateway's record, newest first; with the outbox gateway, the texts themselves."""
    items, total = messages.list_messages(
        db, actor=user, settings=settings, cipher=cipher, offset=paging.offset, limit=paging.size
    )
    return Page(items=items, total=total, page=paging.page, size=paging.size)
