"""Scheduled work of the org domain: forgetting old code requests and messages."""

from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime
from yiwang.org import codes, messages

PURGE_SECONDS = 3600


def jobs(runtime: Runtime) -> list[Job]:
    def purge() -> None:
        keep = runtime.settings.sms_keep_days
        with runtime.db.unit_of_work() as db:
            codes.purge(db, keep_days=keep)
            messages.purge(db, keep_days=keep)

    return [Job("org.purge_codes_and_messages", PURGE_SECONDS, purge)]
