"""Permissions of the exchange."""

from yiwang.core.permissions import Permission, registry

APPLY = "exchange.apply"
REVIEW = "exchange.review"
USAGE_READ = "exchange.usage.read"

registry.add_permissions(
    Permission(APPLY, "申请共享数据"),
    Permission(REVIEW, "答复本部门资源的共享申请、撤销授权"),
    Permission(USAGE_READ, "查看共享授权与调用情况"),
)
for _role in ("platform_admin", "dept_admin", "data_steward"):
    registry.grant(_role, APPLY, REVIEW, USAGE_READ)
registry.grant("leader", USAGE_READ)
