"""How the federation plugs into the platform."""

from pathlib import Path

from yiwang.domains import DomainPlugin
from yiwang.federation import api, pages
from yiwang.federation import permissions as p
from yiwang.web.nav import Entry


def _jobs(runtime):
    from yiwang.federation import jobs

    return jobs.jobs(runtime)


def _startup(runtime):
    from yiwang.core import workbench
    from yiwang.core.events import subscribe
    from yiwang.core.profile import CryptoProfileChanged
    from yiwang.federation import keys, service

    def on_profile_changed(db, change: CryptoProfileChanged) -> None:
        """The federation key follows the installation's profile (idempotent: delivered at least once)."""
        keys.follow_profile(db, runtime.keyring, to=change.to)

    subscribe(CryptoProfileChanged, on_profile_changed, key="federation.follow_profile")

    def pending(db, principal):
        return [
            workbench.WorkItem(
                "向上对接", f"答复数据异议 {o.entry_code}（{o.peer_name}）", f"/federation/objections/{o.id}"
            )
            for o in service.open_objections_for(db, actor=principal)
        ]

    workbench.register("federation", pending)


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="federation",
        routers=[api.router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[Entry("data", "向上对接", "/federation", "对接节点、目录同步、跨级申请与数据异议", p.READ, 60)],
        jobs=_jobs,
        on_startup=_startup,
    )
