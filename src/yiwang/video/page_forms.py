"""The forms of the video pages."""

from datetime import date

from pydantic import Field

from yiwang.web.forms import FormModel


class CameraApplyForm(FormModel):
    """An application for cameras of one other department."""

    cameras: list[str] = Field(default_factory=list, title="摄像头")
    purpose: str = Field(title="用途")
    period_end: date = Field(title="使用期限")
