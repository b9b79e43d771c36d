"""Separation of the three administrators (三员分立): system, security and audit administrator.

No account holds two of the three roles, and no role or account carries the duties of two of them
(`permissions.DUTIES_BY_ADMIN_ROLE`): the system administrator runs accounts and the platform, the
security administrator authorises and keeps the security policies, the audit administrator reads and
verifies the audit log. Every path that changes roles or their permissions comes through here; a
trigger on `org_user_role` (migration org_0002) refuses the two-role case in the database as well.
"""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core.errors import ValidationFailed
from yiwang.core.permissions import SEPARATED_ADMIN_ROLES
from yiwang.org.models import Role, RolePermission, UserRole
from yiwang.org.permissions import DUTIES_BY_ADMIN_ROLE

ROLE_NAMES = {"platform_admin": "系统管理员", "security_admin": "安全管理员", "audit_admin": "审计管理员"}


class AdminRolesCombined(ValidationFailed):
    code = "admin_roles_combined"
    message = "三员分立：系统管理员、安全管理员、审计管理员不能由同一账号兼任"


def duty_holders(permissions: Iterable[str]) -> list[str]:
    """The administrator roles whose duties these permissions include."""
    held = set(permissions)
    return sorted(code for code, duties in DUTIES_BY_ADMIN_ROLE.items() if held & duties)


def _spans(permissions: Iterable[str]) -> list[str] | None:
    holders = duty_holders(permissions)
    return holders if len(holders) > 1 else None


def _names(codes: Iterable[str]) -> str:
    return "、".join(ROLE_NAMES[c] for c in sorted(codes))


def _role_permissions(db: Session, codes: Iterable[str]) -> set[str]:
    wanted = list(codes)
    if not wanted:
        return set()
    stmt = select(RolePermission.permission).join(Role, Role.id == RolePermission.role_id).where(Role.code.in_(wanted))
    return set(db.execute(stmt).scalars())


def check_account_roles(db: Session, *, role_codes: Iterable[str]) -> None:
    """Refuse a set of roles for one account that combines two administrators, by role or by duty."""
    codes = set(role_codes)
    combined = codes & SEPARATED_ADMIN_ROLES
    if len(combined) > 1:
        raise AdminRolesCombined(details={"roles": sorted(combined)})
    spans = _spans(_role_permissions(db, codes))
    if spans:
        raise AdminRolesCombined(
            f"三员分立：这些角色合起来兼具{_names(spans)}的职责，不能由同一账号持有",
            details={"roles": sorted(codes), "duties_of": spans},
        )


def check_client_scopes(scopes: Iterable[str]) -> None:
    """A system client's permissions do not combine two administrators' duties either."""
    spans = _spans(scopes)
    if spans:
        raise AdminRolesCombined(f"三员分立：客户端权限不能兼具{_names(spans)}的职责", details={"duties_of": spans})


def check_role_permissions(db: Session, *, code: str, permissions: Iterable[str]) -> None:
    """A role keeps to one administrator's duties (the three keep to their own), and no account
    holding it ends up with two administrators' duties through its other roles."""
    wanted = set(permissions)
    own = DUTIES_BY_ADMIN_ROLE.get(code)
    if own is not None:
        foreign = duty_holders(wanted - own)
        if foreign:
            raise AdminRolesCombined(
                f"三员分立：{ROLE_NAMES[code]}角色不能具有{_names(foreign)}的职责",
                details={"role": code, "duties_of": foreign},
            )
    spans = _spans(wanted)
    if spans:
        raise AdminRolesCombined(
            f"三员分立：一个角色不能兼具{_names(spans)}的职责", details={"role": code, "duties_of": spans}
        )
    holders = select(UserRole.user_id).join(Role, Role.id == UserRole.role_id).where(Role.code == code)
    rows = db.execute(
        select(UserRole.user_id, RolePermission.permission)
        .join(Role, Role.id == UserRole.role_id)
        .join(RolePermission, RolePermission.role_id == Role.id)
        .where(UserRole.user_id.in_(holders), Role.code != code)
    ).all()
    through_other_roles: dict[int, set[str]] = {}
    for user_id, permission in rows:
        through_other_roles.setdefault(user_id, set()).add(permission)
    for user_id, other in sorted(through_other_roles.items()):
        spans = _spans(wanted | other)
        if spans:
            raise AdminRolesCombined(
                f"三员分立：持有该角色的账号将兼具{_names(spans)}的职责",
                details={"role": code, "duties_of": spans, "user_id": user_id},
            )
