"""Permissions of collection: stewards manage their department's sources; the bureau any."""

from yiwang.core.permissions import Permission, registry

SOURCE_READ = "collect.source.read"
SOURCE_MANAGE = "collect.source.manage"

registry.add_permissions(
    Permission(SOURCE_READ, "查看数据归集源与运行记录"),
    Permission(SOURCE_MANAGE, "配置与运行本部门的数据归集源"),
)
for _role in ("platform_admin", "dept_admin", "data_steward", "leader"):
    registry.grant(_role, SOURCE_READ)
for _role in ("platform_admin", "dept_admin", "data_steward"):
    registry.grant(_role, SOURCE_MANAGE)
