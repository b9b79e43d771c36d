"""Start-up work shared by `serve`, `worker` and the CLI: migrate, plug in domains, sync roles, demo."""

import logging
from datetime import timedelta

from yiwang import domains
from yiwang.core import audit, events
from yiwang.core.jobs import Job
from yiwang.core.migrate import upgrade
from yiwang.core.runtime import Runtime
from yiwang.org import service as org_service
from yiwang.web import nav, templating

log = logging.getLogger(__name__)


def prepare(runtime: Runtime) -> None:
    """Upgrade the schema, plug in every domain, sync roles, and load the demo into an empty database."""
    upgrade(runtime.db.engine, cipher=runtime.cipher)
    events.configure(
        max_attempts=runtime.settings.event_max_attempts, retry_base_seconds=runtime.settings.event_retry_seconds
    )
    for plugin in domains.plugins():
        nav.register(*plugin.nav)
        if plugin.template_dir:
            templating.add_template_dir(plugin.template_dir)
        if plugin.on_startup:
            plugin.on_startup(runtime)
    with runtime.db.unit_of_work() as db:
        org_service.sync_roles(db)
        empty = not org_service.list_departments(db, include_inactive=True)
    if empty and runtime.settings.demo_on_first_start:
        from yiwang.demo import loader

        log.info("empty database: loading the Changshu demo")
        loader.load_all(runtime)


def sign_audit_head(runtime: Runtime) -> None:
    with runtime.db.unit_of_work() as db:
        audit.sign_head(db, runtime.signing_key)


def deliver_events(runtime: Runtime) -> None:
    delivered = events.deliver_due(runtime.db.engine)
    if delivered:
        log.info("delivered %s events left in the outbox", delivered)


def purge_events(runtime: Runtime) -> None:
    with runtime.db.unit_of_work() as db:
        events.purge_delivered(db, older_than=timedelta(days=runtime.settings.event_keep_days))


def jobs(runtime: Runtime) -> list[Job]:
    """Periodic jobs of the kernel and of every domain."""
    settings = runtime.settings
    found = [
        Job("audit.sign_head", settings.audit_sign_seconds, lambda: sign_audit_head(runtime)),
        Job("events.deliver", settings.event_delivery_seconds, lambda: deliver_events(runtime)),
        Job("events.purge", 3600, lambda: purge_events(runtime)),
    ]
    for plugin in domains.plugins():
        if plugin.jobs:
            found.extend(plugin.jobs(runtime))
    return found
