"""Tables of 视频融合; internal to it."""

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class Camera(Base):
    """A camera channel of the video platform, by its GB/T 28181 channel code (摄像头)."""

    __tablename__ = "video_camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # channel code (通道编码)
    device_code: Mapped[str] = mapped_column(String(20), index=True)  # the device the channel belongs to
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(Integer, index=True)
    division_code: Mapped[str] = mapped_column(String(20), index=True)  # the centre code's GB/T 2260 division
    lon: Mapped[float] = mapped_column(Float, index=True)  # WGS 84
    lat: Mapped[float] = mapped_column(Float, index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), index=True)  # online | offline | fault
    hls_url: Mapped[str] = mapped_column(String(500), default="")
    flv_url: Mapped[str] = mapped_column(String(500), default="")
    webrtc_url: Mapped[str] = mapped_column(String(500), default="")
    thing_id: Mapped[int | None] = mapped_column(Integer)  # the SensorThings Thing, when registered as one
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Alert(Base):
    """Detections of one camera and category within the de-duplication window: one city event."""

    __tablename__ = "video_alert"
    __table_args__ = (Index("ix_video_alert_key", "camera_id", "category_key", "last_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("video_camera.id"))
    category_key: Mapped[str] = mapped_column(String(100))
    event_number: Mapped[str] = mapped_column(String(40), index=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detections: Mapped[int] = mapped_column(Integer, default=1)


class Detection(Base):
    """One detection an algorithm platform posted (视频识别结果), with its picture."""

    __tablename__ = "video_detection"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("video_camera.id"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("video_alert.id"), index=True)
    algorithm: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(100))  # as the algorithm named it
    category_code: Mapped[str | None] = mapped_column(String(10))  # the city-event category it became
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    score: Mapped[float | None] = mapped_column(Float)
    picture: Mapped[bytes | None] = mapped_column(LargeBinary)
    picture_type: Mapped[str] = mapped_column(String(40), default="")
    submitted_by: Mapped[str] = mapped_column(String(100))
