"""The forms of the exchange pages."""

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from yiwang.web.forms import CHOICE, FormModel

_VALUE_SEPARATORS = re.compile(r"[,，、;；]")


class ApplyForm(FormModel):
    """A sharing application; each filter row pairs a field with its values (comma or 、 separated)."""

    fields: list[str] = Field(default_factory=list, title="申请字段")
    filter_field: list[Annotated[str, CHOICE]] = Field(default_factory=list, title="筛选字段")
    filter_values: list[str] = Field(default_factory=list, title="筛选取值")
    purpose: str = Field(title="用途")
    period_end: date = Field(title="使用期限")

    @field_validator("filter_values")
    @classmethod
    def _values_for_each_field(cls, values: list[str], info: ValidationInfo) -> list[str]:
        fields = info.data.get("filter_field", [])
        for field, raw in zip(fields, values, strict=False):
            if field.strip() and not _VALUE_SEPARATORS.sub("", raw).strip():
                raise ValueError("行筛选选了字段就须填写取值")
        return values

    def row_filter(self) -> dict[str, str | list[str]]:
        """The filter rows as the API's row filter: field → one value or a list of values."""
        wanted: dict[str, list[str]] = {}
        for field, raw in zip(self.filter_field, self.filter_values, strict=False):
            if field.strip():
                found = wanted.setdefault(field.strip(), [])
                found += [v for v in (v.strip() for v in _VALUE_SEPARATORS.split(raw)) if v and v not in found]
        return {name: values[0] if len(values) == 1 else values for name, values in wanted.items()}


class DecisionForm(FormModel):
    approve: bool = Field(False, title="答复")
    stage: Literal["provider", "bureau"] = Field("bureau", title="审批环节")
    reason: str = Field("", title="意见")


class RevokeForm(FormModel):
    reason: str = Field("", max_length=500, title="撤销理由")


class ServiceForm(FormModel):
    """Registering a live service: operations as lines `METHOD /path [id]`, or an OpenAPI document."""

    code: str = Field(title="服务编码")
    name: str = Field(title="服务名称")
    description: str = Field("", title="说明")
    base_url: str = Field(title="服务地址")
    operations: str = Field("", max_length=50000, title="操作列表")
    openapi_text: str = Field("", max_length=2_000_000, title="OpenAPI 文档")
    openapi_url: str = Field("", max_length=500, title="OpenAPI 文档地址")
    keep_bodies: bool = Field(False, title="保存报文正文")
    connect_timeout_s: float = Field(3.0, title="连接超时")
    read_timeout_s: float = Field(30.0, title="读取超时")
    breaker_failures: int = Field(5, title="熔断阈值")
    breaker_reset_s: float = Field(30.0, title="熔断恢复")

    @field_validator("operations")
    @classmethod
    def _operation_lines(cls, value: str) -> str:
        for line in value.splitlines():
            parts = line.split()
            if parts and (len(parts) not in (2, 3) or not parts[1].startswith("/")):
                raise ValueError("每行一个操作：方法、以 / 开头的路径和可选的标识，以空格分隔")
        return value

    def operation_list(self) -> list[dict[str, str]]:
        found = []
        for line in self.operations.splitlines():
            parts = line.split()
            if parts:
                found.append(
                    {"method": parts[0].upper(), "path": parts[1]} | ({"id": parts[2]} if len(parts) == 3 else {})
                )
        return found


class ServiceApplyForm(FormModel):
    operations: list[str] = Field(default_factory=list, title="申请的操作")
    purpose: str = Field(title="用途")
    period_end: date = Field(title="使用期限")
    rate_per_second: int = Field(10, title="每秒次数")
    daily_quota: int | None = Field(10000, title="每日配额")
