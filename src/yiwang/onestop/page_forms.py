"""The forms of the 一网通办 pages.

An application form's fields and materials are defined per item by the service: its answers arrive as
`f_<field>` and its files as `m_<material>`, and the service checks them against the item's definitions."""

from typing import Any

from fastapi import UploadFile
from pydantic import Field
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as ReceivedFile

from yiwang.web.forms import FormModel, Location, submitted_values

ANSWER, MATERIAL = "f_", "m_"


def _materials(form: FormData) -> dict[str, Any]:
    return {
        key.removeprefix(MATERIAL): value
        for key, value in form.multi_items()
        if key.startswith(MATERIAL) and isinstance(value, ReceivedFile) and value.filename
    }


def _named_field(loc: Location) -> str:
    """`answers.<name>` is the input `f_<name>`, `materials.<key>` the file input `m_<key>`."""
    if len(loc) > 1 and loc[0] in ("answers", "materials"):
        return f"{ANSWER if loc[0] == 'answers' else MATERIAL}{loc[1]}"
    return str(loc[0]) if loc else ""


class ApplyForm(FormModel):
    item: str | None = Field(None, title="事项")
    bundle: str | None = Field(None, title="一件事")
    consent: bool = Field(False, title="授权调取电子证照和基础库信息")
    answers: dict[str, str] = Field(default_factory=dict, title="申请表")
    materials: dict[str, UploadFile] = Field(default_factory=dict, title="申请材料")

    @classmethod
    def form_input(cls, form: FormData) -> dict[str, Any]:
        answers = {
            key.removeprefix(ANSWER): value
            for key, value in form.multi_items()
            if key.startswith(ANSWER) and isinstance(value, str) and value.strip()  # blank: pre-filled instead
        }
        return submitted_values(cls, form) | {"answers": answers, "materials": _materials(form)}

    @classmethod
    def field_of(cls, loc: Location) -> str:
        return _named_field(loc)


class SupplementForm(FormModel):
    materials: dict[str, UploadFile] = Field(default_factory=dict, title="补正材料")
    note: str = Field("", max_length=500, title="说明")

    @classmethod
    def form_input(cls, form: FormData) -> dict[str, Any]:
        return submitted_values(cls, form) | {"materials": _materials(form)}

    @classmethod
    def field_of(cls, loc: Location) -> str:
        return _named_field(loc)


class RatingForm(FormModel):
    score: int = Field(title="评价")
    comment: str = Field("", title="意见")


class TaskActionForm(FormModel):
    reason: str = Field("", max_length=1000, title="理由")
    missing: str = Field("", max_length=5000, title="需补正的内容")

    def supplement_items(self) -> list[dict[str, str]]:
        """One item per line of `missing`, written “材料：原因”; a line without a reason asks to supply it."""
        items = []
        for line in self.missing.splitlines():
            if line.strip():
                name, _, reason = line.partition("：")
                items.append({"name": name.strip(), "reason": reason.strip() or "请补充"})
        return items

    @staticmethod
    def supplement_label(loc: Location) -> str:
        """An error in the supplement list names its line: ("items", 2, "name") is the third line's material."""
        if len(loc) == 3 and isinstance(loc[1], int):
            return f"第{loc[1] + 1}行的{'材料' if loc[2] == 'name' else '原因'}"
        return "需补正的内容"


class FollowupForm(FormModel):
    resolution: str = Field(min_length=2, max_length=2000, title="整改情况")


class ItemForm(FormModel):
    name: str = Field(title="事项名称")
    legal_days: int = Field(title="法定时限")
    promised_days: int = Field(title="承诺时限")
    visits: int = Field(title="跑动次数")
    online: bool = Field(False, title="网办")
    entry_point: bool = Field(False, title="总入口")
