"""Permissions of 视频融合 and their default grants."""

from yiwang.core.permissions import Permission, registry

READ = "video.camera.read"  # the camera registry (places, codes, status): every department's staff
WRITE = "video.camera.write"  # register and update the department's cameras
PLAY = "video.camera.play"  # play a camera of the own department or one granted to it
DETECT = "video.detection.write"  # post detections (algorithm platforms' system clients)

registry.add_permissions(
    Permission(READ, "查看摄像头目录"),
    Permission(WRITE, "登记和维护本部门摄像头"),
    Permission(PLAY, "调阅本部门或已获共享授权的摄像头视频"),
    Permission(DETECT, "上报视频识别结果"),
)
for _role in ("platform_admin", "dept_admin", "handler", "dispatcher", "leader", "data_steward"):
    registry.grant(_role, READ, PLAY)
for _role in ("platform_admin", "dept_admin"):
    registry.grant(_role, WRITE, DETECT)
