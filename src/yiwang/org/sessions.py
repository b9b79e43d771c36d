"""Browser sessions (登录会话): listed for their holder, ended on request or by timeout, and announced.

A session ends by logout, by its holder from the sessions list, by the idle or absolute timeout, or
when a password change revokes it. Each end is published as `SessionEnded` through the events outbox,
so the applications signed in through it are logged out even if this process dies right after."""

import re
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from yiwang.config import Settings
from yiwang.core import audit, events
from yiwang.core.errors import NotFound, PermissionDenied
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.org.models import Credential
from yiwang.org.schemas import SessionEnded, SessionRead

SESSION = "session"
# Sessions that expired longer ago than this are history, not news: the timeout job leaves them be.
_EXPIRY_NEWS = timedelta(days=1)

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("MicroMessenger", "微信"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("HarmonyOS", "鸿蒙"),
    ("Linux", "Linux"),
)


def device_name(user_agent: str | None) -> str:
    """A person's name for a browser from its User-Agent: 'Chrome · Windows', or 未知设备."""
    if not user_agent:
        return "未知设备"
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser is None and system is None:
        first = re.split(r"[\s/]", user_agent.strip(), maxsplit=1)[0]
        return first[:40] or "未知设备"
    return " · ".join(part for part in (browser, system) if part)


def is_live(credential: Credential, *, now: datetime, idle: timedelta | None) -> bool:
    """Not revoked, not past its absolute end, and (for sessions) not idle longer than allowed."""
    if credential.revoked_at is not None or credential.expires_at <= now:
        return False
    if idle is not None and credential.kind == SESSION:
        return now - (credential.last_used_at or credential.created_at) <= idle
    return True


def _read(credential: Credential, *, now: datetime, idle: timedelta) -> SessionRead:
    return SessionRead(
        id=credential.id,
        user_id=credential.user_id,
        device=device_name(credential.user_agent),
        ip=credential.created_ip,
        created_at=credential.created_at,
        last_used_at=credential.last_used_at,
        expires_at=credential.expires_at,
        live=is_live(credential, now=now, idle=idle),
    )


def list_sessions(db: Session, *, user_id: int, settings: Settings) -> list[SessionRead]:
    """The account's live browser sessions, newest first."""
    now = utcnow()
    idle = timedelta(minutes=settings.session_idle_minutes)
    rows = db.execute(
        select(Credential)
        .where(
            Credential.user_id == user_id,
            Credential.kind == SESSION,
            Credential.revoked_at.is_(None),
            Credential.expires_at > now,
        )
        .order_by(Credential.created_at.desc())
    ).scalars()
    return [read for read in (_read(c, now=now, idle=idle) for c in rows) if read.live]


def get_session(db: Session, *, session_id: int, settings: Settings) -> SessionRead | None:
    """One browser session (live or not), or None."""
    credential = db.get(Credential, session_id)
    if credential is None or credential.kind != SESSION:
        return None
    return _read(credential, now=utcnow(), idle=timedelta(minutes=settings.session_idle_minutes))


def announce_ended(db: Session, *, user_id: int, session_ids: list[int], reason: str) -> None:
    """Publish the end of each session, in the ending transaction."""
    for session_id in session_ids:
        events.publish(db, SessionEnded(session_id=session_id, user_id=user_id, reason=reason))


def end_session(db: Session, *, actor: Principal, session_id: int, reason: str = "ended_by_user") -> bool:
    """End one of the caller's own browser sessions; False if it had already ended."""
    credential = db.get(Credential, session_id)
    if credential is None or credential.kind != SESSION:
        raise NotFound("会话不存在")
    if credential.user_id != actor.user_id:
        raise PermissionDenied("只能结束自己的登录会话")
    ended = db.execute(
        update(Credential)
        .where(Credential.id == session_id, Credential.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(Credential.id)
    ).all()
    if not ended:
        return False
    announce_ended(db, user_id=credential.user_id, session_ids=[session_id], reason=reason)
    audit.record(
        db,
        actor=actor,
        action="auth.session.end",
        target_type="credential",
        target_id=session_id,
        details={"reason": reason, "own_current": session_id == actor.session_id},
    )
    return True


def expire_sessions(db: Session, *, settings: Settings, limit: int = 500) -> int:
    """Mark sessions past their idle or absolute timeout as ended and announce them (the timeout job).

    Each row is claimed by a conditional update, so nodes running this at once announce it once."""
    now = utcnow()
    idle_since = now - timedelta(minutes=settings.session_idle_minutes)
    due = db.execute(
        select(Credential.id, Credential.user_id)
        .where(
            Credential.kind == SESSION,
            Credential.revoked_at.is_(None),
            Credential.expires_at > now - _EXPIRY_NEWS,
            or_(
                Credential.expires_at <= now,
                Credential.last_used_at < idle_since,
                Credential.last_used_at.is_(None) & (Credential.created_at < idle_since),
            ),
        )
        .limit(limit)
    ).all()
    count = 0
    for session_id, user_id in due:
        claimed = db.execute(
            update(Credential)
            .where(Credential.id == session_id, Credential.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(Credential.id)
        ).all()
        if claimed:
            announce_ended(db, user_id=user_id, session_ids=[session_id], reason="timeout")
            count += 1
    return count
