"""How 一网统管 plugs into the platform: routers, nav, jobs, the sensor-alarm subscription, the workbench."""

import logging
from pathlib import Path

from sqlalchemy.orm import Session

from yiwang.cityops import api, demo, jobs, layers, lifecycle, open311, pages, service
from yiwang.cityops import permissions as p
from yiwang.cityops.schemas import SOURCE_NAMES
from yiwang.core import workbench
from yiwang.core.crypto.reencrypt import SealedColumn, SealedTable
from yiwang.core.events import subscribe
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.core.workbench import WorkItem
from yiwang.domains import DomainPlugin
from yiwang.sensing.schemas import AlarmConfirmed
from yiwang.web import labels
from yiwang.web.nav import Entry

log = logging.getLogger(__name__)


def pending_work(db: Session, principal: Principal) -> list[WorkItem]:
    """Dispatchers: events to classify, verify or decide on; handlers: their department's open events."""
    items: list[WorkItem] = []
    now = utcnow()
    if principal.has(p.DISPATCH):
        for f, label in (
            (service.EventFilter(needs_dispatcher=True), "待分拨"),
            (service.EventFilter(status="replied"), "待核查"),
            (service.EventFilter(status="verified"), "待结案"),
        ):
            rows, _ = service.list_events(db, actor=principal, filters=f, limit=50)
            items += [
                WorkItem(
                    "一网统管",
                    f"{label}：{e.number} {e.title}",
                    f"/cityops/events/{e.number}",
                    e.deadline,
                    bool(e.deadline and now > e.deadline),
                )
                for e in rows
            ]
    elif principal.has(p.HANDLE):
        for status in ("dispatched", "handling"):
            rows, _ = service.list_events(db, actor=principal, filters=service.EventFilter(status=status), limit=100)
            label = "待签收" if status == "dispatched" else "办理中"
            items += [
                WorkItem(
                    "一网统管",
                    f"{label}：{e.number} {e.title}",
                    f"/cityops/events/{e.number}",
                    e.deadline,
                    bool(e.deadline and now > e.deadline),
                )
                for e in rows
            ]
    return items


def _startup(runtime: Runtime) -> None:
    layers.register()

    def on_alarm(db: Session, alarm: AlarmConfirmed) -> None:
        """Delivered at least once: open_from_alarm opens one event per alarm (alarm_id is unique)."""
        opened = service.open_from_alarm(db, payload=alarm.model_dump(mode="json"), cipher=runtime.cipher)
        if opened is not None:
            log.info("sensor alarm %s opened city event %s", alarm.alarm_id, opened.number)

    subscribe(AlarmConfirmed, on_alarm, key="cityops.open_from_alarm")
    workbench.register("cityops", pending_work)
    labels.register("event_status", lifecycle.STATUS_NAMES)
    labels.register("event_action", lifecycle.ACTION_NAMES)
    labels.register("event_source", SOURCE_NAMES)


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="cityops",
        routers=[api.router, open311.router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[
            Entry("cityops", "上报城市问题", "/cityops/report", "群众上报、热线与网格登记", p.REPORT, 10),
            Entry("cityops", "城市事件", "/cityops", "受理、分拨、办理、核查与结案", p.READ, 20),
            Entry("cityops", "督办", "/cityops/supervision", "超期事件按部门督办", p.DISPATCH, 25),
            Entry("cityops", "分拨规则", "/cityops/rules", "按区划调整类别的责任部门与时限", p.CONFIG, 27),
            Entry("cityops", "办理统计与地图", "/cityops/figures", "按时办结率、满意率、事件分布", p.FIGURES, 30),
            Entry("cityops", "我的上报", "/cityops/mine", "查看进度并评价", p.REPORT, 60),
        ],
        jobs=jobs.jobs,
        on_startup=_startup,
        demo=lambda runtime, console: demo.load(runtime, console),
        sealed=[
            SealedTable(
                "cityops_event",
                "id",
                (
                    SealedColumn("reporter_name", lifecycle.REPORTER_CONTEXT_NAME),
                    SealedColumn("reporter_phone", lifecycle.REPORTER_CONTEXT_PHONE),
                ),
            )
        ],
    )
