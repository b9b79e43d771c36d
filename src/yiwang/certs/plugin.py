"""How the certs domain plugs into the platform."""

from pathlib import Path

from yiwang.certs import api, demo, jobs, pages
from yiwang.certs import permissions as p
from yiwang.domains import DomainPlugin
from yiwang.web.nav import Entry


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="certs",
        routers=[api.router, api.log_router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[
            Entry("onestop", "电子证照核验", "/certs/verify", "扫码或输入标识核验电子证照", "public", 60),
            Entry("data", "电子证照透明日志", "/certs/log", "RFC 6962 日志与签名检查点", "public", 70),
            Entry("onestop", "我的证照夹", "/certs/wallet", "电子证照与用证记录", p.WALLET, 30),
        ],
        jobs=jobs.jobs,
        demo=demo.load,
    )
