"""JSON API of 视频融合 under /api/video."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from yiwang.core.db import DbSession
from yiwang.core.jsonbody import json_object_body
from yiwang.core.pagination import Page, PageParams, page_params
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import Principal, require
from yiwang.exchange.schemas import ApplicationRead
from yiwang.video import permissions as p
from yiwang.video import service
from yiwang.video.schemas import (
    CameraApplicationCreate,
    CameraCreate,
    CameraNearby,
    CameraRead,
    CameraStatus,
    CameraUpdate,
    CodeParts,
    DetectionCreate,
    DetectionResult,
    PlaybackRead,
)
from yiwang.web.forms import upload_bytes

router = APIRouter(prefix="/api/video", tags=["视频融合"])
Reader = Annotated[Principal, Depends(require(p.READ))]


@router.get("/codes/{code}", response_model=CodeParts)
def decode(code: str, user: Reader) -> Any:
    """Decode a GB/T 28181 20-digit code into centre, industry, type, network and serial."""
    return service.decode_code(code)


@router.get("/cameras", response_model=Page[CameraRead])
def list_cameras(
    db: DbSession,
    user: Reader,
    paging: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="按编码、名称或地址搜索")] = None,
    status: CameraStatus | None = None,
) -> Any:
    """The camera registry, paged and searchable."""
    return service.list_cameras(db, actor=user, q=q, status=status, offset=paging.offset, limit=paging.size)


@router.post("/cameras", response_model=CameraRead, status_code=201)
def create_camera(data: CameraCreate, db: DbSession, user: Annotated[Principal, Depends(require(p.WRITE))]) -> Any:
    """Register a camera channel by its GB/T 28181 code, place and stream addresses."""
    return service.create_camera(db, actor=user, data=data)


@router.get("/cameras/near", response_model=list[CameraNearby])
def near(
    db: DbSession,
    user: Reader,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    radius: Annotated[float, Query(gt=0, le=20000, description="半径（米）")] = 1000,
) -> Any:
    """Cameras near a point, nearest first (haversine distance)."""
    return service.cameras_near(db, actor=user, lon=lon, lat=lat, radius_m=radius)


@router.get("/cameras/{code}", response_model=CameraRead)
def get_camera(code: str, db: DbSession, user: Reader) -> Any:
    return service.get_camera(db, actor=user, code=code)


@router.patch("/cameras/{code}", response_model=CameraRead)
def update_camera(
    code: str, data: CameraUpdate, db: DbSession, user: Annotated[Principal, Depends(require(p.WRITE))]
) -> Any:
    return service.update_camera(db, actor=user, code=code, data=data)


@router.post("/cameras/{code}/playback", response_model=PlaybackRead)
def playback(code: str, db: DbSession, user: Annotated[Principal, Depends(require(p.PLAY))]) -> Any:
    """Start a playback: 403 unless the caller's department owns the camera or holds an active grant.
    Every playback, refused or not, is an audit entry."""
    return service.playback(db, actor=user, code=code)


@router.post("/applications", response_model=ApplicationRead, status_code=201)
def apply(data: CameraApplicationCreate, db: DbSession, user: Reader) -> Any:
    """Apply through the exchange for another department's cameras (purpose and period)."""
    return service.apply_for_cameras(db, actor=user, data=data)


@dataclass
class DetectionBody:
    fields: dict[str, Any]
    upload: UploadFile | None


async def detection_body(request: Request) -> DetectionBody:
    """The detection as JSON (picture in base64) or as multipart form fields with a `picture` file."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("picture")
        return DetectionBody(fields, upload if isinstance(upload, UploadFile) else None)
    return DetectionBody(await json_object_body(request), None)


_DETECTION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DetectionCreate.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        **{k: {"type": "string"} for k in DetectionCreate.model_fields if k != "picture_base64"},
                        "picture": {"type": "string", "format": "binary"},
                    },
                    "required": ["camera_code", "algorithm", "category", "detected_at"],
                }
            },
        },
    }
}


@router.post("/detections", response_model=DetectionResult, status_code=201, openapi_extra=_DETECTION_BODY)
def post_detection(
    response: Response,
    body: Annotated[DetectionBody, Depends(detection_body)],
    db: DbSession,
    cipher: CipherDep,
    settings: SettingsDep,
    user: Annotated[Principal, Depends(require(p.DETECT))],
) -> Any:
    """A detection from an algorithm platform: a new city event (201), or joined to the event of the
    same camera and category within the window (200)."""
    try:
        data = DetectionCreate.model_validate(body.fields)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc
    picture = None
    if body.upload is not None:
        picture = upload_bytes(body.upload, limit=settings.video_picture_max_bytes)
    result = service.receive_detection(
        db,
        actor=user,
        data=data,
        picture=picture,
        cipher=cipher,
        window_minutes=settings.video_dedup_minutes,
        max_picture_bytes=settings.video_picture_max_bytes,
    )
    if not result.new_event:
        response.status_code = 200
    return result
