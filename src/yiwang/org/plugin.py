"""How the org domain plugs into the platform."""

from pathlib import Path
from typing import TYPE_CHECKING

from yiwang.core.crypto.reencrypt import SealedColumn, SealedTable
from yiwang.core.permissions import AUDIT_READ
from yiwang.domains import DomainPlugin
from yiwang.org import (
    accounts,
    admin_pages,
    api,
    jobs,
    messages,
    mfa,
    pages,
    registration_api,
    registration_pages,
    second_factor_api,
    second_factor_pages,
    security_pages,
)
from yiwang.org import permissions as p
from yiwang.web.nav import Entry

if TYPE_CHECKING:
    from yiwang.core.runtime import Runtime


def _startup(runtime: "Runtime") -> None:
    """Messages for an HTTP SMS gateway leave through the events outbox, after their transaction commits;
    department and division codes, roles and account kinds get their Chinese labels."""
    from yiwang.core import events
    from yiwang.org.schemas import SmsRequested

    _register_labels(runtime)

    def deliver(transaction: events.Transactions, payload: SmsRequested) -> None:
        messages.deliver(transaction, message_id=payload.message_id, settings=runtime.settings, cipher=runtime.cipher)

    events.subscribe_io(SmsRequested, deliver, key="org.deliver_sms")


def _register_labels(runtime: "Runtime") -> None:
    import time

    from yiwang.org import service
    from yiwang.web import labels

    cache: dict[str, tuple[float, dict[str, str]]] = {}

    def names(vocabulary: str) -> dict[str, str]:
        kept = cache.get(vocabulary)
        if kept and time.monotonic() - kept[0] < 60:
            return kept[1]
        with runtime.db.read_only() as db:
            if vocabulary == "department":
                found = {d.code: d.short_name for d in service.list_departments(db, include_inactive=True)}
            else:
                found = {d.code: d.name for d in service.list_divisions(db)}
        cache[vocabulary] = (time.monotonic(), found)
        return found

    labels.register_lookup("department", lambda code: names("department").get(code))
    labels.register_lookup("division", lambda code: names("division").get(code))
    labels.register("account_kind", pages.KIND_NAMES)


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="org",
        routers=[
            api.auth_router,
            second_factor_api.router,
            api.router,
            api.audit_router,
            registration_api.router,
            pages.router,
            second_factor_pages.router,
            registration_pages.router,
            admin_pages.router,
            security_pages.router,
        ],
        template_dir=Path(__file__).parent / "templates",
        nav=[
            Entry("data", "统一身份认证", "/account", "账号、密码、双因素认证与 API 密钥", order=10),
            Entry("admin", "账号管理", "/admin/users", "工作人员、个人、企业与系统账号", p.USER_READ, 10),
            Entry("admin", "角色与权限", "/admin/roles", "角色的权限配置", p.ROLE_READ, 20),
            Entry("admin", "部门", "/admin/departments", "部门与下属单位", p.DEPARTMENT_READ, 30),
            Entry("admin", "行政区划", "/admin/divisions", "镇（街道）与村（社区）", p.DIVISION_READ, 40),
            Entry("admin", "审计日志", "/admin/audit", "哈希链审计与校验", AUDIT_READ, 50),
            Entry("admin", "短信记录", "/admin/messages", "消息网关的短信与本地发件箱", p.MESSAGE_READ, 60),
        ],
        on_startup=_startup,
        jobs=jobs.jobs,
        sealed=[
            SealedTable(
                "org_user",
                "id",
                (
                    SealedColumn("id_number_enc", accounts.ID_NUMBER_CONTEXT, "id_number_hash"),
                    SealedColumn("phone_enc", accounts.PHONE_CONTEXT, "phone_hash"),
                ),
            ),
            SealedTable("org_totp_factor", "id", (SealedColumn("secret_enc", mfa.SECRET_CONTEXT),)),
            SealedTable(
                "org_message",
                "id",
                (
                    SealedColumn("to_enc", messages.TO_CONTEXT),
                    SealedColumn("params_enc", messages.PARAMS_CONTEXT),
                ),
            ),
        ],
    )
