"""How the resource catalog plugs into the platform."""

from pathlib import Path

from yiwang.catalog import api, pages, schemas
from yiwang.catalog import permissions as p
from yiwang.domains import DomainPlugin
from yiwang.web import labels
from yiwang.web.nav import Entry

labels.register("catalog_status", schemas.STATUS_NAMES)
labels.register("masking", schemas.MASKING_NAMES)
labels.register("sensitivity", {str(k): v for k, v in schemas.SENSITIVITY_NAMES.items()})


def _demo(runtime, console):
    from yiwang.catalog import demo

    return demo.load(runtime, console)


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="catalog",
        routers=[api.router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[Entry("data", "政务信息资源目录", "/catalog", "编目、审核发布、检索与 XLSX 导入导出", p.ENTRY_READ, 20)],
        demo=_demo,
    )
