"""How governance plugs into the platform."""

import logging
from pathlib import Path

from yiwang.domains import DomainPlugin
from yiwang.governance import api, pages
from yiwang.governance import permissions as p
from yiwang.web.nav import Entry

log = logging.getLogger(__name__)


def _jobs(runtime):
    from yiwang.governance import jobs

    return jobs.jobs(runtime)


def _startup(runtime):
    """Folders left by an ingest whose process died (kill -9, power loss) are removed."""
    from yiwang.governance import storage

    removed = storage.clean_staging(runtime.settings.data_dir)
    with runtime.db.unit_of_work() as db:
        removed += storage.clean_orphan_snapshots(db, data_dir=runtime.settings.data_dir)
    if removed:
        log.warning("removed %s snapshot folders of interrupted ingests", removed)


def _demo(runtime, console):
    from yiwang.governance import demo

    return demo.load(runtime, console)


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="governance",
        routers=[api.router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[Entry("data", "数据治理", "/governance", "挂载、校验、隔离、版本与质量报告", p.DATA_READ, 30)],
        jobs=_jobs,
        on_startup=_startup,
        demo=_demo,
    )
