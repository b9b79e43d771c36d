"""Permissions of the federation: the bureau manages peers; departments apply across levels and answer
data objections about their entries."""

from yiwang.core.permissions import Permission, registry

PEER_MANAGE = "federation.peer.manage"
READ = "federation.read"
APPLY = "federation.apply"
OBJECTION_HANDLE = "federation.objection.handle"

registry.add_permissions(
    Permission(PEER_MANAGE, "管理对接节点（添加、移除、报送、提出数据异议）"),
    Permission(READ, "查看向上对接：节点、同步记录、跨级申请、数据异议"),
    Permission(APPLY, "向上级（或下级）平台提出跨级共享申请并读取回传数据"),
    Permission(OBJECTION_HANDLE, "答复上级平台对本部门资源提出的数据异议"),
)
registry.grant("platform_admin", PEER_MANAGE, READ, APPLY, OBJECTION_HANDLE)
for _role in ("dept_admin", "data_steward"):
    registry.grant(_role, READ, APPLY, OBJECTION_HANDLE)
registry.grant("leader", READ)
