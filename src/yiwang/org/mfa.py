"""Second factors (双因素认证): TOTP enrolment and removal, one-time recovery codes, the second login
step with its throttle, and the administrator's reset of a lost factor.

A role may require a second factor (`org_role.requires_second_factor`); the three administrator roles
always do. A confirmed TOTP factor is asked for at every password login of its holder, whether or not
a role requires it. Every change is in the audit chain."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from yiwang.config import Settings
from yiwang.core import audit
from yiwang.core.crypto import FieldCipher
from yiwang.core.errors import AppError, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.security import Principal, check_department_scope
from yiwang.core.timeutil import utcnow
from yiwang.org import throttle, totp
from yiwang.org.models import Credential, RecoveryCode, Role, TotpFactor, User, UserRole

SECRET_CONTEXT = "org_totp_factor.secret"  # noqa: S105  (an encryption context, not a secret)
RECOVERY_NAMESPACE = "org_recovery_code:"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
THROTTLE_PREFIX = "2fa:"
# Credentials a person holds by logging in; API keys are machine credentials and stay.
_LOGIN_CREDENTIALS = ("session", "access_token", "enrolment", "mfa_pending")


class Requirement(StrEnum):
    NONE = "none"  # password alone
    VERIFY = "verify"  # a confirmed factor: ask for a code
    ENROL = "enrol"  # a role requires a factor the account does not have yet


class SecondFactorRequired(AppError):
    status_code = 401
    code = "mfa_required"
    message = "该账号已启用双因素认证，请同时提供动态口令（otp）"


class EnrolmentRequired(AppError):
    status_code = 403
    code = "mfa_enrolment_required"
    message = "该账号的角色要求双因素认证，请先在网页登录并绑定身份验证器"


class WrongCode(AppError):
    status_code = 401
    code = "invalid_otp"
    message = "动态口令或恢复码不正确"


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg: str


@dataclass(frozen=True)
class FactorStatus:
    enrolled: bool
    pending: bool
    required: bool
    recovery_codes_left: int
    confirmed_at: datetime | None


def role_requires(db: Session, *, user_id: int) -> bool:
    """Whether any role of the account requires a second factor."""
    stmt = (
        select(func.count())
        .select_from(UserRole)
        .join(Role, Role.id == UserRole.role_id)
        .where(UserRole.user_id == user_id, Role.requires_second_factor.is_(True))
    )
    return bool(db.execute(stmt).scalar_one())


def _factor(db: Session, user_id: int, *, for_update: bool = False) -> TotpFactor | None:
    stmt = select(TotpFactor).where(TotpFactor.user_id == user_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return db.execute(stmt).scalar_one_or_none()


def requirement(db: Session, *, user: User) -> Requirement:
    """What a password login of this account still needs."""
    if user.kind == "system":
        return Requirement.NONE  # machine credentials are unchanged
    factor = _factor(db, user.id)
    if factor is not None and factor.confirmed_at is not None:
        return Requirement.VERIFY
    return Requirement.ENROL if role_requires(db, user_id=user.id) else Requirement.NONE


def status(db: Session, *, user_id: int) -> FactorStatus:
    factor = _factor(db, user_id)
    left = db.execute(
        select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    ).scalar_one()
    return FactorStatus(
        enrolled=factor is not None and factor.confirmed_at is not None,
        pending=factor is not None and factor.confirmed_at is None,
        required=role_requires(db, user_id=user_id),
        recovery_codes_left=left,
        confirmed_at=factor.confirmed_at if factor else None,
    )


def _own(db: Session, actor: Principal) -> User:
    user = db.get(User, actor.user_id) if actor.user_id else None
    if user is None or user.kind == "system":
        raise PermissionDenied("只有个人账号可以绑定身份验证器")
    return user


def begin_totp(db: Session, *, actor: Principal, cipher: FieldCipher) -> Enrolment:
    """Start (or restart) enrolling a TOTP authenticator: a new secret, not yet in force."""
    user = _own(db, actor)
    factor = _factor(db, user.id, for_update=True)
    if factor is not None and factor.confirmed_at is not None:
        raise ValidationFailed("已绑定身份验证器；如需更换，请先移除现有的", code="mfa_already_enrolled")
    secret = totp.new_secret()
    if factor is None:
        factor = TotpFactor(user_id=user.id, created_at=utcnow())
        db.add(factor)
    factor.secret_enc = cipher.encrypt(secret, context=SECRET_CONTEXT)
    factor.last_step = None
    db.flush()
    return _enrolment(secret, user.username)


def _enrolment(secret: str, username: str) -> Enrolment:
    uri = totp.provisioning_uri(secret, account=username)
    return Enrolment(secret=secret, uri=uri, qr_svg=totp.qr_svg(uri))


def pending_enrolment(db: Session, *, actor: Principal, cipher: FieldCipher) -> Enrolment | None:
    """The enrolment in progress, to show its QR code again."""
    user = _own(db, actor)
    factor = _factor(db, user.id)
    if factor is None or factor.confirmed_at is not None:
        return None
    return _enrolment(cipher.decrypt(factor.secret_enc, context=SECRET_CONTEXT), user.username)


def _accept_step(db: Session, factor: TotpFactor, step: int) -> bool:
    """Move the factor's last step forward, atomically: two logins racing on one code, one wins."""
    moved = db.execute(
        update(TotpFactor)
        .where(
            TotpFactor.id == factor.id,
            (TotpFactor.last_step.is_(None)) | (TotpFactor.last_step < step),
        )
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(moved, "rowcount", 0) == 1)


def confirm_totp(db: Session, *, actor: Principal, cipher: FieldCipher, code: str) -> list[str]:
    """Confirm the enrolment with a first code; returns the new recovery codes (shown once)."""
    user = _own(db, actor)
    factor = _factor(db, user.id, for_update=True)
    if factor is None or factor.confirmed_at is not None:
        raise ValidationFailed("没有待确认的身份验证器，请重新开始绑定", code="mfa_no_enrolment")
    secret = cipher.decrypt(factor.secret_enc, context=SECRET_CONTEXT)
    found = totp.match(secret, code, at=utcnow(), last_step=factor.last_step)
    if not found.accepted or found.step is None or not _accept_step(db, factor, found.step):
        audit.record(
            db,
            actor=actor,
            action="auth.second_factor.enrol",
            target_type="user",
            target_id=user.id,
            outcome=audit.OUTCOME_FAILURE,
            details={"method": "totp", "reason": "wrong_code"},
        )
        raise ValidationFailed("动态口令不正确，请核对手机时间后输入当前显示的6位数字", code="invalid_otp", commit=True)
    factor.confirmed_at = utcnow()
    codes = _new_recovery_codes(db, user_id=user.id, cipher=cipher)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="auth.second_factor.enrol",
        target_type="user",
        target_id=user.id,
        details={"method": "totp", "recovery_codes": len(codes)},
    )
    return codes


def _new_recovery_codes(db: Session, *, user_id: int, cipher: FieldCipher) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    now = utcnow()
    for code in codes:
        db.add(RecoveryCode(user_id=user_id, code_hash=cipher.token_digest(_recovery_secret(code)), created_at=now))
    db.flush()
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def _recovery_secret(code: str) -> str:
    """The code as typed in any case, with or without its dash, in its own namespace for the MAC."""
    return RECOVERY_NAMESPACE + code.strip().lower().replace("-", "").replace(" ", "")


def regenerate_recovery_codes(db: Session, *, actor: Principal, cipher: FieldCipher) -> list[str]:
    """Replace the account's recovery codes with ten new ones (the old ones stop working)."""
    user = _own(db, actor)
    factor = _factor(db, user.id)
    if factor is None or factor.confirmed_at is None:
        raise ValidationFailed("尚未绑定身份验证器", code="mfa_not_enrolled")
    codes = _new_recovery_codes(db, user_id=user.id, cipher=cipher)
    audit.record(
        db,
        actor=actor,
        action="auth.second_factor.recovery_codes",
        target_type="user",
        target_id=user.id,
        details={"count": len(codes)},
    )
    return codes


def _use_recovery_code(db: Session, *, user_id: int, code: str, cipher: FieldCipher) -> bool:
    """Spend one unused recovery code; the update is the check, so a code works exactly once."""
    used = db.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            # under every live token key: a code is never re-derived (it is not kept), like a token
            RecoveryCode.code_hash.in_(cipher.token_digests(_recovery_secret(code))),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(used, "rowcount", 0) == 1)


def check_code(db: Session, *, user: User, code: str, cipher: FieldCipher) -> str | None:
    """Accept a TOTP code or an unused recovery code of the account: the method used, or None."""
    factor = _factor(db, user.id, for_update=True)
    if factor is None or factor.confirmed_at is None:
        return None
    secret = cipher.decrypt(factor.secret_enc, context=SECRET_CONTEXT)
    found = totp.match(secret, code, at=utcnow(), last_step=factor.last_step)
    if found.accepted and found.step is not None and _accept_step(db, factor, found.step):
        return "totp"
    if (
        not found.replayed
        and len(code.strip()) > totp.DIGITS
        and _use_recovery_code(db, user_id=user.id, code=code, cipher=cipher)
    ):
        return "recovery_code"
    return None


def verify_login(
    db: Session, *, user: User, code: str, ip: str | None, settings: Settings, cipher: FieldCipher, via: str
) -> str:
    """The second login step: throttled per (account, address) like passwords, audited either way."""
    now = utcnow()
    key = THROTTLE_PREFIX + user.username
    actor = Principal(user_id=user.id, username=user.username, display_name=user.display_name, kind=user.kind, ip=ip)
    wait = throttle.wait_seconds(db, username=key, ip=ip, settings=settings, now=now)
    if wait is not None:
        _audit_step(db, actor, audit.OUTCOME_DENIED, {"reason": "throttled", "retry_after_seconds": wait, "via": via})
        raise throttle.LoginThrottled(details={"retry_after_seconds": wait}, commit=True)
    method = check_code(db, user=user, code=code, cipher=cipher)
    if method is None:
        throttle.record_failure(db, username=key, ip=ip, settings=settings, now=now)
        _audit_step(db, actor, audit.OUTCOME_FAILURE, {"reason": "wrong_code", "via": via})
        raise WrongCode(commit=True)
    throttle.record_success(db, username=key, ip=ip, now=now)
    details: dict[str, object] = {"method": method, "via": via}
    if method == "recovery_code":
        details["recovery_codes_left"] = status(db, user_id=user.id).recovery_codes_left
    _audit_step(db, actor, audit.OUTCOME_SUCCESS, details)
    return method


def _audit_step(db: Session, actor: Principal, outcome: str, details: dict[str, object]) -> None:
    audit.record(
        db,
        actor=actor,
        action="auth.second_factor.verify",
        target_type="user",
        target_id=actor.user_id,
        outcome=outcome,
        details=details,
    )


def _drop_factor(db: Session, user_id: int) -> None:
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    db.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))


def remove_own(db: Session, *, actor: Principal, cipher: FieldCipher, code: str) -> None:
    """Remove one's own factor, proven with a current code; refused while a role requires one."""
    user = _own(db, actor)
    if role_requires(db, user_id=user.id):
        raise ValidationFailed("您的角色要求双因素认证，不能移除身份验证器", code="mfa_required_by_role")
    if check_code(db, user=user, code=code, cipher=cipher) is None:
        audit.record(
            db,
            actor=actor,
            action="auth.second_factor.remove",
            target_type="user",
            target_id=user.id,
            outcome=audit.OUTCOME_FAILURE,
            details={"reason": "wrong_code"},
        )
        raise ValidationFailed("动态口令或恢复码不正确", code="invalid_otp", commit=True)
    _drop_factor(db, user.id)
    audit.record(db, actor=actor, action="auth.second_factor.remove", target_type="user", target_id=user.id)


def end_login_credentials(db: Session, *, user_id: int) -> None:
    """End the account's sessions and access tokens (not its API keys)."""
    db.execute(
        update(Credential)
        .where(
            Credential.user_id == user_id,
            Credential.revoked_at.is_(None),
            Credential.kind.in_(_LOGIN_CREDENTIALS),
        )
        .values(revoked_at=utcnow())
    )


def reset(db: Session, *, actor: Principal, user_id: int, reason: str) -> None:
    """An administrator removes another account's lost factor, with a written reason. The holder's
    sessions end; if a role requires a factor, the next login leads to enrolment again."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("账号不存在")
    if actor.user_id == user.id:
        raise PermissionDenied("不能重置自己的双因素认证", code="mfa_reset_own")
    check_department_scope(actor, user.department_id)
    if len(reason.strip()) < 4:
        raise ValidationFailed("请写明重置事由（至少4个字）", details={"reason": ["至少4个字"]})
    had = _factor(db, user.id) is not None
    _drop_factor(db, user.id)
    end_login_credentials(db, user_id=user.id)
    audit.record(
        db,
        actor=actor,
        action="auth.second_factor.reset",
        target_type="user",
        target_id=user.id,
        details={"reason": reason.strip(), "had_factor": had},
    )


def _has_confirmed_factor(user_id: Any) -> Any:
    return select(TotpFactor.id).where(TotpFactor.user_id == user_id, TotpFactor.confirmed_at.isnot(None)).exists()


def end_sessions_without_factor(db: Session, *, role_code: str) -> int:
    """When a role starts requiring a second factor, its holders without one sign in again (and are
    led to enrolment). Returns how many accounts were signed out."""
    holders = (
        db.execute(
            select(UserRole.user_id)
            .join(Role, Role.id == UserRole.role_id)
            .where(Role.code == role_code)
            .where(
                ~select(TotpFactor.id)
                .where(TotpFactor.user_id == UserRole.user_id, TotpFactor.confirmed_at.isnot(None))
                .exists()
            )
        )
        .scalars()
        .all()
    )
    for user_id in holders:
        end_login_credentials(db, user_id=user_id)
    return len(holders)


def complete_api_login(
    db: Session, *, user: User, otp: str | None, ip: str | None, settings: Settings, cipher: FieldCipher
) -> None:
    """After the password, a program's login (the token endpoint's password grant) gives the code in
    the same request, or is told clearly what is missing."""
    needs = requirement(db, user=user)
    if needs is Requirement.ENROL:
        raise EnrolmentRequired(commit=True)
    if needs is Requirement.VERIFY:
        if not otp:
            raise SecondFactorRequired(commit=True)
        verify_login(db, user=user, code=otp, ip=ip, settings=settings, cipher=cipher, via="token")


def install_totp(db: Session, *, actor: Principal, user_id: int, secret: str, cipher: FieldCipher) -> None:
    """Give an account a confirmed TOTP factor with a known secret, without recovery codes. Only the
    demo does this (its administrators' secret is published beside their password)."""
    _drop_factor(db, user_id)
    db.add(
        TotpFactor(
            user_id=user_id,
            secret_enc=cipher.encrypt(secret, context=SECRET_CONTEXT),
            confirmed_at=utcnow(),
            created_at=utcnow(),
        )
    )
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="auth.second_factor.enrol",
        target_type="user",
        target_id=user_id,
        details={"method": "totp", "published_demo_secret": True},
    )
