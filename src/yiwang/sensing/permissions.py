"""Permissions of 物联感知 and their default grants."""

from yiwang.core.permissions import Permission, registry

READ = "sensing.read"
WRITE = "sensing.write"
INGEST = "sensing.ingest"
ALARM_HANDLE = "sensing.alarm.handle"
# The command centre (联动指挥中心) handles alarms of every department; others only their own department's.
ALARM_HANDLE_ALL = "sensing.alarm.handle_all"

registry.add_permissions(
    Permission(READ, "查看物联感知设备与数据"),
    Permission(WRITE, "管理物联设备、数据流与告警规则"),
    Permission(INGEST, "写入观测数据"),
    Permission(ALARM_HANDLE, "确认与处置告警"),
    Permission(ALARM_HANDLE_ALL, "处置所有部门设备的告警"),
)
for _role in ("platform_admin", "dept_admin", "handler", "dispatcher", "data_steward", "leader"):
    registry.grant(_role, READ)
for _role in ("platform_admin", "dept_admin", "data_steward"):
    registry.grant(_role, WRITE, INGEST)
for _role in ("platform_admin", "dept_admin", "dispatcher", "handler"):
    registry.grant(_role, ALARM_HANDLE)
for _role in ("platform_admin", "dispatcher"):
    registry.grant(_role, ALARM_HANDLE_ALL)
