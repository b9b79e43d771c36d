"""The forms of the open data pages."""

from pydantic import Field

from yiwang.web.forms import FormModel


class OpenApplyForm(FormModel):
    purpose: str = Field(min_length=4, max_length=2000, title="用途")


class PublishForm(FormModel):
    code: str = Field(title="资源代码")


class OpenDecisionForm(FormModel):
    approve: bool = Field(False, title="审核结论")
    reason: str = Field("", title="意见")
