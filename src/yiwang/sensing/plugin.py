"""How 物联感知 plugs into the platform."""

from pathlib import Path

from yiwang.core.runtime import Runtime
from yiwang.domains import DomainPlugin
from yiwang.sensing import api, demo, jobs, layers, pages, sta_api
from yiwang.sensing import permissions as p
from yiwang.sensing.water import ITEM_LABELS
from yiwang.web import labels
from yiwang.web.nav import Entry

labels.register("observed_property", {code: name for code, (name, *_rest) in demo.PROPERTIES.items()} | ITEM_LABELS)
labels.register(
    "alarm_rule_kind",
    {"threshold": "阈值", "rate": "变化率", "nodata": "无数据", "aqi": "空气质量指数"},
)


def _startup(runtime: Runtime) -> None:
    layers.register()


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="sensing",
        routers=[sta_api.router, api.router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[
            Entry("cityops", "物联感知设备", "/sensing", "设备地图、健康与拒收统计", p.READ, 40),
            Entry("cityops", "告警台", "/sensing/alarms", "阈值、变化率与断数告警", p.READ, 50),
            Entry("brain", "空气质量与水质", "/sensing/aqi", "AQI（HJ 633）与地表水类别", p.READ, 30),
        ],
        jobs=jobs.jobs,
        on_startup=_startup,
        demo=lambda runtime, console: demo.load(runtime, console),
    )
