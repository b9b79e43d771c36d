"""How the certs domain plugs into the platform."""

import logging
from pathlib import Path

from sqlalchemy.orm import Session

from yiwang.certs import api, demo, jobs, pages, service
from yiwang.certs import permissions as p
from yiwang.core.events import subscribe
from yiwang.core.profile import CryptoProfileChanged
from yiwang.core.runtime import Runtime
from yiwang.domains import DomainPlugin
from yiwang.web.nav import Entry

log = logging.getLogger(__name__)


def _startup(runtime: Runtime) -> None:
    def on_profile_changed(db: Session, change: CryptoProfileChanged) -> None:
        """Freeze the log of the old profile and start one in the new (idempotent: delivered at least once)."""
        new = service.switch_profile(db, signing=runtime.certificate_signing, to=change.to)
        log.info("crypto profile %s → %s: certificates now log to %s", change.from_profile, change.to, new.origin)

    subscribe(CryptoProfileChanged, on_profile_changed, key="certs.switch_log")


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="certs",
        routers=[api.router, api.log_router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[
            Entry("onestop", "电子证照核验", "/certs/verify", "扫码或输入标识核验电子证照", "public", 60),
            Entry("data", "电子证照透明日志", "/certs/log", "任何人都能核验证照签发与注销记录", "public", 70),
            Entry("onestop", "我的证照夹", "/certs/wallet", "电子证照与用证记录", p.WALLET, 30),
        ],
        jobs=jobs.jobs,
        on_startup=_startup,
        demo=demo.load,
    )
