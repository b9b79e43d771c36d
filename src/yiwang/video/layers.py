"""Cameras as a layer of the one map (OGC API – Features collection `cameras`), registered into geo at
start-up so that geo imports nothing of video."""

from sqlalchemy.orm import Session

from yiwang.core.errors import NotFound
from yiwang.core.security import Principal
from yiwang.geo import service as geo_service
from yiwang.geo.schemas import Feature, FeatureCollection, FeaturePage, FeatureQuery
from yiwang.video import permissions as p
from yiwang.video import service
from yiwang.video.schemas import CameraFeature

WHOLE_WORLD = (-180.0, -90.0, 180.0, 90.0)


def _feature(c: CameraFeature) -> Feature:
    return Feature(
        id=c.code,
        geometry={"type": "Point", "coordinates": [c.lon, c.lat]},
        properties={
            "code": c.code,
            "name": c.name,
            "department": c.department_name,
            "status": c.status,
            "may_play": c.may_play,
            "url": c.url,
        },
    )


def camera_features(db: Session, actor: Principal, q: FeatureQuery) -> FeaturePage:
    bbox = tuple(q.bbox) if q.bbox is not None else WHOLE_WORLD
    page = service.cameras_in_bbox(db, actor=actor, bbox=bbox, offset=q.offset, limit=q.limit)  # type: ignore[arg-type]
    return FeaturePage([_feature(c) for c in page.items], page.total)


def camera_feature(db: Session, actor: Principal, fid: str) -> Feature | None:
    try:
        camera = service.get_camera(db, actor=actor, code=fid)
    except NotFound:
        return None
    found = service.cameras_in_bbox(
        db, actor=actor, bbox=(camera.lon, camera.lat, camera.lon, camera.lat), offset=0, limit=50
    )
    return next((_feature(c) for c in found.items if c.code == fid), None)


def register() -> None:
    geo_service.register_collection(
        FeatureCollection(
            id="cameras",
            title="视频监控",
            description="摄像头（GB/T 28181 编码、位置、所属部门、状态；是否可调阅）",
            permissions=(p.READ,),
            items=camera_features,
            one=camera_feature,
            legend={"fill": "#7c3aed", "kind": "point"},
        )
    )
