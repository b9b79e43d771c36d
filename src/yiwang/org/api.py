"""JSON API of the org domain: tokens, accounts, departments, divisions, roles, and the audit log."""

import base64
import binascii
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel

from yiwang.core import audit
from yiwang.core.db import DbSession
from yiwang.core.downloads import attachment
from yiwang.core.errors import AppError, NotFound
from yiwang.core.pagination import Page, PageParams, page_params
from yiwang.core.params import IdPath
from yiwang.core.permissions import AUDIT_READ
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import CurrentUser, Principal, before_password_change, client_ip, public, require
from yiwang.core.spreadsheets import XLSX_MEDIA_TYPE
from yiwang.org import accounts, audit_reading, auth, mfa, service
from yiwang.org import permissions as perm
from yiwang.org.schemas import (
    ApiKeyCreated,
    ClientCreate,
    ClientCreated,
    DepartmentCreate,
    DepartmentRead,
    DepartmentUpdate,
    DivisionCreate,
    DivisionRead,
    PasswordChange,
    PersonalRead,
    RolePermissionsUpdate,
    RoleRead,
    RolesAssign,
    RoleSecondFactorUpdate,
    SecondFactorReset,
    TokenResponse,
    UserCreate,
    UserRead,
    UserUpdate,
)

# Declared so OpenAPI shows the OAuth2 password flow; authentication itself is org.auth.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)

auth_router = APIRouter(prefix="/api/auth", tags=["认证 auth"])
router = APIRouter(prefix="/api/org", tags=["组织与账号 org"], dependencies=[Depends(oauth2_scheme)])
audit_router = APIRouter(prefix="/api/audit", tags=["审计 audit"], dependencies=[Depends(oauth2_scheme)])


@auth_router.post("/token", response_model=TokenResponse)
@public
def issue_token(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    grant_type: Annotated[str, Form()],
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str, Form()] = "",
    otp: Annotated[str | None, Form(max_length=20, description="双因素认证：动态口令或恢复码")] = None,
) -> TokenResponse:
    """OAuth2 token endpoint: `password` grant for people, `client_credentials` for system clients.

    An account with a second factor adds `otp` (its current code, or a recovery code) to the
    password grant; without it the answer is 401 `mfa_required`. An account whose role requires a
    factor it has not enrolled gets 403 `mfa_enrolment_required` (enrol on the account page)."""
    ip = client_ip(request)
    if grant_type == "password":
        if not username or not password:
            raise AppError("password 授权须提供 username 和 password", code="invalid_request")
        user = auth.login_with_password(
            db, username=username, password=password, ip=ip, settings=settings, kinds={"staff", "citizen", "enterprise"}
        )
        mfa.complete_api_login(db, user=user, otp=otp, ip=ip, settings=settings, cipher=cipher)
    elif grant_type == "client_credentials":
        client_id, client_secret = _client_from_basic(request, client_id, client_secret)
        user = auth.login_with_password(
            db, username=client_id, password=client_secret, ip=ip, settings=settings, kinds={"system"}
        )
    else:
        raise AppError("不支持的授权类型", code="unsupported_grant_type", details={"grant_type": grant_type})
    scopes = auth.grantable_scopes(db, user=user, requested=scope)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    secret, _credential = auth.issue_credential(
        db, user=user, kind=auth.ACCESS_TOKEN, lifetime=lifetime, ip=ip, scopes=scopes, label=grant_type
    )
    granted = scopes or " ".join(sorted(auth.principal_permissions(db, user=user)))
    return TokenResponse(access_token=secret, expires_in=int(lifetime.total_seconds()), scope=granted)


def _client_from_basic(request: Request, client_id: str | None, client_secret: str | None) -> tuple[str, str]:
    """RFC 6749 §2.3.1: client credentials in the form body or in an HTTP Basic header."""
    if client_id and client_secret:
        return client_id, client_secret
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            cid, _, secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            cid, secret = "", ""
        if cid and secret:
            return cid, secret
    raise AppError("client_credentials 授权须提供 client_id 和 client_secret", code="invalid_client", status_code=401)


@auth_router.post("/revoke", status_code=200)
@before_password_change
def revoke_token(db: DbSession, user: CurrentUser, token: Annotated[str, Form()]) -> dict[str, bool]:
    """RFC 7009 revocation: always 200; revokes the token if the caller owns it or administers its owner."""
    return {"revoked": auth.revoke_secret(db, actor=user, secret=token)}


class MeRead(BaseModel):
    user_id: int
    username: str
    display_name: str
    kind: str
    department_code: str | None
    roles: list[str]
    permissions: list[str]
    via: str
    must_change_password: bool = False


@auth_router.get("/me", response_model=MeRead, dependencies=[Depends(oauth2_scheme)])
@before_password_change
def me(user: CurrentUser) -> MeRead:
    """The caller's identity, roles and effective permissions."""
    return MeRead(
        user_id=user.user_id or 0,
        username=user.username,
        display_name=user.display_name,
        kind=user.kind,
        department_code=user.department_code,
        roles=sorted(user.roles),
        permissions=sorted(user.permissions),
        via=user.via,
        must_change_password=user.must_change_password,
    )


@auth_router.post("/password", status_code=204, dependencies=[Depends(oauth2_scheme)])
@before_password_change
def change_password(db: DbSession, user: CurrentUser, data: PasswordChange) -> Response:
    """Change the caller's password; other sessions, access tokens and API keys are revoked."""
    auth.change_password(db, actor=user, current_password=data.current_password, new_password=data.new_password)
    return Response(status_code=204)


@auth_router.post("/api-keys", response_model=ApiKeyCreated, status_code=201, dependencies=[Depends(oauth2_scheme)])
def create_own_api_key(
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
    label: Annotated[str, Query(max_length=100)] = "",
    scope: Annotated[str, Query(max_length=4000, description="空格分隔的权限；不得超出当前凭证的权限")] = "",
) -> ApiKeyCreated:
    """A new long-lived API key for the caller's own account (shown once); a caller with a narrowed
    token gets a key narrowed the same way."""
    account = accounts.get_user_by_username(db, username=user.username)
    if account is None:
        raise NotFound("账号不存在")
    secret, credential = auth.issue_api_key(db, actor=user, user=account, settings=settings, label=label, scope=scope)
    return ApiKeyCreated(api_key=secret, expires_at=credential.expires_at, scope=credential.scopes)


# ---- organisation ----------------------------------------------------------------------------


@router.get("/divisions", response_model=list[DivisionRead])
def list_divisions(
    db: DbSession, _: Annotated[Principal, Depends(require(perm.DIVISION_READ))], level: str | None = None
) -> list[DivisionRead]:
    return service.list_divisions(db, level=level)


@router.post("/divisions", response_model=DivisionRead, status_code=201)
def create_division(
    db: DbSession, user: Annotated[Principal, Depends(require(perm.DIVISION_WRITE))], data: DivisionCreate
) -> DivisionRead:
    return service.create_division(db, actor=user, data=data)


@router.get("/departments", response_model=list[DepartmentRead])
def list_departments(
    db: DbSession, _: Annotated[Principal, Depends(require(perm.DEPARTMENT_READ))]
) -> list[DepartmentRead]:
    return service.list_departments(db, include_inactive=True)


@router.post("/departments", response_model=DepartmentRead, status_code=201)
def create_department(
    db: DbSession, user: Annotated[Principal, Depends(require(perm.DEPARTMENT_WRITE))], data: DepartmentCreate
) -> DepartmentRead:
    return service.create_department(db, actor=user, data=data)


@router.patch("/departments/{code}", response_model=DepartmentRead)
def update_department(
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.DEPARTMENT_WRITE))],
    code: str,
    data: DepartmentUpdate,
) -> DepartmentRead:
    return service.update_department(db, actor=user, code=code, data=data)


@router.get("/roles", response_model=list[RoleRead])
def list_roles(db: DbSession, _: Annotated[Principal, Depends(require(perm.ROLE_READ))]) -> list[RoleRead]:
    return service.list_roles(db)


@router.put("/roles/{code}/permissions", response_model=RoleRead)
def set_role_permissions(
    db: DbSession, user: Annotated[Principal, Depends(require(perm.ROLE_WRITE))], code: str, data: RolePermissionsUpdate
) -> RoleRead:
    return service.set_role_permissions(db, actor=user, code=code, permissions=data.permissions)


@router.put("/roles/{code}/second-factor", response_model=RoleRead)
def set_role_second_factor(
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.ROLE_WRITE))],
    code: str,
    data: RoleSecondFactorUpdate,
) -> RoleRead:
    """Whether the role's holders must log in with a second factor (always, for the three
    administrator roles); turning it on signs out holders without a factor."""
    return service.set_role_second_factor(db, actor=user, code=code, required=data.requires_second_factor)


# ---- accounts --------------------------------------------------------------------------------


@router.get("/users", response_model=Page[UserRead])
def list_users(
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.USER_READ))],
    paging: Annotated[PageParams, Depends(page_params)],
    q: str | None = None,
    kind: str | None = None,
    department: str | None = None,
    role: str | None = None,
) -> Page[UserRead]:
    """Accounts in the caller's department scope, personal fields masked."""
    filters = accounts.UserFilter(q=q, kind=kind, department_code=department, role=role)
    items, total = accounts.list_users(
        db, actor=user, cipher=cipher, filters=filters, offset=paging.offset, limit=paging.size
    )
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(
    db: DbSession, cipher: CipherDep, user: Annotated[Principal, Depends(require(perm.USER_WRITE))], data: UserCreate
) -> UserRead:
    return accounts.create_user(db, actor=user, data=data, cipher=cipher)


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(db: DbSession, cipher: CipherDep, user: CurrentUser, user_id: IdPath) -> UserRead:
    """One account, masked: the caller's own, or one in scope with the account-read permission."""
    if user.user_id != user_id:
        require(perm.USER_READ)(user)
    return accounts.get_user(db, actor=user, user_id=user_id, cipher=cipher)


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.USER_WRITE))],
    user_id: IdPath,
    data: UserUpdate,
) -> UserRead:
    return accounts.update_user(db, actor=user, user_id=user_id, data=data, cipher=cipher)


@router.put("/users/{user_id}/roles", response_model=UserRead)
def assign_roles(
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.ROLE_ASSIGN))],
    user_id: IdPath,
    data: RolesAssign,
) -> UserRead:
    """Authorisation (授权): the account's complete set of roles. The three administrator roles are
    never combined on one account, and nobody changes their own roles."""
    return accounts.assign_roles(db, actor=user, user_id=user_id, role_codes=data.roles, cipher=cipher)


@router.post("/users/{user_id}/second-factor/reset", status_code=204)
def reset_second_factor(
    db: DbSession,
    user: Annotated[Principal, Depends(require(perm.SECOND_FACTOR_RESET))],
    user_id: IdPath,
    data: SecondFactorReset,
) -> Response:
    """Remove another account's lost second factor, with a written reason (audited); its sessions end."""
    mfa.reset(db, actor=user, user_id=user_id, reason=data.reason)
    return Response(status_code=204)


@router.post("/users/{user_id}/unlock", status_code=204)
def unlock_user(
    db: DbSession, user: Annotated[Principal, Depends(require(perm.USER_WRITE))], user_id: IdPath
) -> Response:
    accounts.unlock_user(db, actor=user, user_id=user_id)
    return Response(status_code=204)


@router.get("/users/{user_id}/personal", response_model=PersonalRead)
def read_personal(
    db: DbSession,
    cipher: CipherDep,
    user: CurrentUser,
    user_id: IdPath,
    reason: Annotated[str, Query(min_length=2, max_length=200, description="查看事由，记入审计")],
) -> PersonalRead:
    """Personal fields in clear, with a stated reason; every call is written to the audit chain."""
    return accounts.read_personal(db, actor=user, user_id=user_id, cipher=cipher, reason=reason)


@router.post("/clients", response_model=ClientCreated, status_code=201)
def create_client(
    db: DbSession,
    cipher: CipherDep,
    user: Annotated[Principal, Depends(require(perm.CLIENT_WRITE))],
    data: ClientCreate,
) -> ClientCreated:
    """Register a system client (系统接入) with scopes; the secret is shown once."""
    secret = auth.new_client_secret()
    accounts.create_user(
        db,
        actor=user,
        cipher=cipher,
        data=UserCreate(
            username=data.client_id,
            kind="system",
            display_name=data.name,
            password=secret,
            department_code=data.department_code,
            scopes=data.scopes,
        ),
        enforce_password_policy=False,
    )
    return ClientCreated(client_id=data.client_id, client_secret=secret, scopes=sorted(set(data.scopes)))


# ---- audit -----------------------------------------------------------------------------------


class AuditEntryRead(BaseModel):
    seq: int
    occurred_at: datetime
    actor_name: str
    actor_kind: str
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    outcome: str
    details: str
    entry_hash: str


@audit_router.get("/entries", response_model=Page[AuditEntryRead])
def search_audit(
    db: DbSession,
    reader: Annotated[Principal, Depends(require(AUDIT_READ))],
    paging: Annotated[PageParams, Depends(page_params)],
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditEntryRead]:
    """Search the audit chain, newest first."""
    query = audit.AuditQuery(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        since=since,
        until=until,
    )
    rows, total = audit.search(db, query=query, offset=paging.offset, limit=paging.size)
    items = [AuditEntryRead.model_validate(r, from_attributes=True) for r in rows]
    audit_reading.record_read(db, actor=reader, query=query, page=paging.page, found=total)
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@audit_router.post("/verify", response_model=audit_reading.VerifyRead)
def verify_audit(
    request: Request, db: DbSession, reader: Annotated[Principal, Depends(require(AUDIT_READ))]
) -> audit_reading.VerifyRead:
    """Recompute the whole chain and check its signed heads; the check itself is audited."""
    return audit_reading.verify(db, actor=reader, keyring=request.app.state.runtime.keyring)


@audit_router.get("/export", response_class=Response)
def export_audit(
    db: DbSession,
    reader: Annotated[Principal, Depends(require(AUDIT_READ))],
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    """The matching entries as an XLSX workbook (newest first, at most 10 000); the export is audited."""
    query = audit.AuditQuery(actor=actor, action=action, since=since, until=until)
    content = audit_reading.export_xlsx(db, actor=reader, query=query)
    return attachment(content, filename="audit-log.xlsx", media_type=XLSX_MEDIA_TYPE)
