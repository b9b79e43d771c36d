"""Login throttling: back-off per (account name, client address), and an account-wide limit that
spares the addresses the account has signed in from.

An account-wide lock-out lets anyone lock the administrator out by typing wrong passwords, and
answering differently for names that exist tells an attacker which ones do. Here every name typed
is throttled the same way whether or not it exists; one address guessing at one name backs off
exponentially; many addresses guessing at one name are held back together, except at addresses
where that account has signed in before, so its holder still gets in from their usual place.
"""

from datetime import datetime, timedelta
from math import ceil

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yiwang.config import Settings
from yiwang.core.db import dialect_insert
from yiwang.core.errors import AppError
from yiwang.org.models import LoginThrottle

NO_ADDRESS = "-"
MAX_DOUBLINGS = 20  # beyond this the cap applies anyway; keeps the arithmetic small


class LoginThrottled(AppError):
    status_code = 429
    code = "login_throttled"
    message = "登录失败次数过多，请稍后再试"


def account_key(username: str) -> str:
    return username.strip().lower()[:64]


def _address(ip: str | None) -> str:
    return (ip or NO_ADDRESS)[:64]


def _row(db: Session, username: str, ip: str, *, for_update: bool = False) -> LoginThrottle | None:
    stmt = select(LoginThrottle).where(LoginThrottle.username == username, LoginThrottle.ip == ip)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return db.execute(stmt).scalar_one_or_none()


def _row_for_update(db: Session, username: str, ip: str) -> LoginThrottle:
    """The pair's row, created if new, locked until the transaction ends (PostgreSQL)."""
    insert = dialect_insert(db)(LoginThrottle).values(username=username, ip=ip, failures=0)
    db.execute(insert.on_conflict_do_nothing(index_elements=["username", "ip"]))
    row = _row(db, username, ip, for_update=True)
    assert row is not None
    return row


def wait_seconds(db: Session, *, username: str, ip: str | None, settings: Settings, now: datetime) -> int | None:
    """How long this address must wait before trying this name again, or None when it may try now."""
    key, address = account_key(username), _address(ip)
    row = _row(db, key, address)
    if row is not None and row.blocked_until is not None and row.blocked_until > now:
        return ceil((row.blocked_until - now).total_seconds())
    if row is not None and row.last_success_at is not None:
        return None  # an address the account signs in from: the account-wide limit does not apply
    window_start = now - timedelta(minutes=settings.login_failure_window_minutes)
    recent = db.execute(
        select(func.coalesce(func.sum(LoginThrottle.failures), 0)).where(
            LoginThrottle.username == key, LoginThrottle.last_failure_at > window_start
        )
    ).scalar_one()
    if recent >= settings.login_account_max_failures:
        return settings.login_lock_minutes * 60
    return None


def record_failure(db: Session, *, username: str, ip: str | None, settings: Settings, now: datetime) -> None:
    """Count a failed attempt; past the free attempts, block the pair for a doubling time."""
    row = _row_for_update(db, account_key(username), _address(ip))
    forgotten = now - timedelta(minutes=settings.login_failure_window_minutes)
    if row.last_failure_at is not None and row.last_failure_at < forgotten:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    over = row.failures - settings.login_max_failures
    if over >= 0:
        seconds = min(settings.login_backoff_seconds * 2 ** min(over, MAX_DOUBLINGS), settings.login_lock_minutes * 60)
        row.blocked_until = now + timedelta(seconds=seconds)
    db.flush()


def record_success(db: Session, *, username: str, ip: str | None, now: datetime) -> None:
    """Clear the pair's failures and remember the address as one the account signs in from."""
    row = _row_for_update(db, account_key(username), _address(ip))
    row.failures, row.blocked_until, row.last_success_at = 0, None, now
    db.flush()


def release(db: Session, *, username: str) -> None:
    """An administrator's unlock: every address may try this name again at once."""
    db.execute(
        update(LoginThrottle)
        .where(LoginThrottle.username == account_key(username))
        .values(failures=0, blocked_until=None)
    )


def clear_pair(db: Session, *, username: str, ip: str | None) -> None:
    """Forget one address's failures at one name (its holder proved who they are another way)."""
    db.execute(
        update(LoginThrottle)
        .where(LoginThrottle.username == account_key(username), LoginThrottle.ip == _address(ip))
        .values(failures=0, blocked_until=None)
    )


def throttled_names(db: Session, *, usernames: list[str], now: datetime) -> set[str]:
    """Which of these account names some address is currently held back from."""
    if not usernames:
        return set()
    keys = {account_key(u): u for u in usernames}
    rows = db.execute(
        select(LoginThrottle.username)
        .where(LoginThrottle.username.in_(keys), LoginThrottle.blocked_until > now)
        .distinct()
    ).scalars()
    return {keys[k] for k in rows}
