"""Real-name self-registration (实名注册) of citizens and enterprises.

A registration names its holder (an ID number, or a credit code) and proves a mobile number with a
one-time code. One account per ID number and per credit code: the unique indexes on `org_user` hold
it even when two registrations arrive at once. Whether a number is already registered is never told
to the caller: both outcomes answer "已受理，请查收短信"; a new account's mobile gets the confirmation,
and the existing account's mobile gets a notice that someone tried (docs/security.md).
"""

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yiwang.config import Settings
from yiwang.core import audit
from yiwang.core.crypto import FieldCipher
from yiwang.core.errors import Conflict, ValidationFailed
from yiwang.core.identifiers import id_number_birth_date
from yiwang.core.masking import mask_id_number, mask_phone
from yiwang.core.passwords import hash_password, policy_problems
from yiwang.core.permissions import CITIZEN, ENTERPRISE
from yiwang.core.security import Principal
from yiwang.core.timeutil import local_today, utcnow
from yiwang.org import accounts, codes, messages
from yiwang.org.models import User, UserRole
from yiwang.org.schemas import CitizenRegistration, EnterpriseRegistration, RegistrationAccepted

PURPOSE = "register"
ACCEPTED = "已受理，请查收短信：注册结果将以短信通知您的手机。"


def age_on(birth: date, today: date) -> int:
    """Whole years from birth to today."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def check_age(id_number: str, *, min_age: int, today: date | None = None) -> None:
    """Refuse a citizen younger than the minimum age, read from the ID number's birth date."""
    age = age_on(id_number_birth_date(id_number), today or local_today())
    if age < min_age:
        raise ValidationFailed(
            f"未满{min_age}周岁的公民不能自行注册，请由监护人携带户口簿和本人身份证件到政务服务大厅办理",
            code="under_age",
            details={"min_age": min_age},
        )


def _check_password(password: str, username: str) -> None:
    problems = policy_problems(password, username=username)
    if problems:
        raise ValidationFailed("；".join(problems), details={"password": problems})


def _existing(db: Session, data: CitizenRegistration | EnterpriseRegistration, cipher: FieldCipher) -> User | None:
    if isinstance(data, CitizenRegistration):
        digests = cipher.lookup_hashes(data.id_number, context=accounts.ID_NUMBER_CONTEXT)
        return db.execute(select(User).where(User.id_number_hash.in_(digests))).scalar_one_or_none()
    return db.execute(select(User).where(User.credit_code == data.credit_code)).scalar_one_or_none()


def _username_taken(db: Session, username: str) -> bool:
    return db.execute(select(User.id).where(func.lower(User.username) == username.lower())).first() is not None


def _new_user(db: Session, data: CitizenRegistration | EnterpriseRegistration, cipher: FieldCipher) -> User:
    citizen = isinstance(data, CitizenRegistration)
    now = utcnow()
    user = User(
        username=data.username,
        kind="citizen" if citizen else "enterprise",
        display_name=data.display_name if isinstance(data, CitizenRegistration) else data.enterprise_name,
        password_hash=hash_password(data.password),
        credit_code=None if isinstance(data, CitizenRegistration) else data.credit_code,
        legal_representative=None if isinstance(data, CitizenRegistration) else data.legal_representative,
        operator_name=None if isinstance(data, CitizenRegistration) else data.operator_name,
        scopes="",
        active=True,
        failed_logins=0,
        created_at=now,
        password_changed_at=now,
        must_change_password=False,
    )
    accounts._set_personal(
        user, cipher, id_number=data.id_number if isinstance(data, CitizenRegistration) else None, phone=data.phone
    )
    user.roles = [UserRole(role=r) for r in accounts._roles(db, user.kind, [CITIZEN if citizen else ENTERPRISE])]
    db.add(user)
    db.flush()
    return user


def register(
    db: Session,
    *,
    data: CitizenRegistration | EnterpriseRegistration,
    actor: Principal,
    settings: Settings,
    cipher: FieldCipher,
) -> RegistrationAccepted:
    """Open a citizen's or an enterprise's account, or tell the existing account's holder; one answer."""
    if isinstance(data, CitizenRegistration):
        check_age(data.id_number, min_age=settings.registration_min_age)
    _check_password(data.password, data.username)
    code_id = codes.check_code(db, settings=settings, cipher=cipher, purpose=PURPOSE, phone=data.phone, code=data.code)
    if _username_taken(db, data.username):
        # Counted against the code, so one code cannot be used to try many names.
        codes.count_wrong_use(db, code_id=code_id)
        raise Conflict("用户名已被使用，请换一个", code="username_taken", commit=True)
    codes.spend_code(db, code_id=code_id)
    existing = _existing(db, data, cipher)
    created = None
    if existing is None:
        try:
            with db.begin_nested():
                created = _new_user(db, data, cipher)
        except IntegrityError:  # the same number (or name) registered at the same moment
            existing = _existing(db, data, cipher)
            if existing is None:
                raise Conflict("用户名已被使用，请换一个", code="username_taken") from None
    if created is not None:
        messages.send(
            db,
            settings=settings,
            cipher=cipher,
            to=data.phone,
            template="register_done",
            params={"username": created.username},
        )
    else:
        assert existing is not None
        hash_password(data.password)  # the same work as a new account, so the time tells nothing either
        _notify_holder(db, existing, settings=settings, cipher=cipher)
    _audit(db, data, actor=actor, account=created or existing, created=created is not None)
    return RegistrationAccepted(message=ACCEPTED)


def _notify_holder(db: Session, holder: User, *, settings: Settings, cipher: FieldCipher) -> None:
    """Tell the registered holder that someone tried their number again (when the account has a mobile)."""
    if holder.phone_enc is None:
        return
    phone = cipher.decrypt(holder.phone_enc, context=accounts.PHONE_CONTEXT)
    messages.send(
        db, settings=settings, cipher=cipher, to=phone, template="register_exists", params={"username": holder.username}
    )


def _audit(
    db: Session,
    data: CitizenRegistration | EnterpriseRegistration,
    *,
    actor: Principal,
    account: User | None,
    created: bool,
) -> None:
    citizen = isinstance(data, CitizenRegistration)
    details: dict[str, object] = {
        "kind": "citizen" if citizen else "enterprise",
        "result": "created" if created else "already_registered",
        "phone": mask_phone(data.phone),
    }
    if isinstance(data, CitizenRegistration):
        details["id_number"] = mask_id_number(data.id_number)
    else:
        details["credit_code"] = data.credit_code  # public register data
    audit.record(
        db,
        actor=actor,
        action="org.registration",
        target_type="user",
        target_id=account.id if account else None,
        outcome=audit.OUTCOME_SUCCESS if created else audit.OUTCOME_FAILURE,
        details=details,
    )
