"""The forms of the 一网统管 pages; the rules on their values are those of the domain's input models."""

from typing import Annotated, ClassVar

from pydantic import Field

from yiwang.web.forms import CHOICE, FormModel


class ReportForm(FormModel):
    description: str = Field(title="问题描述")
    division_code: Annotated[str | None, CHOICE] = Field(None, title="所在镇（街道）")
    address: str = Field("", title="详细地址")
    category_code: Annotated[str | None, CHOICE] = Field(None, title="类别")
    source: Annotated[str, CHOICE] = Field("citizen", title="来源")
    reporter_name: str | None = Field(None, title="来电人姓名")
    reporter_phone: str | None = Field(None, title="来电号码")


class EventActionForm(FormModel):
    action: Annotated[str, CHOICE] = Field(title="操作")
    category_code: Annotated[str | None, CHOICE] = Field(None, title="类别")
    department_code: Annotated[str | None, CHOICE] = Field(None, title="部门")
    hours: int | None = Field(None, title="延期小时数")
    note: str | None = Field(None, title="说明")


class RatingForm(FormModel):
    rating: int = Field(title="满意度")
    comment: str | None = Field(None, title="意见")


class DispatchRuleForm(FormModel):
    field_messages: ClassVar[dict[str, str]] = {"sla_hours": "时限须为 1 到 720 之间的整数小时，或留空按类别默认"}

    division_code: Annotated[str, CHOICE] = Field(title="区划")
    category_code: Annotated[str, CHOICE] = Field(title="事件类别")
    department_code: Annotated[str, CHOICE] = Field(title="责任部门")
    sla_hours: int | None = Field(None, title="时限（小时）")
