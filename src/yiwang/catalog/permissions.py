"""Permissions of the catalog: stewards draft, the big-data bureau reviews and publishes."""

from yiwang.core.permissions import Permission, registry

ENTRY_READ = "catalog.entry.read"
ENTRY_WRITE = "catalog.entry.write"
ENTRY_REVIEW = "catalog.entry.review"

registry.add_permissions(
    Permission(ENTRY_READ, "查看资源目录"),
    Permission(ENTRY_WRITE, "编制本部门资源目录"),
    Permission(ENTRY_REVIEW, "审核发布资源目录（大数据局）"),
)
for _role in ("platform_admin", "dept_admin", "handler", "dispatcher", "data_steward", "leader"):
    registry.grant(_role, ENTRY_READ)
registry.grant("platform_admin", ENTRY_WRITE, ENTRY_REVIEW)
registry.grant("dept_admin", ENTRY_WRITE)
# Stewards hold the review permission, but only those of the big-data bureau (a department of kind
# "platform") may use it: see service.is_bureau.
registry.grant("data_steward", ENTRY_WRITE, ENTRY_REVIEW)
