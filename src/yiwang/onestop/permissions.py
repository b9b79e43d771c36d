"""Permission names of the onestop domain and their default grants."""

from yiwang.core.permissions import Permission, registry

APPLY = "onestop.apply"
ITEM_WRITE = "onestop.item.write"
TASK_HANDLE = "onestop.task.handle"
FIGURES_READ = "onestop.figures.read"
CALENDAR_WRITE = "onestop.calendar.write"

registry.add_permissions(
    Permission(APPLY, "在线申请办事、补正与评价"),
    Permission(ITEM_WRITE, "维护本部门政务服务事项"),
    Permission(TASK_HANDLE, "办理本部门办件（受理、补正、审查、决定、办结）与差评整改"),
    Permission(FIGURES_READ, "查看一网通办统计与指标"),
    Permission(CALENDAR_WRITE, "维护工作日调整表"),
)
registry.grant("platform_admin", ITEM_WRITE, TASK_HANDLE, FIGURES_READ, CALENDAR_WRITE)
registry.grant("dept_admin", ITEM_WRITE, TASK_HANDLE, FIGURES_READ)
registry.grant("handler", TASK_HANDLE, FIGURES_READ)
registry.grant("leader", FIGURES_READ)
registry.grant("citizen", APPLY)
registry.grant("enterprise", APPLY)
