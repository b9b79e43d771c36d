"""How the onestop domain plugs into the platform."""

from pathlib import Path

from yiwang.core import workbench
from yiwang.core.crypto.reencrypt import SealedColumn, SealedTable
from yiwang.core.runtime import Runtime
from yiwang.domains import DomainPlugin
from yiwang.onestop import api, demo, front_door, jobs, pages, personal, schemas, service
from yiwang.onestop import permissions as p
from yiwang.web import labels, nav
from yiwang.web.nav import Entry


def _startup(runtime: Runtime) -> None:
    workbench.register("onestop", service.pending_work)
    nav.register_home("citizen", front_door.citizen_home)
    nav.register_home("enterprise", front_door.citizen_home)
    labels.register("material_source", schemas.SOURCE_NAMES)
    labels.register("application_stage", schemas.STAGE_NAMES)
    labels.register("claim_state", schemas.CLAIM_STATE_NAMES)
    labels.register("base_database", schemas.DATABASE_NAMES)


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="onestop",
        routers=[api.router, front_door.router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[
            Entry("onestop", "办事大厅", "/onestop", "政务服务事项与“一件事”集成办理", "public", 10),
            Entry("onestop", "城市服务总入口", "/onestop/me", "我的办件、证照、消息与评价", p.APPLY, 20),
            Entry("onestop", "办件办理", "/onestop/tasks", "本部门办件受理、审查、决定、办结", p.TASK_HANDLE, 40),
            Entry(
                "onestop",
                "一网通办指标",
                "/onestop/figures",
                "可网办率、一件事、免提交、总入口与时效",
                p.FIGURES_READ,
                50,
            ),
            Entry("onestop", "事项管理", "/onestop/admin/items", "维护本部门事项，XLSX 导入导出", p.ITEM_WRITE, 70),
        ],
        on_startup=_startup,
        jobs=jobs.jobs,
        demo=demo.load,
        sealed=[
            SealedTable(
                "onestop_application",
                "id",
                (SealedColumn("personal_data", personal.PERSONAL_CONTEXT + ":{number}"),),
                context_columns=("number",),
            )
        ],
    )
