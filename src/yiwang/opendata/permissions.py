"""Permissions of the open data portal (its public pages need none)."""

from yiwang.core.permissions import Permission, registry

DATASET_WRITE = "opendata.dataset.write"
APPLICATION_REVIEW = "opendata.application.review"
API_USE = "opendata.api.use"
LIMIT_WRITE = "opendata.limit.write"

registry.add_permissions(
    Permission(DATASET_WRITE, "发布与撤回本部门开放数据集"),
    Permission(APPLICATION_REVIEW, "审核有条件开放申请"),
    Permission(API_USE, "使用数据开放接口"),
    Permission(LIMIT_WRITE, "设置开放接口密钥限流"),
)
registry.grant("platform_admin", DATASET_WRITE, APPLICATION_REVIEW, API_USE, LIMIT_WRITE)
registry.grant("data_steward", DATASET_WRITE, API_USE)
registry.grant("dept_admin", DATASET_WRITE, API_USE)
for _role in ("citizen", "enterprise", "handler", "dispatcher", "leader"):
    registry.grant(_role, API_USE)
