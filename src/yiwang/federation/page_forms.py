"""The forms of the federation pages."""

from datetime import date

from pydantic import Field

from yiwang.web.forms import FormModel


class CrossApplyForm(FormModel):
    fields: list[str] = Field(default_factory=list, title="申请字段")
    purpose: str = Field(title="用途")
    period_end: date = Field(title="使用期限")


class ObjectionAnswerForm(FormModel):
    answer: str = Field(title="答复")
