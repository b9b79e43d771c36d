"""Demo cameras (演示): a few city-management cameras in Changshu's centre, registered once. They have
no stream addresses (the demo has no video platform); set them with PATCH /api/video/cameras/{code}."""

from typing import Any

from sqlalchemy import func, select

from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.video import permissions as p
from yiwang.video import service
from yiwang.video.models import Camera
from yiwang.video.schemas import CameraCreate

_LOADER = Principal(
    user_id=None,
    username="system:demo",
    display_name="演示数据装载",
    kind="system",
    permissions=frozenset({SCOPE_ALL_DEPARTMENTS, p.WRITE}),
)
# (serial, name, address, lon, lat): channel codes 32058100 08 132 6 NNNNNN (city management, network
# camera, government network) of devices 32058100 08 118 6 000001 (an NVR).
DEMO_CAMERAS = [
    (1, "方塔街与县南街路口", "虞山街道方塔街与县南街交叉口", 120.7538, 31.6534),
    (2, "琴川河书院街段", "虞山街道书院街琴川河沿岸", 120.7502, 31.6571),
    (3, "常熟汽车站广场", "琴川街道汽车站广场", 120.7655, 31.6623),
    (4, "招商城东门", "常福街道招商城东门", 120.7808, 31.6651),
    (5, "尚湖景区入口", "虞山街道尚湖景区北门", 120.7086, 31.6425),
]


def load(runtime: Runtime, console: Any = None) -> dict[str, int]:
    with runtime.db.unit_of_work() as db:
        if db.execute(select(func.count()).select_from(Camera)).scalar_one():
            return {"cameras": 0}
        for serial, name, address, lon, lat in DEMO_CAMERAS:
            service.create_camera(
                db,
                actor=_LOADER,
                data=CameraCreate(
                    code=f"32058100081326{serial:06d}",
                    device_code="32058100081186000001",
                    name=name,
                    department_code="CGJ",
                    lon=lon,
                    lat=lat,
                    address=address,
                ),
            )
    return {"cameras": len(DEMO_CAMERAS)}
