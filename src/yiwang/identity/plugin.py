"""How the identity domain plugs into the platform."""

from pathlib import Path

from yiwang.core.events import Transactions, subscribe, subscribe_io
from yiwang.core.runtime import Runtime
from yiwang.domains import DomainPlugin
from yiwang.identity import account_pages, admin_pages, api, jobs, keys, pages, signins
from yiwang.identity import permissions as p
from yiwang.identity.schemas import BackchannelLogoutDue
from yiwang.org.schemas import SessionEnded
from yiwang.web import signout
from yiwang.web.nav import Entry


def _startup(runtime: Runtime) -> None:
    settings = runtime.settings

    def on_logout_due(transaction: Transactions, payload: BackchannelLogoutDue) -> None:
        signins.send_backchannel_logout(transaction, payload, settings=settings)

    subscribe(SessionEnded, signins.on_session_ended, key="identity.end_app_sessions")
    subscribe_io(BackchannelLogoutDue, on_logout_due, key="identity.backchannel_logout")
    signout.register("identity", pages.frontchannel_provider(settings))
    with runtime.db.unit_of_work() as db:
        keys.ensure_keys(db, key_dir=settings.key_dir)


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="identity",
        routers=[
            api.discovery_router,
            api.oidc_router,
            api.router,
            pages.router,
            account_pages.router,
            admin_pages.router,
        ],
        template_dir=Path(__file__).parent / "templates",
        nav=[
            Entry("data", "登录设备与已授权应用", "/account/apps", "单点登录的会话、应用与授权同意", order=12),
            Entry(
                "admin",
                "统一身份认证接入",
                "/admin/oidc/clients",
                "OpenID Connect 接入应用与签名密钥",
                p.CLIENT_READ,
                15,
            ),
        ],
        jobs=jobs.jobs,
        on_startup=_startup,
    )
