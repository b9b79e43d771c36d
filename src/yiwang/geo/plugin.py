"""How 统一标准地图 plugs into the platform."""

from pathlib import Path

from yiwang.core.runtime import Runtime
from yiwang.domains import DomainPlugin
from yiwang.geo import api, collections, demo, ogc, pages
from yiwang.geo import permissions as p
from yiwang.web.nav import Entry


def _startup(runtime: Runtime) -> None:
    collections.register_own()


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="geo",
        routers=[ogc.router, api.router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[Entry("cityops", "统一标准地图", "/map", "行政区划、网格、建筑与业务图层", p.READ, 5)],
        on_startup=_startup,
        demo=lambda runtime, console: demo.load(runtime, console),
    )
