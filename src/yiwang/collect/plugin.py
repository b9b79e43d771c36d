"""How collection plugs into the platform: routers, pages, the scheduler job, the stewards' alerts."""

from pathlib import Path

from yiwang.collect import api, pages
from yiwang.collect import permissions as p
from yiwang.collect.service import SECRET_CONTEXT
from yiwang.core.crypto.reencrypt import SealedColumn, SealedTable
from yiwang.domains import DomainPlugin
from yiwang.web.nav import Entry


def _jobs(runtime):
    from yiwang.collect import jobs

    return jobs.jobs(runtime)


def _on_startup(runtime) -> None:
    from yiwang.collect import service
    from yiwang.core import workbench

    def failed_sources(db, principal):
        return [
            workbench.WorkItem("数据归集", f"归集失败：{a.name}（{a.code}）", f"/collect/sources/{a.code}", None, True)
            for a in service.alerts_for(db, actor=principal)
        ]

    workbench.register("collect", failed_sources)


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="collect",
        routers=[api.router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[Entry("data", "数据归集", "/collect", "从部门数据库、接口和文件夹定时归集数据", p.SOURCE_READ, 35)],
        jobs=_jobs,
        on_startup=_on_startup,
        sealed=[SealedTable("collect_source", "id", (SealedColumn("secret_enc", SECRET_CONTEXT),), ("code",))],
    )
