"""How the open data portal plugs into the platform."""

from pathlib import Path

from yiwang.domains import DomainPlugin
from yiwang.opendata import api, pages
from yiwang.opendata import permissions as p
from yiwang.web.nav import Entry


def _demo(runtime, console):
    from yiwang.opendata import demo

    return demo.load(runtime, console)


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="opendata",
        routers=[api.router, api.ckan_router, api.dcat_router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[
            Entry("data", "公共数据开放", "/opendata", "开放数据门户、下载、开放接口、CKAN 与 DCAT", "public", 50),
            Entry(
                "data", "开放数据管理", "/opendata/manage", "发布开放数据集、审核有条件开放申请", p.DATASET_WRITE, 55
            ),
        ],
        demo=_demo,
    )
