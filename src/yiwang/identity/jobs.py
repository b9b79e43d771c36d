"""Background work of the identity domain: forgetting spent codes and long-dead tokens and keys."""

from datetime import timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from yiwang.core.db import changed_rows
from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime
from yiwang.core.timeutil import utcnow
from yiwang.identity.models import AppSession, AuthorizationCode, IssuedToken

# Kept this long after they stop working: replay detection needs spent codes for a while, and the
# sessions list and audit questions need recent history.
KEEP = timedelta(days=1)
KEEP_ENDED_SIGNINS = timedelta(days=30)


def purge(db: Session) -> int:
    now = utcnow()
    removed = changed_rows(db, delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - KEEP))
    removed += changed_rows(
        db,
        delete(IssuedToken).where(
            IssuedToken.access_expires_at < now - KEEP,
            or_(IssuedToken.refresh_expires_at.is_(None), IssuedToken.refresh_expires_at < now - KEEP),
        ),
    )
    removed += changed_rows(db, delete(AppSession).where(AppSession.ended_at < now - KEEP_ENDED_SIGNINS))
    return removed


def run_purge(runtime: Runtime) -> int:
    with runtime.db.unit_of_work() as db:
        return purge(db)


def jobs(runtime: Runtime) -> list[Job]:
    return [Job("identity.purge", 3600, lambda: run_purge(runtime))]
