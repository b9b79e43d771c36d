"""Pages of 视频融合: the camera list, a camera with its player, applying for cameras; the proxied HLS
stream and detection pictures."""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.core.db import DbSession, ReadDbSession
from yiwang.core.errors import AppError
from yiwang.core.pagination import PageParams, page_params
from yiwang.core.params import IdPath
from yiwang.core.runtime import SettingsDep
from yiwang.core.security import Principal, require
from yiwang.core.timeutil import local_today
from yiwang.video import permissions as p
from yiwang.video import service
from yiwang.video.page_forms import CameraApplyForm
from yiwang.video.schemas import CameraApplicationCreate, CameraStatus
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(p.READ))]
Player = Annotated[Principal, Depends(require(p.PLAY))]


@router.get("/video", response_class=HTMLResponse)
def camera_list(
    request: Request,
    db: DbSession,
    user: Reader,
    paging: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100)] = None,
    status: CameraStatus | None = None,
) -> HTMLResponse:
    page = service.list_cameras(db, actor=user, q=q, status=status, offset=paging.offset, limit=paging.size)
    pages = max(1, (page.total + page.size - 1) // page.size)
    return render(request, "video/list.html", {"page": page, "pages": pages, "q": q or "", "status": status or ""})


@router.get("/video/cameras/{code}", response_class=HTMLResponse)
def camera_page(request: Request, db: DbSession, user: Reader, code: str) -> HTMLResponse:
    """The camera, and its player when the caller may play it: opening the page is a playback (audited)."""
    camera = service.get_camera(db, actor=user, code=code)
    play, refusal = None, None
    if user.has(p.PLAY):
        try:
            play = service.playback(db, actor=user, code=code)
        except AppError as exc:
            refusal = exc
    return render(request, "video/camera.html", {"c": camera, "play": play, "refusal": refusal})


def _apply_page(
    request: Request, db: DbSession, user: Principal, codes: list[str], *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    cameras = [service.get_camera(db, actor=user, code=c) for c in codes[:200]]
    context = {"cameras": cameras, "default_end": (local_today() + timedelta(days=90)).isoformat()}
    return render(request, "video/apply.html", context | extra, status_code=status_code)


@router.get("/video/apply", response_class=HTMLResponse)
def apply_form(
    request: Request, db: DbSession, user: Reader, camera: Annotated[list[str], Query(max_length=200)]
) -> HTMLResponse:
    return _apply_page(request, db, user, camera)


@router.post("/video/apply", response_class=HTMLResponse)
def apply_submit(
    request: Request,
    db: DbSession,
    user: Reader,
    _csrf: CsrfChecked,
    form: Annotated[Submission[CameraApplyForm], Depends(CameraApplyForm.submitted)],
) -> Response:
    codes = form.data.cameras if form.data else list(form.values.get("cameras", []))
    data = form.to(CameraApplicationCreate)
    if data is None:
        return _apply_page(request, db, user, codes, form=form, status_code=422)
    try:
        application = service.apply_for_cameras(db, actor=user, data=data)
    except AppError as exc:
        db.rollback()
        return _apply_page(request, db, user, codes, form=form, error_message=exc.message, status_code=exc.status_code)
    return RedirectResponse(f"/exchange/applications/{application.id}?notice=created", status_code=303)


@router.get("/video/stream/{code}/{name:path}")
def stream(code: str, name: str, db: ReadDbSession, settings: SettingsDep, user: Player) -> Response:
    """The camera's HLS playlist or segment through the platform; the grant is checked on every request."""
    part = service.fetch_stream(db, actor=user, code=code, name=name, timeout=settings.video_stream_timeout_seconds)
    return Response(part.content, media_type=part.media_type, headers={"Cache-Control": "no-store"})


@router.get("/video/detections/{detection_id}/picture")
def detection_picture(detection_id: IdPath, db: DbSession, user: Reader) -> Response:
    content, media_type = service.detection_picture(db, actor=user, detection_id=detection_id)
    return Response(content, media_type=media_type, headers={"Cache-Control": "private, no-store"})
