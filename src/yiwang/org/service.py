"""Organisation rules: divisions, departments, roles. Other domains call these functions."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.identifiers import normalise_id_number
from yiwang.core.masking import mask_phone
from yiwang.core.permissions import SEPARATED_ADMIN_ROLES, registry
from yiwang.core.security import Principal
from yiwang.org import accounts, grants, mfa, separation, sessions
from yiwang.org.models import AccessVersion, Department, Division, Role, RolePermission, User, UserRole
from yiwang.org.schemas import (
    DepartmentCreate,
    DepartmentRead,
    DepartmentUpdate,
    DivisionCreate,
    DivisionRead,
    PersonalRead,
    RoleRead,
    SessionRead,
    UserRead,
)

if TYPE_CHECKING:
    from yiwang.config import Settings
    from yiwang.core.crypto import FieldCipher
    from yiwang.org.schemas import PersonalRead, UserCreate, UserRead

# ---- divisions -------------------------------------------------------------------------------


def list_divisions(db: Session, *, level: str | None = None) -> list[DivisionRead]:
    """All divisions, optionally of one level, ordered by code."""
    stmt = select(Division).order_by(Division.code)
    if level:
        stmt = stmt.where(Division.level == level)
    return [DivisionRead.model_validate(d) for d in db.execute(stmt).scalars()]


def get_division_by_code(db: Session, *, code: str) -> DivisionRead:
    division = db.execute(select(Division).where(Division.code == code)).scalar_one_or_none()
    if division is None:
        raise NotFound(f"行政区划 {code} 不存在")
    return DivisionRead.model_validate(division)


def create_division(db: Session, *, actor: Principal, data: DivisionCreate) -> DivisionRead:
    """Add a division under its parent; the code must be new and extend the parent's code."""
    if db.execute(select(Division.id).where(Division.code == data.code)).first():
        raise Conflict(f"行政区划代码 {data.code} 已存在")
    parent_id = None
    if data.parent_code:
        parent = db.execute(select(Division).where(Division.code == data.parent_code)).scalar_one_or_none()
        if parent is None:
            raise ValidationFailed(f"上级行政区划 {data.parent_code} 不存在")
        if not data.code.startswith(parent.code):
            raise ValidationFailed("下级行政区划代码应以上级代码开头")
        parent_id = parent.id
    division = Division(
        code=data.code, name=data.name, level=data.level, parent_id=parent_id, lon=data.lon, lat=data.lat
    )
    db.add(division)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="org.division.create",
        target_type="division",
        target_id=data.code,
        details={"name": data.name, "level": data.level},
    )
    return DivisionRead.model_validate(division)


def upsert_divisions(db: Session, *, rows: Iterable[DivisionCreate]) -> int:
    """Load divisions in order (parents first), updating names of codes already present."""
    count = 0
    for row in rows:
        existing = db.execute(select(Division).where(Division.code == row.code)).scalar_one_or_none()
        parent_id = None
        if row.parent_code:
            parent_id = db.execute(select(Division.id).where(Division.code == row.parent_code)).scalar_one()
        if existing is None:
            db.add(
                Division(code=row.code, name=row.name, level=row.level, parent_id=parent_id, lon=row.lon, lat=row.lat)
            )
        else:
            existing.name, existing.level, existing.parent_id = row.name, row.level, parent_id
            existing.lon, existing.lat = row.lon, row.lat
        db.flush()
        count += 1
    return count


# ---- departments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentNode:
    department: DepartmentRead
    children: list["DepartmentNode"]


def list_departments(db: Session, *, include_inactive: bool = False) -> list[DepartmentRead]:
    stmt = select(Department).order_by(Department.id)
    if not include_inactive:
        stmt = stmt.where(Department.active.is_(True))
    return [DepartmentRead.model_validate(d) for d in db.execute(stmt).scalars()]


def department_tree(db: Session) -> list[DepartmentNode]:
    """Departments as a forest, each node's children in creation order."""
    items = list_departments(db, include_inactive=True)
    children: dict[int | None, list[DepartmentRead]] = {}
    for item in items:
        children.setdefault(item.parent_id, []).append(item)

    def build(parent_id: int | None) -> list[DepartmentNode]:
        return [DepartmentNode(d, build(d.id)) for d in children.get(parent_id, [])]

    return build(None)


def get_department_by_code(db: Session, *, code: str) -> DepartmentRead:
    department = db.execute(select(Department).where(Department.code == code)).scalar_one_or_none()
    if department is None:
        raise NotFound(f"部门 {code} 不存在")
    return DepartmentRead.model_validate(department)


def get_department(db: Session, *, department_id: int) -> DepartmentRead:
    department = db.get(Department, department_id)
    if department is None:
        raise NotFound("部门不存在")
    return DepartmentRead.model_validate(department)


def department_subtree_ids(db: Session, *, department_id: int) -> set[int]:
    """The department and all its sub-units: the scope of a staff member of that department."""
    pairs = db.execute(select(Department.id, Department.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for child_id, parent_id in pairs:
        children.setdefault(parent_id, []).append(child_id)
    found, stack = set(), [department_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found


def create_department(db: Session, *, actor: Principal, data: DepartmentCreate) -> DepartmentRead:
    if db.execute(select(Department.id).where(Department.code == data.code)).first():
        raise Conflict(f"部门代码 {data.code} 已存在")
    parent_id = get_department_by_code(db, code=data.parent_code).id if data.parent_code else None
    department = Department(
        code=data.code,
        short_name=data.short_name,
        full_name=data.full_name,
        kind=data.kind,
        parent_id=parent_id,
        active=True,
    )
    db.add(department)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="org.department.create",
        target_type="department",
        target_id=data.code,
        details={"name": data.full_name},
    )
    return DepartmentRead.model_validate(department)


def update_department(db: Session, *, actor: Principal, code: str, data: DepartmentUpdate) -> DepartmentRead:
    department = db.execute(select(Department).where(Department.code == code)).scalar_one_or_none()
    if department is None:
        raise NotFound(f"部门 {code} 不存在")
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(department, name, value)
    db.flush()
    audit.record(
        db, actor=actor, action="org.department.update", target_type="department", target_id=code, details=changes
    )
    return DepartmentRead.model_validate(department)


def upsert_departments(db: Session, *, rows: Iterable[DepartmentCreate]) -> int:
    """Load departments in order (parents first), updating names of codes already present."""
    count = 0
    for row in rows:
        existing = db.execute(select(Department).where(Department.code == row.code)).scalar_one_or_none()
        parent_id = None
        if row.parent_code:
            parent_id = db.execute(select(Department.id).where(Department.code == row.parent_code)).scalar_one()
        if existing is None:
            db.add(
                Department(
                    code=row.code,
                    short_name=row.short_name,
                    full_name=row.full_name,
                    kind=row.kind,
                    parent_id=parent_id,
                    active=True,
                )
            )
        else:
            existing.short_name, existing.full_name = row.short_name, row.full_name
            existing.kind, existing.parent_id = row.kind, parent_id
        db.flush()
        count += 1
    return count


# ---- roles -----------------------------------------------------------------------------------


def sync_roles(db: Session) -> None:
    """Create the roles the code defines and add default grants that are new in the code.

    Grants an administrator removed are not re-added unless the code names a new permission, so
    only permissions never seen before are granted automatically.
    """
    known = {r.code: r for r in db.execute(select(Role)).scalars()}
    created = set()
    for code, spec in registry.roles.items():
        role = known.get(code)
        if role is None:
            role = Role(
                code=code,
                name=spec.name,
                description=spec.description,
                requires_second_factor=spec.requires_second_factor,
            )
            db.add(role)
            db.flush()
            known[code] = role
            created.add(code)
    seen = {p for (p,) in db.execute(select(RolePermission.permission).distinct())}
    existing = {(rp.role_id, rp.permission) for rp in db.execute(select(RolePermission)).scalars()}
    for code, names in registry.default_grants.items():
        role = known[code]
        for name in names:
            # A role new to this database gets all its grants: nobody can have removed any yet.
            fresh = name not in seen or not existing or code in created
            if (role.id, name) not in existing and fresh:
                db.add(RolePermission(role_id=role.id, permission=name))
    db.flush()


def access_version(db: Session) -> int:
    """The counter database triggers raise on any change to roles or the department tree (names too)."""
    return db.execute(select(AccessVersion.value).where(AccessVersion.id == 1)).scalar_one_or_none() or 0


def list_roles(db: Session) -> list[RoleRead]:
    grants: dict[int, list[str]] = {}
    for rp in db.execute(select(RolePermission).order_by(RolePermission.permission)).scalars():
        grants.setdefault(rp.role_id, []).append(rp.permission)
    return [_role_read(r, grants.get(r.id, [])) for r in db.execute(select(Role).order_by(Role.id)).scalars()]


def _role_read(role: Role, permissions: list[str]) -> RoleRead:
    return RoleRead(
        code=role.code,
        name=role.name,
        description=role.description,
        permissions=permissions,
        requires_second_factor=role.requires_second_factor,
    )


def set_role_permissions(db: Session, *, actor: Principal, code: str, permissions: list[str]) -> RoleRead:
    """Replace a role's permissions with the given known permission names."""
    role = db.execute(select(Role).where(Role.code == code)).scalar_one_or_none()
    if role is None:
        raise NotFound(f"角色 {code} 不存在")
    unknown = sorted(set(permissions) - set(registry.permissions))
    if unknown:
        raise ValidationFailed("包含未知权限", details={"unknown": unknown})
    held = set(db.execute(select(RolePermission.permission).where(RolePermission.role_id == role.id)).scalars())
    target = f"role:{code}"
    if grants.is_admin_role(held):  # reshaping an administrator role is itself an administrator grant
        grants.check_roles_grantable(db, actor=actor, role_codes=[code], target=target)
    grants.check_permissions_grantable(db, actor=actor, permissions=held ^ set(permissions), target=target)
    separation.check_role_permissions(db, code=code, permissions=permissions)
    db.execute(delete(RolePermission).where(RolePermission.role_id == role.id))
    for name in sorted(set(permissions)):
        db.add(RolePermission(role_id=role.id, permission=name))
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="org.role.set_permissions",
        target_type="role",
        target_id=code,
        details={"permissions": sorted(set(permissions))},
    )
    return _role_read(role, sorted(set(permissions)))


def set_role_second_factor(db: Session, *, actor: Principal, code: str, required: bool) -> RoleRead:
    """Whether the role's holders must log in with a second factor. The three administrator roles
    always must (等保 level 3 asks two factors of administrators). Turning it on signs out holders
    without a factor, so their next login leads them to enrolment."""
    role = db.execute(select(Role).where(Role.code == code)).scalar_one_or_none()
    if role is None:
        raise NotFound(f"角色 {code} 不存在")
    if not required and code in SEPARATED_ADMIN_ROLES:
        raise ValidationFailed("等保三级要求管理员使用双因素认证：三员角色不能关闭此项", code="mfa_required_by_role")
    signed_out = 0
    if required != role.requires_second_factor:
        role.requires_second_factor = required
        db.flush()
        if required:
            signed_out = mfa.end_sessions_without_factor(db, role_code=code)
        audit.record(
            db,
            actor=actor,
            action="org.role.second_factor",
            target_type="role",
            target_id=code,
            details={"requires_second_factor": required, "signed_out": signed_out},
        )
    permissions = sorted(
        db.execute(select(RolePermission.permission).where(RolePermission.role_id == role.id)).scalars()
    )
    return _role_read(role, permissions)


def role_permissions(db: Session, *, role_codes: Iterable[str]) -> set[str]:
    codes = list(role_codes)
    if not codes:
        return set()
    stmt = select(RolePermission.permission).join(Role, Role.id == RolePermission.role_id).where(Role.code.in_(codes))
    return set(db.execute(stmt).scalars())


# ---- accounts, as other domains see them ------------------------------------------------------


@dataclass(frozen=True)
class AccountBrief:
    """What another domain may know about an account without touching personal fields."""

    id: int
    username: str
    kind: str
    display_name: str
    department_id: int | None
    department_code: str | None
    active: bool
    credit_code: str | None


# One query, no ORM rows: the OpenID Connect token and userinfo endpoints call this on every request.
_ACCOUNT_BRIEF = (
    select(
        User.id,
        User.username,
        User.kind,
        User.display_name,
        User.department_id,
        Department.code,
        User.active,
        User.credit_code,
    )
    .outerjoin(Department, Department.id == User.department_id)
    .where(User.id == bindparam("user_id"))
)


def get_account(db: Session, *, user_id: int) -> AccountBrief:
    row = db.execute(_ACCOUNT_BRIEF, {"user_id": user_id}).one_or_none()
    if row is None:
        raise NotFound("账号不存在")
    return AccountBrief(
        id=row[0],
        username=row[1],
        kind=row[2],
        display_name=row[3],
        department_id=row[4],
        department_code=row[5],
        active=row[6],
        credit_code=row[7],
    )


def find_account(db: Session, *, username: str) -> AccountBrief | None:
    user = accounts.get_user_by_username(db, username=username)
    return get_account(db, user_id=user.id) if user else None


def list_accounts(
    db: Session, *, kind: str | None = None, role: str | None = None, department_code: str | None = None
) -> list[AccountBrief]:
    """Accounts filtered by kind, role or department (no personal fields)."""
    stmt = select(User).order_by(User.id)
    if kind:
        stmt = stmt.where(User.kind == kind)
    if role:
        stmt = stmt.where(User.roles.any(UserRole.role.has(Role.code == role)))
    if department_code:
        stmt = stmt.join(Department, Department.id == User.department_id).where(Department.code == department_code)
    departments: dict[int | None, str] = {d.id: d.code for d in db.execute(select(Department)).scalars()}
    return [
        AccountBrief(
            id=u.id,
            username=u.username,
            kind=u.kind,
            display_name=u.display_name,
            department_id=u.department_id,
            department_code=departments.get(u.department_id),
            active=u.active,
            credit_code=u.credit_code,
        )
        for u in db.execute(stmt).scalars()
    ]


def read_personal_fields(
    db: Session, *, actor: Principal, user_id: int, cipher: "FieldCipher", reason: str
) -> "PersonalRead":
    """An account's ID number and phone in clear (PersonalRead); permission-checked and audited."""
    return accounts.read_personal(db, actor=actor, user_id=user_id, cipher=cipher, reason=reason)


def create_account(
    db: Session,
    *,
    actor: Principal,
    data: "UserCreate",
    cipher: "FieldCipher",
    enforce_password_policy: bool = True,
    password_hash: str | None = None,
) -> "UserRead":
    """Create an account (UserRead, masked); used by other domains' demo data and registration."""
    return accounts.create_user(
        db,
        actor=actor,
        data=data,
        cipher=cipher,
        enforce_password_policy=enforce_password_policy,
        password_hash=password_hash,
    )


def find_account_id_by_id_number(db: Session, *, id_number: str, cipher: "FieldCipher") -> int | None:
    """The account holding a citizen ID number, matched through its keyed hash (nothing decrypted)."""
    return accounts.find_by_id_number(db, id_number=id_number, cipher=cipher)


def id_number_lookup_hash(*, id_number: str, cipher: "FieldCipher") -> str:
    """The keyed hash under which an ID number is indexed, to match records without decrypting."""
    return cipher.lookup_hash(normalise_id_number(id_number), context=accounts.ID_NUMBER_CONTEXT)


# ---- browser sessions and what an application signed in through them may learn ------------------


def list_sessions(db: Session, *, user_id: int, settings: "Settings") -> list[SessionRead]:
    """The account's live browser sessions (device, address, times), newest first."""
    return sessions.list_sessions(db, user_id=user_id, settings=settings)


def get_session(db: Session, *, session_id: int, settings: "Settings") -> SessionRead | None:
    """One browser session, live or not (its login time is an application's auth_time)."""
    return sessions.get_session(db, session_id=session_id, settings=settings)


def end_session(db: Session, *, actor: Principal, session_id: int) -> bool:
    """End one of the caller's own sessions; announced as SessionEnded. False if already ended."""
    return sessions.end_session(db, actor=actor, session_id=session_id)


def account_role_codes(db: Session, *, user_id: int) -> list[str]:
    """The role codes the account holds, sorted."""
    stmt = select(Role.code).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user_id)
    return sorted(db.execute(stmt).scalars())


def masked_phone(db: Session, *, user_id: int, cipher: "FieldCipher") -> str | None:
    """The account's mobile number, masked (138****1234); None when it has none."""
    # The one column, not the account with its roles: userinfo asks this on every call.
    phone_enc = db.execute(select(User.phone_enc).where(User.id == user_id)).scalar_one_or_none()
    if not phone_enc:
        return None
    return mask_phone(cipher.decrypt(phone_enc, context=accounts.PHONE_CONTEXT))


def release_phone(db: Session, *, actor: Principal, user_id: int, cipher: "FieldCipher", reason: str) -> str | None:
    """The account's mobile number in clear for a recipient its holder consented to; audited."""
    user = db.get(User, user_id)
    if user is None or not user.phone_enc:
        return None
    audit.record(
        db,
        actor=actor,
        action="personal.release",
        target_type="user",
        target_id=user_id,
        details={"fields": ["phone"], "reason": reason},
    )
    return cipher.decrypt(user.phone_enc, context=accounts.PHONE_CONTEXT)
