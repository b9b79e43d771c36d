"""Permissions of the map."""

from yiwang.core.permissions import Permission, registry

READ = "geo.map.read"  # boundaries, grid cells and buildings as layers
WRITE = "geo.map.write"  # import boundaries, grid cells and buildings

registry.add_permissions(
    Permission(READ, "查看地图图层（边界、网格、建筑）"),
    Permission(WRITE, "导入行政区划边界、网格与建筑"),
)
for _role in ("platform_admin", "dept_admin", "handler", "dispatcher", "leader", "data_steward"):
    registry.grant(_role, READ)
registry.grant("platform_admin", WRITE)
