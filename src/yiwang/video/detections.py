"""Detections from external algorithm platforms (视频识别): each becomes a city event of a cityops
category, or joins the event its camera and category raised within the de-duplication window.

Two identical detections at the same time make one event: the camera's row is locked first
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` serialises every writer), so the
second sees the first one's alert and joins it.
"""

import base64
import binascii
from datetime import UTC, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.cityops import service as cityops_service
from yiwang.cityops.schemas import EventCreate
from yiwang.core import audit
from yiwang.core.crypto import FieldCipher
from yiwang.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiwang.core.security import Principal, check
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.org import service as org_service
from yiwang.video import permissions as perm
from yiwang.video.models import Alert, Camera, Detection
from yiwang.video.schemas import DetectionCreate, DetectionResult

PICTURE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


def picture_type(content: bytes) -> str:
    """image/jpeg or image/png by the file's signature; anything else is refused."""
    for magic, media_type in PICTURE_TYPES.items():
        if content.startswith(magic):
            return media_type
    raise ValidationFailed("图片须为 JPEG 或 PNG", code="invalid_picture")


def decode_picture(text: str) -> bytes:
    """A base64 picture (a data: URL prefix is allowed)."""
    if text.startswith("data:"):
        text = text.split(",", 1)[-1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed("图片不是有效的 base64", code="invalid_picture") from exc


def _category(db: Session, wanted: str, text: str) -> str | None:
    """The cityops category for the algorithm's category: its code, its name or a part of the name,
    else the classifier's confident suggestion from the text; None leaves it to a dispatcher."""
    wanted = wanted.strip()
    for c in cityops_service.event_categories(db):
        if wanted in (c.code, c.name) or wanted in c.name.split("/"):
            return c.code
    result = cityops_service.classify(db, text=text, top=1)
    if result.suggestions and not result.needs_dispatcher:
        return result.suggestions[0].category_code
    return None


def _division(db: Session, code: str) -> str | None:
    try:
        return org_service.get_division_by_code(db, code=code).code
    except NotFound:
        return None


def receive_detection(
    db: Session,
    *,
    actor: Principal,
    data: DetectionCreate,
    picture: bytes | None,
    cipher: FieldCipher,
    window_minutes: int,
    max_picture_bytes: int,
) -> DetectionResult:
    """Take a detection: a new city event, or the event of the same camera and category in the window."""
    check(actor, perm.DETECT)
    if picture is None and data.picture_base64:
        picture = decode_picture(data.picture_base64)
    if picture is not None and len(picture) > max_picture_bytes:
        raise ValidationFailed(f"图片不能超过 {max_picture_bytes // 1024} KB", code="picture_too_large")
    media_type = picture_type(picture) if picture else ""
    camera = db.execute(select(Camera).where(Camera.code == data.camera_code).with_for_update()).scalar_one_or_none()
    if camera is None:
        raise NotFound(f"摄像头 {data.camera_code} 不存在")
    # a department's staff post for their own cameras; algorithm platforms' system clients for any
    if (
        actor.kind != "system"
        and actor.department_id is not None
        and not actor.can_reach_department(camera.department_id)
    ):
        raise PermissionDenied("只能上报本部门摄像头的识别结果", code="department_scope")
    detected_at = data.detected_at.astimezone(UTC)
    text = f"{data.category} {data.description}".strip()
    category_code = _category(db, data.category, text)
    key = category_code or f"?{data.category.strip()[:90]}"
    window = timedelta(minutes=window_minutes)
    alert = db.execute(
        select(Alert)
        .where(
            Alert.camera_id == camera.id,
            Alert.category_key == key,
            Alert.last_at >= detected_at - window,
            Alert.first_at <= detected_at + window,
        )
        .order_by(Alert.last_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    new_event = alert is None
    now = utcnow()
    detection = Detection(
        camera_id=camera.id,
        algorithm=data.algorithm,
        category=data.category,
        category_code=category_code,
        detected_at=detected_at,
        received_at=now,
        score=data.score,
        picture=picture,
        picture_type=media_type,
        submitted_by=actor.username,
    )
    if alert is None:
        # the alert first (its event number follows), then the detection, whose picture the event shows
        alert = Alert(camera_id=camera.id, category_key=key, event_number="", first_at=detected_at, last_at=detected_at)
        alert.detections = 1
        db.add(alert)
        db.flush()
        detection.alert_id = alert.id
        db.add(detection)
        db.flush()
        local = detected_at.astimezone(SHANGHAI)
        event = cityops_service.create_event(
            db,
            actor=cityops_service.SYSTEM,
            data=EventCreate(
                title=f"视频识别：{data.category[:40]} · {camera.name[:60]}",
                description=(
                    f"算法“{data.algorithm}”于 {local:%Y-%m-%d %H:%M:%S} 在摄像头 {camera.name}（{camera.code}）"
                    f"识别到“{data.category}”。{data.description}"
                ),
                category_code=category_code,
                source="video",
                division_code=_division(db, camera.division_code),
                lon=camera.lon,
                lat=camera.lat,
                address=camera.address or camera.name,
                photos=[f"/video/detections/{detection.id}/picture"] if picture else [],
            ),
            cipher=cipher,
            now=now,
        )
        alert.event_number = event.number
    else:
        alert.detections += 1
        alert.first_at = min(alert.first_at, detected_at)
        alert.last_at = max(alert.last_at, detected_at)
        detection.alert_id = alert.id
        db.add(detection)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="video.detection.receive",
        target_type="camera",
        target_id=camera.code,
        details={"detection": detection.id, "category": category_code, "event": alert.event_number, "new": new_event},
    )
    return DetectionResult(
        detection_id=detection.id,
        camera_code=camera.code,
        category_code=category_code,
        event_number=alert.event_number,
        new_event=new_event,
        detections_in_event=alert.detections,
    )


def detection_picture(db: Session, *, actor: Principal, detection_id: int) -> tuple[bytes, str]:
    """A detection's picture, for staff who may read the camera registry (each read audited)."""
    check(actor, perm.READ)
    detection = db.get(Detection, detection_id)
    if detection is None or not detection.picture:
        raise NotFound("识别图片不存在")
    audit.record(db, actor=actor, action="video.detection.picture", target_type="detection", target_id=detection_id)
    return detection.picture, detection.picture_type
