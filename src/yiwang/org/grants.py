"""Escalation rules: nobody grants a role or permission they do not hold themselves.

A role or permission may be granted (or withdrawn) only by a caller who holds every permission it
carries, with the same or wider department scope. Administrator roles — those carrying any of
`ADMIN_PERMISSIONS` — and administrative permissions move only by callers holding `ROLE_GRANT_ANY`.
Internal actors built in code (the console operator `system:cli`, data loaders) have no account and
are not requests; they act as the operator and are not bound by these rules.

Separation of the three administrators (三员分立): the system, security and audit administrator
roles, and the security and audit duties as permissions, are granted or withdrawn only by holders of
`ADMIN_ROLE_GRANT` (the security administrator), and nobody changes the roles of their own account.
"""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.errors import PermissionDenied
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS, SEPARATED_ADMIN_ROLES
from yiwang.core.security import Principal
from yiwang.org.models import Role, RolePermission
from yiwang.org.permissions import (
    ADMIN_PERMISSIONS,
    ADMIN_ROLE_GRANT,
    AUDIT_DUTIES,
    PUBLIC_ACCOUNT_CREATE,
    ROLE_GRANT_ANY,
    SECURITY_DUTIES,
)


class GrantDenied(PermissionDenied):
    code = "grant_denied"
    message = "不能授予或撤销自己不具备的角色或权限"


def _is_internal(actor: Principal) -> bool:
    return actor.user_id is None and actor.kind == "system"


def _deny(db: Session, *, actor: Principal, target: str, message: str, details: dict[str, object]) -> GrantDenied:
    """Record the refused attempt in the audit chain and build the error (kept by commit=True)."""
    audit.record(
        db,
        actor=actor,
        action="org.grant",
        target_type="grant",
        target_id=target,
        outcome=audit.OUTCOME_DENIED,
        details=details,
    )
    return GrantDenied(message, details=details, commit=True)


def permission_problem(actor: Principal, permissions: Iterable[str]) -> tuple[str, list[str]] | None:
    """Why the actor may not hand out these permissions (message, offending names), or None."""
    wanted = set(permissions)
    if SCOPE_ALL_DEPARTMENTS in wanted and not actor.has(SCOPE_ALL_DEPARTMENTS):
        return "不能授予比自己更宽的部门范围", [SCOPE_ALL_DEPARTMENTS]
    separated = sorted(wanted & (SECURITY_DUTIES | AUDIT_DUTIES))
    if separated and not actor.has(ADMIN_ROLE_GRANT):
        return "安全管理和审计职责只能由安全管理员授予", separated
    if actor.has(ROLE_GRANT_ANY):
        return None
    administrative = sorted(wanted & ADMIN_PERMISSIONS)
    if administrative:
        return "管理类权限只能由可授予管理员角色的管理员授予", administrative
    missing = sorted(p for p in wanted if not actor.has(p))
    if missing:
        return "不能授予自己不具备的权限", missing
    return None


def check_permissions_grantable(db: Session, *, actor: Principal, permissions: Iterable[str], target: str) -> None:
    """Raise (and audit) unless the actor may grant or withdraw every one of these permissions."""
    if _is_internal(actor):
        return
    problem = permission_problem(actor, permissions)
    if problem is not None:
        message, names = problem
        raise _deny(db, actor=actor, target=target, message=message, details={"permissions": names})


def _role_grants(db: Session, codes: set[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {code: set() for code in codes}
    rows = db.execute(
        select(Role.code, RolePermission.permission)
        .join(RolePermission, RolePermission.role_id == Role.id)
        .where(Role.code.in_(codes))
    )
    for code, permission in rows:
        found[code].add(permission)
    return found


def is_admin_role(permissions: Iterable[str]) -> bool:
    return bool(set(permissions) & ADMIN_PERMISSIONS)


def check_roles_grantable(db: Session, *, actor: Principal, role_codes: Iterable[str], target: str) -> None:
    """Raise (and audit) unless the actor may grant or withdraw every one of these roles."""
    codes = set(role_codes)
    if not codes or _is_internal(actor):
        return
    separated = sorted(codes & SEPARATED_ADMIN_ROLES)
    if separated and not actor.has(ADMIN_ROLE_GRANT):
        raise _deny(
            db,
            actor=actor,
            target=target,
            message="系统管理员、安全管理员、审计管理员角色只能由安全管理员授予或撤销",
            details={"roles": separated},
        )
    for code, permissions in sorted(_role_grants(db, codes).items()):
        if is_admin_role(permissions) and not actor.has(ROLE_GRANT_ANY):
            raise _deny(
                db,
                actor=actor,
                target=target,
                message="管理员角色只能由可授予管理员角色的管理员授予或撤销",
                details={"role": code},
            )
        problem = permission_problem(actor, permissions)
        if problem is not None:
            message, names = problem
            raise _deny(db, actor=actor, target=target, message=message, details={"role": code, "permissions": names})


def check_public_account_creation(db: Session, *, actor: Principal, kind: str, target: str) -> None:
    """Accounts bound to a person's ID number or an enterprise's credit code are opened by the
    holder, or on their behalf only by staff explicitly allowed to (a number taken by a stray account
    would block the real holder's registration)."""
    if kind not in ("citizen", "enterprise") or _is_internal(actor) or actor.has(PUBLIC_ACCOUNT_CREATE):
        return
    raise _deny(
        db,
        actor=actor,
        target=target,
        message="无权代为开设个人或企业账号",
        details={"kind": kind, "missing": [PUBLIC_ACCOUNT_CREATE]},
    )


def check_not_own_roles(db: Session, *, actor: Principal, user_id: int, changed: Iterable[str]) -> None:
    """Nobody changes the roles of their own account: an authoriser would otherwise grant itself."""
    codes = sorted(set(changed))
    if codes and actor.user_id == user_id:
        raise _deny(
            db,
            actor=actor,
            target=str(user_id),
            message="不能修改自己账号的角色",
            details={"roles": codes, "own": True},
        )


# What another administrator may not change on an account holding one of the three roles: disabling
# it would silence its holder, and a new phone number or department would hand its recovery or scope
# to someone else.
PROTECTED_ADMIN_ACCOUNT_FIELDS = frozenset({"active", "phone", "department_code"})


def check_admin_account_change(
    db: Session, *, actor: Principal, target_roles: Iterable[str], target: str, changes: Iterable[str]
) -> None:
    """Raise (and audit) when the actor would disable or re-route the account of one of the three
    administrators whose role the actor does not hold itself (三员分立). Such an account is first
    taken out of its role by the security administrator; then it is an ordinary account again."""
    foreign = sorted(set(target_roles) & SEPARATED_ADMIN_ROLES - actor.roles)
    touched = sorted(set(changes) & PROTECTED_ADMIN_ACCOUNT_FIELDS)
    if not foreign or not touched or _is_internal(actor):
        return
    raise _deny(
        db,
        actor=actor,
        target=target,
        message="三员分立：不能停用其他管理员的账号或更改其手机号、部门；请先由安全管理员撤销其管理员角色",
        details={"roles": foreign, "fields": touched},
    )
