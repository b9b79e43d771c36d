"""How 视频融合 plugs into the platform: routers, nav, 附近的摄像头 on city events, demo cameras."""

from pathlib import Path

from yiwang.cityops import service as cityops_service
from yiwang.core.runtime import Runtime
from yiwang.domains import DomainPlugin
from yiwang.video import api, demo, layers, pages, service
from yiwang.video import permissions as p
from yiwang.web.nav import Entry


def _startup(runtime: Runtime) -> None:
    cityops_service.register_nearby("video.cameras", service.camera_nearby_items)
    layers.register()


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="video",
        routers=[api.router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[Entry("cityops", "视频监控", "/video", "摄像头目录、共享调阅与视频识别", p.READ, 35)],
        on_startup=_startup,
        demo=lambda runtime, console: demo.load(runtime, console),
    )
