"""Account rules: creating and changing users, masking their personal fields, audited clear reads."""

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yiwang.core import audit
from yiwang.core.crypto import FieldCipher
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.identifiers import normalise_id_number
from yiwang.core.masking import mask_id_number, mask_phone
from yiwang.core.passwords import hash_password, policy_problems
from yiwang.core.permissions import PERSONAL_READ_CLEAR, SCOPE_ALL_DEPARTMENTS, registry
from yiwang.core.security import Principal, check_department_scope
from yiwang.core.timeutil import utcnow
from yiwang.org import grants, mfa, separation, throttle
from yiwang.org.models import Department, Role, User, UserRole
from yiwang.org.permissions import ROLES_BY_KIND
from yiwang.org.schemas import PersonalRead, UserCreate, UserRead, UserUpdate

ID_NUMBER_CONTEXT = "org_user.id_number"
PHONE_CONTEXT = "org_user.phone"


def _department(db: Session, code: str | None) -> Department | None:
    if code is None:
        return None
    department = db.execute(select(Department).where(Department.code == code)).scalar_one_or_none()
    if department is None:
        raise ValidationFailed(f"部门 {code} 不存在")
    return department


def _roles(db: Session, kind: str, codes: list[str]) -> list[Role]:
    allowed = ROLES_BY_KIND[kind]
    wrong = sorted(set(codes) - allowed)
    if wrong:
        raise ValidationFailed("该类账号不能拥有这些角色", details={"roles": wrong, "kind": kind})
    roles = list(db.execute(select(Role).where(Role.code.in_(codes))).scalars())
    missing = sorted(set(codes) - {r.code for r in roles})
    if missing:
        raise ValidationFailed("角色不存在", details={"roles": missing})
    separation.check_account_roles(db, role_codes=codes)
    return roles


def to_read(user: User, department: Department | None, cipher: FieldCipher, *, locked: bool = False) -> UserRead:
    """The masked view of an account; `locked` when some address is held back from signing in to it."""
    id_number = cipher.decrypt(user.id_number_enc, context=ID_NUMBER_CONTEXT) if user.id_number_enc else None
    phone = cipher.decrypt(user.phone_enc, context=PHONE_CONTEXT) if user.phone_enc else None
    return UserRead(
        id=user.id,
        username=user.username,
        kind=user.kind,
        display_name=user.display_name,
        department_code=department.code if department else None,
        department_name=department.short_name if department else None,
        roles=sorted(ur.role.code for ur in user.roles),
        active=user.active,
        locked=locked,
        id_number=mask_id_number(id_number),
        phone=mask_phone(phone),
        credit_code=user.credit_code,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def _set_personal(user: User, cipher: FieldCipher, *, id_number: str | None, phone: str | None) -> None:
    if id_number is not None:
        user.id_number_enc = cipher.encrypt(id_number, context=ID_NUMBER_CONTEXT)
        user.id_number_hash = cipher.lookup_hash(id_number, context=ID_NUMBER_CONTEXT)
    if phone is not None:
        user.phone_enc = cipher.encrypt(phone, context=PHONE_CONTEXT)
        user.phone_hash = cipher.lookup_hash(phone, context=PHONE_CONTEXT)


def _check_kind_rules(data: UserCreate) -> None:
    if data.kind == "staff" and not data.department_code:
        raise ValidationFailed("工作人员账号必须属于一个部门")
    if data.kind == "citizen" and not data.id_number:
        raise ValidationFailed("个人账号须提供身份证号码（实名）")
    if data.kind == "enterprise" and not data.credit_code:
        raise ValidationFailed("企业账号须提供统一社会信用代码")
    if data.kind != "system" and not data.password:
        raise ValidationFailed("须设置初始密码")
    if data.kind == "system" and data.scopes:
        unknown = sorted(set(data.scopes) - set(registry.permissions))
        if unknown:
            raise ValidationFailed("包含未知权限", details={"unknown": unknown})
        separation.check_client_scopes(data.scopes)


def create_user(
    db: Session,
    *,
    actor: Principal,
    data: UserCreate,
    cipher: FieldCipher,
    enforce_password_policy: bool = True,
    password_hash: str | None = None,
) -> UserRead:
    """Create an account of any kind; staff accounts only within the actor's department scope.

    `password_hash` lets bulk loaders (demo data) hash one shared password once instead of per account.
    """
    _check_kind_rules(data)
    if db.execute(select(User.id).where(func.lower(User.username) == data.username.lower())).first():
        raise Conflict(f"用户名 {data.username} 已被使用")
    department = _department(db, data.department_code)
    if department is not None:
        check_department_scope(actor, department.id)
    elif data.kind == "staff" or data.roles:
        check_department_scope(actor, None)
    target = f"new:{data.username}"
    grants.check_public_account_creation(db, actor=actor, kind=data.kind, target=target)
    grants.check_roles_grantable(db, actor=actor, role_codes=data.roles, target=target)
    grants.check_permissions_grantable(db, actor=actor, permissions=data.scopes, target=target)
    if data.id_number:
        taken = select(User.id).where(
            User.id_number_hash.in_(
                cipher.lookup_hashes(normalise_id_number(data.id_number), context=ID_NUMBER_CONTEXT)
            )
        )
        if db.execute(taken).first():
            raise Conflict("该身份证号码已注册")
    if data.credit_code and db.execute(select(User.id).where(User.credit_code == data.credit_code)).first():
        raise Conflict("该统一社会信用代码已注册")
    if data.password and enforce_password_policy and password_hash is None:
        problems = policy_problems(data.password, username=data.username)
        if problems:
            raise ValidationFailed("；".join(problems), details={"password": problems})
    roles = _roles(db, data.kind, data.roles)
    user = User(
        username=data.username,
        kind=data.kind,
        display_name=data.display_name,
        department_id=department.id if department else None,
        password_hash=password_hash or (hash_password(data.password) if data.password else None),
        credit_code=data.credit_code,
        scopes=" ".join(sorted(set(data.scopes))),
        active=True,
        failed_logins=0,
        created_at=utcnow(),
        password_changed_at=utcnow(),
        must_change_password=data.must_change_password,
    )
    _set_personal(user, cipher, id_number=data.id_number, phone=data.phone)
    user.roles = [UserRole(role=r) for r in roles]
    db.add(user)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="org.user.create",
        target_type="user",
        target_id=user.id,
        details={
            "username": user.username,
            "kind": user.kind,
            "roles": sorted(data.roles),
            "department": data.department_code,
        },
    )
    return to_read(user, department, cipher)


def _load(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("账号不存在")
    return user


def _check_can_see(actor: Principal, user: User) -> None:
    """Own account always; others only within department scope (public accounts need the cross scope)."""
    if actor.user_id == user.id:
        return
    check_department_scope(actor, user.department_id)


def get_user(db: Session, *, actor: Principal, user_id: int, cipher: FieldCipher) -> UserRead:
    user = _load(db, user_id)
    _check_can_see(actor, user)
    department = db.get(Department, user.department_id) if user.department_id else None
    return to_read(user, department, cipher, locked=_is_throttled(db, user))


def _is_throttled(db: Session, user: User) -> bool:
    return bool(throttle.throttled_names(db, usernames=[user.username], now=utcnow()))


def get_user_by_username(db: Session, *, username: str) -> User | None:
    return db.execute(select(User).where(func.lower(User.username) == username.lower())).scalar_one_or_none()


@dataclass(frozen=True)
class UserFilter:
    q: str | None = None
    kind: str | None = None
    department_code: str | None = None
    role: str | None = None


def list_users(
    db: Session, *, actor: Principal, cipher: FieldCipher, filters: UserFilter, offset: int = 0, limit: int = 50
) -> tuple[list[UserRead], int]:
    """Accounts the actor may see (own department scope unless cross-scope), masked."""
    stmt = select(User)
    if not actor.has(SCOPE_ALL_DEPARTMENTS):
        stmt = stmt.where(User.department_id.in_(actor.scope_department_ids or {-1}))
    if filters.q:
        like = f"%{filters.q}%"
        stmt = stmt.where(or_(User.username.ilike(like), User.display_name.ilike(like)))
    if filters.kind:
        stmt = stmt.where(User.kind == filters.kind)
    if filters.department_code:
        stmt = stmt.join(Department, Department.id == User.department_id).where(
            Department.code == filters.department_code
        )
    if filters.role:
        stmt = stmt.where(User.roles.any(UserRole.role.has(Role.code == filters.role)))
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    users = db.execute(stmt.order_by(User.id).offset(offset).limit(limit)).scalars().all()
    departments: dict[int | None, Department] = {d.id: d for d in db.execute(select(Department)).scalars()}
    held_back = throttle.throttled_names(db, usernames=[u.username for u in users], now=utcnow())
    return [to_read(u, departments.get(u.department_id), cipher, locked=u.username in held_back) for u in users], total


def update_user(db: Session, *, actor: Principal, user_id: int, data: UserUpdate, cipher: FieldCipher) -> UserRead:
    """Change an account within scope; moving it to another department needs scope over both.

    Every check runs before anything changes, so a refusal (kept in the audit chain) leaves the
    account as it was."""
    user = _load(db, user_id)
    check_department_scope(actor, user.department_id)
    changes = data.model_dump(exclude_unset=True)
    department = user_department = db.get(Department, user.department_id) if user.department_id else None
    if "department_code" in changes:
        department = _department(db, data.department_code)
        check_department_scope(actor, department.id if department else None)
    if data.active is False and actor.user_id == user.id:
        raise ValidationFailed("不能停用自己的账号")
    held_roles = {ur.role.code for ur in user.roles}
    grants.check_admin_account_change(
        db,
        actor=actor,
        target_roles=held_roles,
        target=str(user.id),
        changes=[k for k, v in changes.items() if not (k == "active" and v is True)],
    )
    roles = None
    if data.roles is not None:
        roles = _roles(db, user.kind, data.roles)
        changed = held_roles ^ {r.code for r in roles}
        grants.check_not_own_roles(db, actor=actor, user_id=user.id, changed=changed)
        grants.check_roles_grantable(db, actor=actor, role_codes=changed, target=str(user.id))
    if department is not user_department:
        user.department_id = department.id if department else None
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.active is not None:
        user.active = data.active
    if roles is not None:
        _replace_roles(db, user, roles)
    _set_personal(user, cipher, id_number=None, phone=data.phone)
    db.flush()
    if roles is not None and mfa.requirement(db, user=user) is mfa.Requirement.ENROL:
        mfa.end_login_credentials(db, user_id=user.id)  # signs in again and enrols
    safe_changes = {k: v for k, v in changes.items() if k != "phone"} | ({"phone": "已修改"} if data.phone else {})
    audit.record(db, actor=actor, action="org.user.update", target_type="user", target_id=user.id, details=safe_changes)
    return to_read(user, department, cipher, locked=_is_throttled(db, user))


def _replace_roles(db: Session, user: User, roles: list[Role]) -> None:
    """Set the account's roles to exactly these, keeping rows for roles it already holds: replacing
    the whole collection would insert a held role again before deleting it (a unique violation).
    Withdrawn roles are deleted before new ones are inserted, so moving an account from one of the
    three administrator roles to another passes the database's separation guard."""
    wanted = {r.code: r for r in roles}
    user.roles = [ur for ur in user.roles if ur.role.code in wanted]
    db.flush()
    held = {ur.role.code for ur in user.roles}
    user.roles.extend(UserRole(role=r) for code, r in wanted.items() if code not in held)


def assign_roles(
    db: Session, *, actor: Principal, user_id: int, role_codes: list[str], cipher: FieldCipher
) -> UserRead:
    """The security administrator's authorisation (授权): set an existing account's roles, under the
    grant rules and the separation of the three administrators; never one's own account."""
    user = _load(db, user_id)
    check_department_scope(actor, user.department_id)
    roles = _roles(db, user.kind, role_codes)
    held = {ur.role.code for ur in user.roles}
    changed = held ^ {r.code for r in roles}
    grants.check_not_own_roles(db, actor=actor, user_id=user.id, changed=changed)
    grants.check_roles_grantable(db, actor=actor, role_codes=changed, target=str(user.id))
    if changed:
        _replace_roles(db, user, roles)
        db.flush()
        audit.record(
            db,
            actor=actor,
            action="org.user.roles",
            target_type="user",
            target_id=user.id,
            details={
                "roles": sorted(r.code for r in roles),
                "granted": sorted(changed - held),
                "withdrawn": sorted(changed & held),
            },
        )
        # New roles may require a second factor the account lacks: it signs in again and enrols.
        if mfa.requirement(db, user=user) is mfa.Requirement.ENROL:
            mfa.end_login_credentials(db, user_id=user.id)
    department = db.get(Department, user.department_id) if user.department_id else None
    return to_read(user, department, cipher, locked=_is_throttled(db, user))


def unlock_user(db: Session, *, actor: Principal, user_id: int) -> None:
    user = _load(db, user_id)
    check_department_scope(actor, user.department_id)
    throttle.release(db, username=user.username)
    db.flush()
    audit.record(db, actor=actor, action="org.user.unlock", target_type="user", target_id=user.id)


def read_personal(db: Session, *, actor: Principal, user_id: int, cipher: FieldCipher, reason: str) -> PersonalRead:
    """Personal fields in clear: the holder, or staff with the clear-read permission in scope. Audited."""
    user = _load(db, user_id)
    own = actor.user_id == user.id
    if not own:
        if not actor.has(PERSONAL_READ_CLEAR):
            audit.record(
                db,
                actor=actor,
                action="personal.read_clear",
                target_type="user",
                target_id=user.id,
                outcome=audit.OUTCOME_DENIED,
                details={"reason": reason},
            )
            raise PermissionDenied("没有查看个人信息明文的权限", commit=True)
        _check_can_see(actor, user)
    result = PersonalRead(
        user_id=user.id,
        display_name=user.display_name,
        id_number=cipher.decrypt(user.id_number_enc, context=ID_NUMBER_CONTEXT) if user.id_number_enc else None,
        phone=cipher.decrypt(user.phone_enc, context=PHONE_CONTEXT) if user.phone_enc else None,
    )
    audit.record(
        db,
        actor=actor,
        action="personal.read_clear",
        target_type="user",
        target_id=user.id,
        details={"fields": ["id_number", "phone"], "reason": reason, "own": own},
    )
    return result


def find_by_id_number(db: Session, *, id_number: str, cipher: FieldCipher) -> int | None:
    """The account id holding an ID number, found through its keyed hash (no decryption), under any
    lookup key rows may still be under while keys change."""
    digests = cipher.lookup_hashes(normalise_id_number(id_number), context=ID_NUMBER_CONTEXT)
    return db.execute(select(User.id).where(User.id_number_hash.in_(digests))).scalar_one_or_none()
