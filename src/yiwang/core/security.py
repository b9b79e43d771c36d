"""Who is calling (Principal), how requests are authenticated, and the one place permissions are checked."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from yiwang.core.db import DbSession
from yiwang.core.errors import AppError, NotAuthenticated, PermissionDenied
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS

# Markers read by the route-guard test and by the OpenAPI description.
PUBLIC_MARKER = "__yiwang_public__"
# Endpoints an account that must change its password may still reach (change it, see who it is, leave).
BEFORE_PASSWORD_CHANGE_MARKER = "__yiwang_before_password_change__"  # noqa: S105  (a marker name)
# Endpoints a login that still has to enrol a second factor may reach (enrol, leave).
DURING_ENROLMENT_MARKER = "__yiwang_during_enrolment__"

# Path prefixes of interfaces for programs (JSON, SensorThings, Open311, mediated services). Their
# writes are authorised by tokens; a browser's session cookie there must also show the CSRF header.
MACHINE_APIS = ("/api/", "/sta/", "/open311/", "/x/")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person's account or a system client, and where the call came from."""

    user_id: int | None
    username: str
    display_name: str
    kind: str  # staff | citizen | enterprise | system | anonymous
    department_id: int | None = None
    department_code: str | None = None
    scope_department_ids: frozenset[int] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)
    permissions: frozenset[str] = field(default_factory=frozenset)
    ip: str | None = None
    via: str = "anonymous"  # session | token | api_key | basic | anonymous
    session_id: int | None = None
    csrf_token: str | None = None
    must_change_password: bool = False
    # Logged in with the password only, by an account whose role requires a second factor it has
    # not enrolled yet: nothing is open to it but enrolment (and logging out).
    must_enrol_second_factor: bool = False
    # The scope of the token or key that made this call, when it was narrowed (None: the account's own
    # permissions). Credentials derived from this call never exceed it.
    token_scopes: frozenset[str] | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def has(self, permission: str) -> bool:
        return permission in self.permissions

    def can_reach_department(self, department_id: int | None) -> bool:
        """Own department and its sub-units, or every department with the cross-scope permission."""
        if self.has(SCOPE_ALL_DEPARTMENTS):
            return True
        return department_id is not None and department_id in self.scope_department_ids

    @classmethod
    def anonymous(cls, ip: str | None = None) -> "Principal":
        return cls(user_id=None, username="anonymous", display_name="匿名用户", kind="anonymous", ip=ip)


class Authenticator(Protocol):
    """Resolves the caller of a request; provided by the org domain and set on app.state."""

    def __call__(self, request: Request, db: Session) -> Principal: ...


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def get_principal(request: Request, db: DbSession) -> Principal:
    """The caller, or an anonymous principal; cached on the request."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    authenticator: Authenticator = request.app.state.authenticator
    principal = authenticator(request, db)
    request.state.principal = principal
    return principal


class SecondFactorEnrolmentPending(AppError):
    status_code = 403
    code = "mfa_enrolment_required"
    message = "您的角色要求双因素认证：请先绑定身份验证器，再使用平台的其他功能"


class PasswordChangeRequired(AppError):
    status_code = 403
    code = "password_change_required"
    message = "请先修改初始密码，再使用平台的其他功能"


def get_current_user(request: Request, principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """The authenticated caller; 401 when there is none, 403 while it must enrol a second factor or
    change its password."""
    if not principal.is_authenticated:
        raise NotAuthenticated()
    endpoint = request.scope.get("endpoint")
    if principal.must_enrol_second_factor and not getattr(endpoint, DURING_ENROLMENT_MARKER, False):
        raise SecondFactorEnrolmentPending()
    if principal.must_change_password and not allowed_before_password_change(request.scope.get("endpoint")):
        raise PasswordChangeRequired()
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]
MaybeUser = Annotated[Principal, Depends(get_principal)]


def require(*permissions: str) -> Callable[..., Principal]:
    """Dependency: the caller must be authenticated and hold every named permission."""

    def dependency(principal: CurrentUser) -> Principal:
        check(principal, *permissions)
        return principal

    dependency.__yiwang_permissions__ = permissions  # type: ignore[attr-defined]
    return dependency


def check(principal: Principal, *permissions: str) -> None:
    """The one permission check: raise 403 unless the caller holds every named permission."""
    missing = [p for p in permissions if not principal.has(p)]
    if missing:
        raise PermissionDenied(details={"missing": missing})


def check_department_scope(principal: Principal, department_id: int | None) -> None:
    """Raise 403 when the record's department is outside the caller's scope."""
    if not principal.can_reach_department(department_id):
        raise PermissionDenied("无权访问其他部门的记录", code="department_scope")


AUTHENTICATES_MARKER = "__yiwang_authenticates__"


def authenticates(dependency: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a dependency that resolves the caller through `get_current_user` itself, for a route that
    does so together with other work in one worker-thread hop (the route guard accepts it)."""
    setattr(dependency, AUTHENTICATES_MARKER, True)
    return dependency


def is_authenticating(dependency: Callable[..., Any] | None) -> bool:
    return dependency is get_current_user or bool(getattr(dependency, AUTHENTICATES_MARKER, False))


def public(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an endpoint as deliberately reachable without logging in."""
    setattr(endpoint, PUBLIC_MARKER, True)
    return endpoint


def is_public(endpoint: Callable[..., Any]) -> bool:
    return bool(getattr(endpoint, PUBLIC_MARKER, False))


def before_password_change(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an endpoint as reachable by an account that still has to change its password."""
    setattr(endpoint, BEFORE_PASSWORD_CHANGE_MARKER, True)
    return endpoint


def allowed_before_password_change(endpoint: Callable[..., Any] | None) -> bool:
    return bool(getattr(endpoint, BEFORE_PASSWORD_CHANGE_MARKER, False))


def during_enrolment(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an endpoint as reachable by a login that still has to enrol its second factor (and so
    also before a required password change: enrolment comes first)."""
    setattr(endpoint, DURING_ENROLMENT_MARKER, True)
    setattr(endpoint, BEFORE_PASSWORD_CHANGE_MARKER, True)
    return endpoint
