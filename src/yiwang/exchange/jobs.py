"""Scheduled work of the exchange: signing the message log's head, dropping spent rate counters."""

from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime
from yiwang.exchange import counters, message_log
from yiwang.exchange.message_keys import MessageKeys


def jobs(runtime: Runtime) -> list[Job]:
    keys = MessageKeys(runtime.keyring)

    def sign_messages() -> None:
        with runtime.db.unit_of_work() as db:
            message_log.sign_head(db, keys=keys)

    def purge_counters() -> None:
        with runtime.db.unit_of_work() as db:
            counters.purge(db)

    return [
        Job("exchange.sign_messages", runtime.settings.audit_sign_seconds, sign_messages),
        Job("exchange.purge_counters", 60, purge_counters),
    ]
