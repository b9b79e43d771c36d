"""Permissions of 一网统管 and their default grants."""

from yiwang.core.permissions import Permission, registry

REPORT = "cityops.event.report"  # citizens, enterprises, hotline operators, grid staff
READ = "cityops.event.read"  # staff: events of their department (or all with core.scope.all)
HANDLE = "cityops.event.handle"  # departments: sign, send back, reply, request extension
DISPATCH = "cityops.event.dispatch"  # command centre: register, dispatch, verify, close, supervise, void
FIGURES = "cityops.figures.read"
CONFIG = "cityops.config.write"

registry.add_permissions(
    Permission(REPORT, "上报城市事件"),
    Permission(READ, "查看城市事件"),
    Permission(HANDLE, "办理派遣的城市事件"),
    Permission(DISPATCH, "受理、分拨、核查、督办城市事件"),
    Permission(FIGURES, "查看事件办理统计"),
    Permission(CONFIG, "配置事件分拨规则"),
)
for _role in ("platform_admin", "dept_admin", "handler", "dispatcher", "leader", "citizen", "enterprise"):
    registry.grant(_role, REPORT)
for _role in ("platform_admin", "dept_admin", "handler", "dispatcher", "leader"):
    registry.grant(_role, READ, FIGURES)
for _role in ("dept_admin", "handler", "platform_admin"):
    registry.grant(_role, HANDLE)
# The command centre both dispatches and keeps the division routing that automatic dispatch follows.
registry.grant("dispatcher", DISPATCH, CONFIG)
registry.grant("platform_admin", DISPATCH, CONFIG)
