"""Finding one's way back in (找回密码) and changing the bound mobile, both by a one-time SMS code.

A reset names the account and its mobile. A code goes out only when they belong together, but the
caller is answered the same either way and the request counts against the same limits, so the reset
form cannot be used to learn which names or numbers are registered.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.config import Settings
from yiwang.core import audit
from yiwang.core.crypto import FieldCipher
from yiwang.core.errors import NotAuthenticated, ValidationFailed
from yiwang.core.masking import mask_phone
from yiwang.core.passwords import hash_password, policy_problems
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.org import accounts, auth, codes, messages, throttle
from yiwang.org.models import User
from yiwang.org.schemas import CodeSent, PasswordReset, PhoneChange

RESET = "reset"
PHONE_CHANGE = "phone_change"
PEOPLE = ("staff", "citizen", "enterprise")
RESET_CODE_SENT = "如果用户名与手机号相符，验证码已发送，请查收短信"
CODE_SENT = "验证码已发送，请查收短信"


def _account(db: Session, *, username: str, phone: str, cipher: FieldCipher) -> User | None:
    """The active person's account of this name whose bound mobile is this number."""
    return db.execute(
        select(User).where(
            func.lower(User.username) == username.strip().lower(),
            User.phone_hash.in_(codes.phone_hashes(cipher, phone)),
            User.kind.in_(PEOPLE),
            User.active.is_(True),
        )
    ).scalar_one_or_none()


def request_reset_code(
    db: Session, *, username: str, phone: str, actor: Principal, settings: Settings, cipher: FieldCipher
) -> CodeSent:
    """Text a reset code when the name and mobile belong together; the same answer when they do not."""
    account = _account(db, username=username, phone=phone, cipher=cipher)
    issued = codes.request_code(
        db,
        settings=settings,
        cipher=cipher,
        actor=actor,
        purpose=RESET,
        phone=phone,
        subject=username.strip(),
        deliver=account is not None,
    )
    return CodeSent(message=RESET_CODE_SENT, **vars(issued))


def reset_password(
    db: Session, *, data: PasswordReset, actor: Principal, settings: Settings, cipher: FieldCipher
) -> None:
    """Set a new password with a reset code; every session, token and API key of the account ends."""
    problems = policy_problems(data.new_password, username=data.username)
    if problems:
        raise ValidationFailed("；".join(problems), details={"password": problems})
    code_id = codes.check_code(
        db, settings=settings, cipher=cipher, purpose=RESET, phone=data.phone, code=data.code, subject=data.username
    )
    account = _account(db, username=data.username, phone=data.phone, cipher=cipher)
    if account is None:  # changed since the code was sent
        raise codes.CodeRejected("验证码已失效，请重新获取")
    codes.spend_code(db, code_id=code_id)
    account.password_hash = hash_password(data.new_password)
    account.password_changed_at = utcnow()
    account.must_change_password = False
    auth.revoke_user_credentials(db, user_id=account.id, kinds=(auth.ACCESS_TOKEN, auth.SESSION, auth.API_KEY))
    # Whoever proved the mobile may sign in from here at once; other addresses stay held back.
    throttle.clear_pair(db, username=account.username, ip=actor.ip)
    messages.send(
        db,
        settings=settings,
        cipher=cipher,
        to=data.phone,
        template="password_reset_done",
        params={"username": account.username},
    )
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="auth.password.reset",
        target_type="user",
        target_id=account.id,
        details={"via": "sms_code", "phone": mask_phone(data.phone)},
    )


def request_phone_code(
    db: Session, *, phone: str, actor: Principal, settings: Settings, cipher: FieldCipher
) -> CodeSent:
    """Text a code to the number the caller wants to bind to their account."""
    if actor.user_id is None:
        raise NotAuthenticated()
    issued = codes.request_code(
        db, settings=settings, cipher=cipher, actor=actor, purpose=PHONE_CHANGE, phone=phone, subject=str(actor.user_id)
    )
    return CodeSent(message=CODE_SENT, **vars(issued))


def change_phone(db: Session, *, data: PhoneChange, actor: Principal, settings: Settings, cipher: FieldCipher) -> None:
    """Bind a new mobile to the caller's account once its code is entered; the old number is told."""
    account = db.get(User, actor.user_id) if actor.user_id is not None else None
    if account is None:
        raise NotAuthenticated()
    code_id = codes.check_code(
        db,
        settings=settings,
        cipher=cipher,
        purpose=PHONE_CHANGE,
        phone=data.phone,
        code=data.code,
        subject=str(account.id),
    )
    codes.spend_code(db, code_id=code_id)
    old = cipher.decrypt(account.phone_enc, context=accounts.PHONE_CONTEXT) if account.phone_enc else None
    accounts._set_personal(account, cipher, id_number=None, phone=data.phone)
    if old and old != data.phone:
        params = {"username": account.username, "masked": mask_phone(data.phone) or ""}
        messages.send(db, settings=settings, cipher=cipher, to=old, template="phone_changed", params=params)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="org.user.phone_change",
        target_type="user",
        target_id=account.id,
        details={"phone": mask_phone(data.phone), "via": "sms_code"},
    )
