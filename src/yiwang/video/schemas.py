"""Shapes of 视频融合."""

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from yiwang.core.inputs import StrictInput

CameraStatus = Literal["online", "offline", "fault"]
STATUS_NAMES = {"online": "在线", "offline": "离线", "fault": "故障"}
_URL = r"^(https?|wss?|webrtc)://[^\s]+$"


class CameraCreate(StrictInput):
    code: str = Field(min_length=20, max_length=20, description="通道国标编码（20位）")
    device_code: str | None = Field(None, min_length=20, max_length=20, description="设备国标编码；缺省同通道编码")
    name: str = Field(min_length=2, max_length=200, description="名称")
    department_code: str | None = Field(None, max_length=40, description="所属部门编码；缺省为本部门")
    lon: float = Field(ge=73, le=136, description="经度（WGS 84）")
    lat: float = Field(ge=3, le=54, description="纬度（WGS 84）")
    address: str = Field("", max_length=300, description="安装地址")
    status: CameraStatus = "online"
    hls_url: str = Field("", max_length=500, description="HLS 播放地址（.m3u8）")
    flv_url: str = Field("", max_length=500, description="HTTP-FLV 播放地址")
    webrtc_url: str = Field("", max_length=500, description="WebRTC 播放地址")
    as_thing: bool = Field(False, description="同时登记为物联感知设备（SensorThings Thing）")

    @field_validator("hls_url", "flv_url", "webrtc_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.match(_URL, value):
            raise ValueError("播放地址须以 http(s)://、ws(s):// 或 webrtc:// 开头")
        return value


class CameraUpdate(StrictInput):
    name: str | None = Field(None, min_length=2, max_length=200)
    status: CameraStatus | None = None
    lon: float | None = Field(None, ge=73, le=136)
    lat: float | None = Field(None, ge=3, le=54)
    address: str | None = Field(None, max_length=300)
    hls_url: str | None = Field(None, max_length=500, pattern=_URL)
    flv_url: str | None = Field(None, max_length=500, pattern=_URL)
    webrtc_url: str | None = Field(None, max_length=500, pattern=_URL)


class CodeParts(BaseModel):
    """A decoded GB/T 28181 code, for people."""

    model_config = ConfigDict(frozen=True)

    centre: str
    division: str
    industry: str
    industry_name: str
    type: int
    type_name: str
    network: str
    network_name: str
    serial: str


class CameraRead(BaseModel):
    """A camera as the caller may see it: the stream addresses only to those who may play it."""

    model_config = ConfigDict(frozen=True)

    code: str
    device_code: str
    name: str
    department_id: int
    department_name: str
    division_code: str
    lon: float
    lat: float
    address: str
    status: CameraStatus
    status_name: str
    parts: CodeParts
    thing_id: int | None
    may_play: bool = Field(description="the caller's department owns it or holds an active grant")
    hls_url: str | None = None
    flv_url: str | None = None
    webrtc_url: str | None = None
    created_at: datetime


class CameraFeature(BaseModel):
    """A camera for a map layer (lon/lat WGS 84): what the OGC cameras collection serves."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    department_name: str
    status: CameraStatus
    lon: float
    lat: float
    may_play: bool
    url: str


class CameraNearby(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    status: CameraStatus
    distance_m: float
    may_play: bool


class CameraApplicationCreate(StrictInput):
    cameras: list[str] = Field(min_length=1, max_length=200, description="申请调阅的摄像头通道编码")
    purpose: str = Field(min_length=4, max_length=2000, description="用途")
    period_end: date = Field(description="使用期限（截止日期）")


class PlaybackRead(BaseModel):
    """What a caller allowed to play gets: the platform's HLS address (proxied, grant checked on every
    request) and the gateway's other addresses."""

    camera_code: str
    hls: str | None = Field(description="平台转发的 HLS 地址（同源，每次请求核验授权）")
    flv_url: str | None
    webrtc_url: str | None
    basis: Literal["own", "grant"]
    grant_id: int | None
    expires_at: datetime | None


class DetectionCreate(StrictInput):
    camera_code: str = Field(min_length=20, max_length=20, description="摄像头通道国标编码")
    algorithm: str = Field(min_length=1, max_length=100, description="算法名称或编号")
    category: str = Field(min_length=1, max_length=100, description="事件类别：城市事件类别编码、名称或算法的描述")
    detected_at: datetime = Field(description="识别时间（带时区）")
    score: float | None = Field(None, ge=0, le=1, description="置信度")
    description: str = Field("", max_length=1000, description="补充说明")
    picture_base64: str | None = Field(None, max_length=8 * 1024 * 1024, description="图片（base64）")

    @field_validator("detected_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("识别时间须带时区")
        return value


class DetectionResult(BaseModel):
    detection_id: int
    camera_code: str
    category_code: str | None
    event_number: str
    new_event: bool = Field(description="false when it joined an event of the same camera and category in the window")
    detections_in_event: int
