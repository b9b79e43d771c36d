"""Start-up work shared by `serve`, `worker` and the CLI: migrate, plug in domains, sync roles, demo."""

import logging

from yiwang import domains
from yiwang.core import audit
from yiwang.core.jobs import Job
from yiwang.core.migrate import upgrade
from yiwang.core.runtime import Runtime
from yiwang.org import service as org_service
from yiwang.web import nav, templating

log = logging.getLogger(__name__)


def prepare(runtime: Runtime) -> None:
    """Upgrade the schema, plug in every domain, sync roles, and load the demo into an empty database."""
    upgrade(runtime.db.engine, cipher=runtime.cipher)
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


def jobs(runtime: Runtime) -> list[Job]:
    """Periodic jobs of the kernel and of every domain."""
    found = [Job("audit.sign_head", runtime.settings.audit_sign_seconds, lambda: sign_audit_head(runtime))]
    for plugin in domains.plugins():
        if plugin.jobs:
            found.extend(plugin.jobs(runtime))
    return found
