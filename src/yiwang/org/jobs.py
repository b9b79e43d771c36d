"""Background work of the org domain: ending browser sessions past their idle or absolute timeout,
and forgetting old code requests and messages."""

from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime
from yiwang.org import codes, messages, sessions

PURGE_SECONDS = 3600


def expire_sessions(runtime: Runtime) -> int:
    with runtime.db.unit_of_work() as db:
        return sessions.expire_sessions(db, settings=runtime.settings)


def purge_codes_and_messages(runtime: Runtime) -> None:
    keep = runtime.settings.sms_keep_days
    with runtime.db.unit_of_work() as db:
        codes.purge(db, keep_days=keep)
        messages.purge(db, keep_days=keep)


def jobs(runtime: Runtime) -> list[Job]:
    return [
        Job("org.sessions.expire", 60, lambda: expire_sessions(runtime)),
        Job("org.purge_codes_and_messages", PURGE_SECONDS, lambda: purge_codes_and_messages(runtime)),
    ]
