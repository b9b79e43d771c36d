"""Permissions of governance: stewards mount and govern their department's data."""

from yiwang.core.permissions import Permission, registry

DATA_READ = "governance.data.read"
DATA_WRITE = "governance.data.write"

registry.add_permissions(
    Permission(DATA_READ, "查看资源数据、版本与质量报告"),
    Permission(DATA_WRITE, "挂载与治理本部门资源数据"),
)
for _role in ("platform_admin", "dept_admin", "data_steward", "leader"):
    registry.grant(_role, DATA_READ)
for _role in ("platform_admin", "dept_admin", "data_steward"):
    registry.grant(_role, DATA_WRITE)
