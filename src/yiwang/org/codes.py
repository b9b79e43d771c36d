"""One-time SMS codes (短信验证码): six digits, bound to a purpose, a mobile number and (for a reset) an
account name; stored as a keyed hash, valid for a few minutes, used once, a few wrong entries allowed.

Requests are limited per mobile number (one per `code_resend_seconds` for each purpose,
`code_daily_per_number` in 24 hours) and per client address (`code_hourly_per_address` an hour).
Both keys are locked while a request is counted, so requests arriving together are counted one
after the other.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yiwang.config import Settings
from yiwang.core import audit
from yiwang.core.crypto import FieldCipher
from yiwang.core.db import dialect_insert
from yiwang.core.errors import AppError
from yiwang.core.masking import mask_phone
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.org import messages
from yiwang.org.accounts import PHONE_CONTEXT
from yiwang.org.models import CodeSender, VerificationCode

CODE_CONTEXT = "org_verification_code"
NO_ADDRESS = "-"
DAY = timedelta(hours=24)
HOUR = timedelta(hours=1)


class CodeRateLimited(AppError):
    status_code = 429
    code = "code_rate_limited"
    message = "获取验证码过于频繁，请稍后再试"


class CodeRejected(AppError):
    status_code = 422
    code = "code_invalid"
    message = "验证码错误"


@dataclass(frozen=True)
class CodeIssued:
    expires_in_seconds: int
    resend_after_seconds: int


def phone_hash(cipher: FieldCipher, phone: str) -> str:
    """The keyed hash of a mobile number under the current lookup key, the one accounts are indexed under."""
    return cipher.lookup_hash(phone, context=PHONE_CONTEXT)


def phone_hashes(cipher: FieldCipher, phone: str) -> list[str]:
    """The number's hash under every live lookup key: rows written before a rotation are still found."""
    return cipher.lookup_hashes(phone, context=PHONE_CONTEXT)


def _code_text(*, purpose: str, phone: str, subject: str, code: str) -> str:
    return f"{purpose}\x00{phone}\x00{subject.lower()}\x00{code}"


def _code_hash(cipher: FieldCipher, *, purpose: str, phone: str, subject: str, code: str) -> str:
    return cipher.lookup_hash(
        _code_text(purpose=purpose, phone=phone, subject=subject, code=code), context=CODE_CONTEXT
    )


def _code_matches(cipher: FieldCipher, stored: str, *, purpose: str, phone: str, subject: str, code: str) -> bool:
    """Whether the code entered is the stored one, under whichever live lookup key it was hashed."""
    text = _code_text(purpose=purpose, phone=phone, subject=subject, code=code)
    return any(secrets.compare_digest(stored, digest) for digest in cipher.lookup_hashes(text, context=CODE_CONTEXT))


def wait_text(seconds: int) -> str:
    """A wait in words: 45秒, 3分钟, 2小时5分钟."""
    if seconds < 120:
        return f"{seconds}秒"
    minutes = ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes}分钟"
    hours, rest = divmod(minutes, 60)
    return f"{hours}小时{rest}分钟" if rest else f"{hours}小时"


def _lock(db: Session, key: str) -> None:
    """Take the row lock of one limit key, creating its row the first time."""
    db.execute(dialect_insert(db)(CodeSender).values(key=key).on_conflict_do_nothing(index_elements=["key"]))
    db.execute(select(CodeSender.id).where(CodeSender.key == key).with_for_update())


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, ceil((moment - now).total_seconds()))


def _refusal(
    db: Session, *, settings: Settings, purpose: str, numbers: list[str], address: str, now: datetime
) -> CodeRateLimited | None:
    """Why this number or address may not have a code now, with how long to wait; None when it may.

    The wait between two codes is per purpose (a registration code does not hold back a reset code);
    the daily count is of every code to the number."""
    by_number = select(VerificationCode.purpose, VerificationCode.created_at).where(
        VerificationCode.phone_hash.in_(numbers), VerificationCode.created_at > now - DAY
    )
    recent: list[tuple[str, datetime]] = [
        (kind, created) for kind, created in db.execute(by_number.order_by(VerificationCode.created_at))
    ]
    same = [created for kind, created in recent if kind == purpose]
    if same and same[-1] > now - timedelta(seconds=settings.code_resend_seconds):
        wait = _seconds_until(same[-1] + timedelta(seconds=settings.code_resend_seconds), now)
        return CodeRateLimited(f"验证码已发送，请在{wait_text(wait)}后再获取", details={"retry_after_seconds": wait})
    if len(recent) >= settings.code_daily_per_number:
        wait = _seconds_until(recent[-settings.code_daily_per_number][1] + DAY, now)
        return CodeRateLimited(
            f"该手机号24小时内获取验证码已达{settings.code_daily_per_number}次，请在{wait_text(wait)}后再试",
            details={"retry_after_seconds": wait},
        )
    by_address = select(VerificationCode.created_at).where(
        VerificationCode.ip == address, VerificationCode.created_at > now - HOUR
    )
    from_address = list(db.execute(by_address.order_by(VerificationCode.created_at)).scalars())
    if len(from_address) >= settings.code_hourly_per_address:
        wait = _seconds_until(from_address[-settings.code_hourly_per_address] + HOUR, now)
        return CodeRateLimited(
            f"本网络地址1小时内获取验证码已达{settings.code_hourly_per_address}次，请在{wait_text(wait)}后再试",
            details={"retry_after_seconds": wait},
        )
    return None


def request_code(
    db: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    actor: Principal,
    purpose: str,
    phone: str,
    subject: str = "",
    deliver: bool = True,
    now: datetime | None = None,
) -> CodeIssued:
    """Issue a code for (purpose, phone, subject) within the limits, and text it unless `deliver` is False.

    An undelivered request (a reset for a number no such account holds) is stored, counted and answered
    exactly like a delivered one; only the audit entry says it went nowhere."""
    now = now or utcnow()
    number, address = phone_hash(cipher, phone), (actor.ip or NO_ADDRESS)[:64]
    _lock(db, f"number:{number}")
    _lock(db, f"address:{address}")
    numbers = phone_hashes(cipher, phone)
    refusal = _refusal(db, settings=settings, purpose=purpose, numbers=numbers, address=address, now=now)
    if refusal is not None:
        raise refusal
    code = f"{secrets.randbelow(10**6):06d}"
    db.add(
        VerificationCode(
            purpose=purpose,
            phone_hash=number,
            code_hash=_code_hash(cipher, purpose=purpose, phone=phone, subject=subject, code=code),
            ip=address,
            delivered=deliver,
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.code_valid_minutes),
        )
    )
    if deliver:
        params = {"code": code, "minutes": str(settings.code_valid_minutes)}
        messages.send(db, settings=settings, cipher=cipher, to=phone, template=f"{purpose}_code", params=params)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="org.code.send",
        target_type="phone",
        target_id=mask_phone(phone),
        details={"purpose": purpose, "delivered": deliver},
    )
    return CodeIssued(
        expires_in_seconds=settings.code_valid_minutes * 60, resend_after_seconds=settings.code_resend_seconds
    )


def check_code(
    db: Session,
    *,
    settings: Settings,
    cipher: FieldCipher,
    purpose: str,
    phone: str,
    code: str,
    subject: str = "",
    now: datetime | None = None,
) -> int:
    """The id of the newest live code for (purpose, phone) if `code` is it; a wrong entry is counted.

    Only the newest code of a number and purpose counts: asking again replaces the one before."""
    now = now or utcnow()
    row = db.execute(
        select(VerificationCode)
        .where(VerificationCode.purpose == purpose, VerificationCode.phone_hash.in_(phone_hashes(cipher, phone)))
        .order_by(VerificationCode.id.desc())
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise CodeRejected("验证码已失效，请重新获取")
    if row.attempts >= settings.code_max_attempts:
        raise CodeRejected("验证码输入错误次数过多，已失效，请重新获取")
    if not _code_matches(cipher, row.code_hash, purpose=purpose, phone=phone, subject=subject, code=code):
        left = settings.code_max_attempts - count_wrong_use(db, code_id=row.id)
        message = f"验证码错误，还可尝试{left}次" if left > 0 else "验证码输入错误次数过多，已失效，请重新获取"
        raise CodeRejected(message, commit=True)
    return row.id


def count_wrong_use(db: Session, *, code_id: int) -> int:
    """Count one wrong use against a code; returns its attempts so far."""
    db.execute(
        update(VerificationCode).where(VerificationCode.id == code_id).values(attempts=VerificationCode.attempts + 1)
    )
    return int(db.execute(select(VerificationCode.attempts).where(VerificationCode.id == code_id)).scalar_one())


def spend_code(db: Session, *, code_id: int, now: datetime | None = None) -> None:
    """Mark a checked code used; of two uses at once, exactly one gets through."""
    result = db.execute(
        update(VerificationCode)
        .where(VerificationCode.id == code_id, VerificationCode.used_at.is_(None))
        .values(used_at=now or utcnow())
    )
    if getattr(result, "rowcount", 0) != 1:
        raise CodeRejected("验证码已使用，请重新获取")


def purge(db: Session, *, keep_days: int, now: datetime | None = None) -> int:
    """Drop code requests past their keeping time (at least a day, which the daily limit reads)."""
    cutoff = (now or utcnow()) - max(timedelta(days=keep_days), DAY)
    result = db.execute(VerificationCode.__table__.delete().where(VerificationCode.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
