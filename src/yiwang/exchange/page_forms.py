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
