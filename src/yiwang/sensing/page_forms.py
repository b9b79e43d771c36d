"""The forms of the sensing pages."""

from typing import Literal

from pydantic import Field

from yiwang.web.forms import FormModel


class AlarmActionForm(FormModel):
    """Sent by an alarm's 收到 / 确认为事件 / 消除 buttons."""

    action: Literal["acknowledge", "confirm", "clear"] = Field(title="告警处置")
