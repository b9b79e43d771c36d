"""Rules of 视频融合: the camera registry, applications for cameras, who may play what, and the
detections that become city events (re-exported from `detections`).

Who may play a camera: staff of its department (and those who reach it), or staff of a department
holding an active exchange grant of kind "video" that names it. The check runs on every playback and
on every request of the proxied HLS playlist and segments; each playback is an audit entry.
"""

import math
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yiwang.cityops.schemas import NearbyItem
from yiwang.core import audit
from yiwang.core.errors import AppError, Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.pagination import Page
from yiwang.core.security import Principal, check
from yiwang.core.timeutil import utcnow
from yiwang.exchange import service as exchange_service
from yiwang.exchange.schemas import ApplicationRead, ResourceApplicationCreate
from yiwang.org import service as org_service
from yiwang.sensing import service as sensing_service
from yiwang.video import codes
from yiwang.video import permissions as perm
from yiwang.video.detections import detection_picture, receive_detection
from yiwang.video.models import Camera
from yiwang.video.schemas import (
    STATUS_NAMES,
    CameraApplicationCreate,
    CameraCreate,
    CameraFeature,
    CameraNearby,
    CameraRead,
    CameraUpdate,
    CodeParts,
    PlaybackRead,
)

__all__ = [
    "GRANT_KIND",
    "IMPORT_COLUMNS",
    "ImportReport",
    "StreamPart",
    "apply_for_cameras",
    "camera_nearby_items",
    "cameras_in_bbox",
    "cameras_near",
    "create_camera",
    "decode_code",
    "detection_picture",
    "fetch_stream",
    "get_camera",
    "haversine_m",
    "import_cameras",
    "list_cameras",
    "playback",
    "receive_detection",
    "update_camera",
]

GRANT_KIND = "video"
EARTH_RADIUS_M = 6_371_008.8
_STREAM_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}){0,3}$")
_STREAM_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".aac": "audio/aac",
}


def decode_code(code: str) -> CodeParts:
    """The parts of a GB/T 28181 code, with their names (ValidationFailed when it is not one)."""
    d = codes.decode(code)
    return CodeParts(
        centre=d.centre,
        division=d.division,
        industry=d.industry,
        industry_name=d.industry_name,
        type=d.type,
        type_name=d.type_name,
        network=d.network,
        network_name=d.network_name,
        serial=d.serial,
    )


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS 84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


# ---- who may play ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Access:
    basis: str  # own | grant
    grant_id: int | None
    expires_at: datetime | None


def _granted_codes(db: Session, actor: Principal) -> set[str]:
    if actor.department_id is None:
        return set()
    grants = exchange_service.resource_grants(db, kind=GRANT_KIND, consumer_department_id=actor.department_id)
    return {code for g in grants if g.active for code in (g.operations or [])}


def _access(db: Session, actor: Principal, camera: Camera) -> _Access:
    """The basis on which the caller may play the camera, or a 403 saying why not (in Chinese)."""
    if not actor.has(perm.PLAY):
        raise PermissionDenied("没有调阅视频的权限", details={"missing": [perm.PLAY]})
    if actor.can_reach_department(camera.department_id):
        return _Access("own", None, None)
    if actor.department_id is not None:
        grants = exchange_service.resource_grants(
            db, kind=GRANT_KIND, consumer_department_id=actor.department_id, resource=camera.code
        )
        for grant in grants:
            if grant.active:
                return _Access("grant", grant.id, grant.expires_at)
        if grants:
            raise PermissionDenied(
                "该摄像头的共享授权已过期或已被撤销，不能调阅；如需继续使用请重新申请",
                code="video_grant_expired",
                details={"camera": camera.code},
            )
    raise PermissionDenied(
        "本部门没有该摄像头的共享授权，不能调阅；请通过共享申请向所属部门申请",
        code="video_not_granted",
        details={"camera": camera.code},
    )


# ---- the registry ------------------------------------------------------------------------------


def _camera(db: Session, code: str) -> Camera:
    camera = db.execute(select(Camera).where(Camera.code == code)).scalar_one_or_none()
    if camera is None:
        raise NotFound(f"摄像头 {code} 不存在")
    return camera


def _department_names(db: Session) -> dict[int, str]:
    return {d.id: d.short_name for d in org_service.list_departments(db, include_inactive=True)}


def _read(camera: Camera, *, may_play: bool, names: dict[int, str]) -> CameraRead:
    return CameraRead(
        code=camera.code,
        device_code=camera.device_code,
        name=camera.name,
        department_id=camera.department_id,
        department_name=names.get(camera.department_id, ""),
        division_code=camera.division_code,
        lon=camera.lon,
        lat=camera.lat,
        address=camera.address,
        status=camera.status,
        status_name=STATUS_NAMES.get(camera.status, camera.status),
        parts=decode_code(camera.code),
        thing_id=camera.thing_id,
        may_play=may_play,
        hls_url=camera.hls_url or None if may_play else None,
        flv_url=camera.flv_url or None if may_play else None,
        webrtc_url=camera.webrtc_url or None if may_play else None,
        created_at=camera.created_at,
    )


def _may_play(actor: Principal, camera: Camera, granted: set[str]) -> bool:
    return actor.has(perm.PLAY) and (actor.can_reach_department(camera.department_id) or camera.code in granted)


def create_camera(db: Session, *, actor: Principal, data: CameraCreate) -> CameraRead:
    """Register a camera channel of the caller's department (or one it reaches) by its GB/T 28181 code."""
    check(actor, perm.WRITE)
    channel = codes.decode(data.code, label="通道编码")
    if not channel.is_camera:
        raise ValidationFailed(
            f"通道编码的类型编码 {channel.type}（{channel.type_name}）不是摄像机（131、132）", code="not_a_camera"
        )
    device = codes.decode(data.device_code or data.code, label="设备编码")
    if not device.is_front_end:
        raise ValidationFailed(f"设备编码的类型编码 {device.type} 不是前端设备（111–199）", code="not_a_device")
    if data.department_code:
        department_id = org_service.get_department_by_code(db, code=data.department_code).id
    elif actor.department_id is not None:
        department_id = actor.department_id
    else:
        raise ValidationFailed("请指定摄像头所属部门")
    if not actor.can_reach_department(department_id):
        raise PermissionDenied("只能登记本部门的摄像头", code="department_scope")
    if db.execute(select(Camera.id).where(Camera.code == data.code)).first() is not None:
        raise Conflict(f"摄像头 {data.code} 已登记")
    now = utcnow()
    camera = Camera(
        code=data.code,
        device_code=device.code,
        name=data.name,
        department_id=department_id,
        division_code=channel.division,
        lon=data.lon,
        lat=data.lat,
        address=data.address,
        status=data.status,
        hls_url=data.hls_url,
        flv_url=data.flv_url,
        webrtc_url=data.webrtc_url,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    db.add(camera)
    db.flush()
    if data.as_thing:
        thing = sensing_service.register_thing(
            db,
            actor=actor,
            code=f"GB28181:{camera.code}",
            name=camera.name,
            kind="camera",
            department_id=department_id,
            division_code=None,
            lon=camera.lon,
            lat=camera.lat,
            properties={"gb28181Code": camera.code, "deviceCode": camera.device_code, "industry": channel.industry},
        )
        camera.thing_id = thing.id
        db.flush()
    audit.record(db, actor=actor, action="video.camera.create", target_type="camera", target_id=camera.code)
    return _read(camera, may_play=True, names=_department_names(db))


def update_camera(db: Session, *, actor: Principal, code: str, data: CameraUpdate) -> CameraRead:
    """Change a camera's name, status, place or stream addresses (its department's staff)."""
    check(actor, perm.WRITE)
    camera = _camera(db, code)
    if not actor.can_reach_department(camera.department_id):
        raise PermissionDenied("只能维护本部门的摄像头", code="department_scope")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    for name, value in changes.items():
        setattr(camera, name, value)
    camera.updated_at = utcnow()
    db.flush()
    audit.record(db, actor=actor, action="video.camera.update", target_type="camera", target_id=code, details=changes)
    return _read(camera, may_play=True, names=_department_names(db))


def get_camera(db: Session, *, actor: Principal, code: str) -> CameraRead:
    check(actor, perm.READ)
    camera = _camera(db, code)
    return _read(camera, may_play=_may_play(actor, camera, _granted_codes(db, actor)), names=_department_names(db))


def list_cameras(
    db: Session,
    *,
    actor: Principal,
    q: str | None = None,
    department_id: int | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> Page[CameraRead]:
    """The registry, searchable by code, name or address, newest first."""
    check(actor, perm.READ)
    stmt = select(Camera)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Camera.code.like(like), Camera.name.like(like), Camera.address.like(like)))
    if department_id is not None:
        stmt = stmt.where(Camera.department_id == department_id)
    if status:
        stmt = stmt.where(Camera.status == status)
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(stmt.order_by(Camera.id.desc()).offset(offset).limit(limit)).scalars()
    granted, names = _granted_codes(db, actor), _department_names(db)
    items = [_read(c, may_play=_may_play(actor, c, granted), names=names) for c in rows]
    return Page(items=items, total=total, page=offset // max(limit, 1) + 1, size=limit)


def cameras_in_bbox(
    db: Session,
    *,
    actor: Principal,
    bbox: tuple[float, float, float, float],
    offset: int = 0,
    limit: int = 100,
) -> Page[CameraFeature]:
    """Cameras the caller may see (the registry's readers see every camera) inside a WGS 84 bbox
    (min lon, min lat, max lon, max lat), by code; for map layers such as the OGC cameras collection."""
    check(actor, perm.READ)
    west, south, east, north = bbox
    if west > east or south > north:
        raise ValidationFailed("bbox 无效：须为 最小经度,最小纬度,最大经度,最大纬度")
    stmt = select(Camera).where(Camera.lon.between(west, east), Camera.lat.between(south, north))
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(stmt.order_by(Camera.code).offset(offset).limit(limit)).scalars()
    granted, names = _granted_codes(db, actor), _department_names(db)
    items = [
        CameraFeature(
            code=c.code,
            name=c.name,
            department_name=names.get(c.department_id, ""),
            status=c.status,
            lon=c.lon,
            lat=c.lat,
            may_play=_may_play(actor, c, granted),
            url=f"/video/cameras/{c.code}",
        )
        for c in rows
    ]
    return Page(items=items, total=total, page=offset // max(limit, 1) + 1, size=limit)


def cameras_near(
    db: Session, *, actor: Principal, lon: float, lat: float, radius_m: float = 1000.0, limit: int = 10
) -> list[CameraNearby]:
    """Cameras within radius_m of a point, nearest first (a bbox prefilter, then haversine)."""
    check(actor, perm.READ)
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    rows = db.execute(
        select(Camera).where(Camera.lon.between(lon - dlon, lon + dlon), Camera.lat.between(lat - dlat, lat + dlat))
    ).scalars()
    granted = _granted_codes(db, actor)
    found = [(haversine_m(lon, lat, c.lon, c.lat), c) for c in rows]
    found = sorted((f for f in found if f[0] <= radius_m), key=lambda f: f[0])[:limit]
    return [
        CameraNearby(
            code=c.code,
            name=c.name,
            status=c.status,
            distance_m=round(d, 1),
            may_play=_may_play(actor, c, granted),
        )
        for d, c in found
    ]


def camera_nearby_items(db: Session, actor: Principal, lon: float, lat: float) -> list[NearbyItem]:
    """附近的摄像头 for a city event's page (registered with cityops at start-up)."""
    if not actor.has(perm.READ):
        return []
    return [
        NearbyItem(
            kind="摄像头",
            title=c.name,
            url=f"/video/cameras/{c.code}",
            distance_m=c.distance_m,
            note=("可调阅" if c.may_play else "需申请共享")
            + ("" if c.status == "online" else f"，{STATUS_NAMES[c.status]}"),
        )
        for c in cameras_near(db, actor=actor, lon=lon, lat=lat)
    ]


@dataclass(frozen=True)
class ImportReport:
    created: int
    refused: list[tuple[int, str]]  # (row number, reason in Chinese)


IMPORT_COLUMNS = (
    "code",
    "device_code",
    "name",
    "department_code",
    "lon",
    "lat",
    "address",
    "status",
    "hls_url",
    "flv_url",
    "webrtc_url",
)


def import_cameras(db: Session, *, actor: Principal, rows: list[dict[str, str]]) -> ImportReport:
    """Register cameras from table rows (columns IMPORT_COLUMNS; row 2 is the first under the header).
    Each row is its own savepoint: a refused row is reported with its reason and the others stay."""
    from pydantic import ValidationError

    created, refused = 0, []
    for number, row in enumerate(rows, start=2):
        values = {k: v.strip() for k, v in row.items() if k in IMPORT_COLUMNS and v is not None and v.strip()}
        try:
            data = CameraCreate.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            refused.append((number, f"{'.'.join(str(x) for x in first['loc'])}：{first['msg']}"))
            continue
        try:
            with db.begin_nested():
                create_camera(db, actor=actor, data=data)
            created += 1
        except AppError as exc:
            refused.append((number, exc.message))
    return ImportReport(created=created, refused=refused)


# ---- sharing and playback ----------------------------------------------------------------------


def apply_for_cameras(db: Session, *, actor: Principal, data: CameraApplicationCreate) -> ApplicationRead:
    """Apply through the exchange for cameras of one other department (purpose, period)."""
    check(actor, perm.READ)
    wanted = list(dict.fromkeys(data.cameras))
    cameras = db.execute(select(Camera).where(Camera.code.in_(wanted))).scalars().all()
    missing = sorted(set(wanted) - {c.code for c in cameras})
    if missing:
        raise ValidationFailed("申请的摄像头不存在", details={"cameras": missing})
    providers = {c.department_id for c in cameras}
    if len(providers) != 1:
        raise ValidationFailed("一次申请只能申请同一部门的摄像头", code="several_providers")
    return exchange_service.apply_for_resources(
        db,
        actor=actor,
        data=ResourceApplicationCreate(
            kind="video",
            provider_department_id=providers.pop(),
            resources=wanted,
            purpose=data.purpose,
            period_end=data.period_end,
        ),
    )


def playback(db: Session, *, actor: Principal, code: str) -> PlaybackRead:
    """Start a playback: check the caller's department or grant, audit the view (a refusal too)."""
    camera = _camera(db, code)
    try:
        access = _access(db, actor, camera)
    except AppError as exc:
        audit.record(
            db,
            actor=actor,
            action="video.camera.play",
            target_type="camera",
            target_id=code,
            outcome="denied",
            details={"reason": exc.code},
        )
        exc.commit = True
        raise
    audit.record(
        db,
        actor=actor,
        action="video.camera.play",
        target_type="camera",
        target_id=code,
        details={"basis": access.basis, "grant": access.grant_id},
    )
    hls = None
    if camera.hls_url:
        hls = f"/video/stream/{camera.code}/{urlsplit(camera.hls_url).path.rsplit('/', 1)[-1]}"
    return PlaybackRead(
        camera_code=camera.code,
        hls=hls,
        flv_url=camera.flv_url or None,
        webrtc_url=camera.webrtc_url or None,
        basis=access.basis,
        grant_id=access.grant_id,
        expires_at=access.expires_at,
    )


@dataclass(frozen=True)
class StreamPart:
    content: bytes
    media_type: str


def fetch_stream(db: Session, *, actor: Principal, code: str, name: str, timeout: float) -> StreamPart:
    """A playlist or segment of the camera's HLS stream, read from the gateway for a caller who may play
    it now (checked on every request, so an expired grant stops a running player)."""
    camera = _camera(db, code)
    _access(db, actor, camera)
    if not camera.hls_url:
        raise NotFound("该摄像头没有可在网页播放的视频流地址")
    if not _STREAM_NAME.match(name) or ".." in name:
        raise ValidationFailed("无效的视频流文件名")
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in _STREAM_TYPES:
        raise ValidationFailed("不支持的视频流文件类型")
    base = camera.hls_url.rsplit("/", 1)[0] + "/"
    url = urljoin(base, name)
    if not url.startswith(base):
        raise ValidationFailed("无效的视频流文件名")
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise AppError("视频网关无法访问", code="gateway_unreachable", status_code=502) from exc
    if response.status_code == 404:
        raise NotFound("视频流文件不存在")
    if response.status_code != 200:
        raise AppError(f"视频网关返回 HTTP {response.status_code}", code="gateway_error", status_code=502)
    return StreamPart(content=response.content, media_type=_STREAM_TYPES[suffix])
