"""Permission names of 城市智脑 and their default grants.

Reading the cockpit, indicators, signs, warnings, forecasts and reports: leaders and the platform
team city-wide, department admins for their own department (department-level figures and drill-down
records outside their scope are filtered out). Registry maintenance: the big-data bureau's staff.
"""

from yiwang.core.permissions import DATA_STEWARD, DEPT_ADMIN, LEADER, PLATFORM_ADMIN, Permission, registry

BRAIN_READ = "brain.dashboard.read"
REGISTRY_WRITE = "brain.registry.write"
BRAIN_RUN = "brain.compute.run"

registry.add_permissions(
    Permission(BRAIN_READ, "查看城市智脑（驾驶舱、指标、预警、预测、月报）"),
    Permission(REGISTRY_WRITE, "维护城市智脑台账（信息系统、一卡通场景、生态企业、向上对接）"),
    Permission(BRAIN_RUN, "重新计算指标、评估和预警"),
)
registry.grant(LEADER, BRAIN_READ)
registry.grant(PLATFORM_ADMIN, BRAIN_READ, REGISTRY_WRITE, BRAIN_RUN)
registry.grant(DATA_STEWARD, BRAIN_READ, REGISTRY_WRITE)
registry.grant(DEPT_ADMIN, BRAIN_READ)
