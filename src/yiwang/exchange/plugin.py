"""How the exchange plugs into the platform."""

from pathlib import Path

from yiwang.domains import DomainPlugin
from yiwang.exchange import api, pages, service_pages, services_api
from yiwang.exchange import permissions as p
from yiwang.web.nav import Entry


def _on_startup(runtime) -> None:
    from yiwang.core import workbench
    from yiwang.exchange import service

    def pending(db, principal):
        items = []
        for a in service.pending_for(db, actor=principal):
            title = ("答复共享申请 " if a.status == "pending_provider" else "审批共享申请 ") + a.number
            due = None
            if a.provider_due and a.status == "pending_provider":
                from datetime import datetime

                from yiwang.core.timeutil import SHANGHAI

                due = datetime.combine(a.provider_due, datetime.max.time(), tzinfo=SHANGHAI)
            items.append(
                workbench.WorkItem("共享交换", title, f"/exchange/applications/{a.id}", due, a.provider_overdue)
            )
        return items

    workbench.register("exchange", pending)

    from yiwang.exchange.message_keys import MessageKeys

    with runtime.db.unit_of_work() as db:  # the message-signing key exists before the first call
        MessageKeys(runtime.keyring).ensure(db)


def _jobs(runtime):
    from yiwang.exchange import jobs

    return jobs.jobs(runtime)


def _demo(runtime, console):
    from yiwang.exchange import demo

    return demo.load(runtime, console)


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="exchange",
        routers=[api.router, services_api.router, pages.router, service_pages.router],
        first_routers=[services_api.call_router],
        template_dir=Path(__file__).parent / "templates",
        nav=[
            Entry("data", "共享交换", "/exchange", "共享申请、授权、数据接口与调用日志", p.USAGE_READ, 40),
            Entry("data", "服务共享", "/exchange/services", "在线服务登记、申请、调用记录与存证", p.USAGE_READ, 41),
        ],
        jobs=_jobs,
        on_startup=_on_startup,
        demo=_demo,
    )
