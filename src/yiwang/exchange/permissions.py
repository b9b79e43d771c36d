"""Permissions of the exchange."""

from yiwang.core.permissions import Permission, registry

APPLY = "exchange.apply"
REVIEW = "exchange.review"
USAGE_READ = "exchange.usage.read"
# Reading granted rows is a permission of its own, so a token narrowed to other scopes cannot read
# data just because its account sits in the consumer department.
DATA_READ = "exchange.data.read"
SERVICE_REGISTER = "exchange.service.register"
# Calling a live service through the platform (/x/…): a scope of its own, like reading data.
SERVICE_CALL = "exchange.service.call"

registry.add_permissions(
    Permission(APPLY, "申请共享数据"),
    Permission(REVIEW, "答复本部门资源的共享申请、撤销授权"),
    Permission(USAGE_READ, "查看共享授权与调用情况"),
    Permission(DATA_READ, "通过数据接口读取本部门获授权的共享数据"),
    Permission(SERVICE_REGISTER, "登记本部门提供的在线服务"),
    Permission(SERVICE_CALL, "通过平台调用本部门获授权的在线服务"),
)
for _role in ("platform_admin", "dept_admin", "data_steward"):
    registry.grant(_role, APPLY, REVIEW, USAGE_READ, DATA_READ, SERVICE_REGISTER, SERVICE_CALL)
registry.grant("leader", USAGE_READ)
