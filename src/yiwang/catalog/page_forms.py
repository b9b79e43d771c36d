"""The forms of the catalog pages: the entry editor with its rows of information items, and the review.

The editor's rows arrive as `item-<row>-<field>`; a row with a blank field name is an unused row."""

import re
from typing import Annotated, Any

from pydantic import Field
from starlette.datastructures import FormData

from yiwang.catalog.schemas import EntryUpdate
from yiwang.web.forms import CHOICE, FormModel, Location, submitted_values

ROW_FIELD = re.compile(r"^item-(\d{1,6})-(\w+)$")


def _split(text: str) -> list[str]:
    """A comma-separated list, the full-width comma included."""
    return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]


class ItemRow(FormModel):
    name: str = Field(title="字段名")
    label: str | None = Field(None, title="名称")
    data_type: Annotated[str, CHOICE] = Field("string", title="类型")
    length: int | None = Field(None, title="长度")
    required: bool = Field(False, title="必填")
    validator: Annotated[str, CHOICE] = Field("none", title="校验")
    validator_arg: str = Field("", title="参数")
    sensitivity: int = Field(1, title="敏感级别")
    masking: Annotated[str, CHOICE] = Field("none", title="脱敏")
    is_key: bool = Field(False, title="主键")

    def item(self) -> dict[str, Any]:
        """The information item of this row; its label defaults to its field name."""
        return self.model_dump() | {"label": self.label or self.name}


class EntryForm(FormModel):
    name: str = Field(title="信息资源名称")
    category: Annotated[str, CHOICE] = Field(title="分类")
    subject: str = Field("", title="分类项目")
    format: Annotated[str, CHOICE] = Field(title="格式")
    sharing_type: Annotated[str, CHOICE] = Field(title="共享类型")
    sharing_condition: str = Field("", title="共享条件")
    sharing_method: Annotated[str, CHOICE] = Field(title="共享方式")
    open_type: Annotated[str, CHOICE] = Field(title="开放属性")
    update_cycle: Annotated[str, CHOICE] = Field(title="更新周期")
    data_grade: Annotated[str, CHOICE] = Field(title="数据分级")
    related_codes: str = Field("", title="关联资源代码")
    tags: str = Field("", title="标签")
    licence: str = Field("", title="开放许可")
    summary: str = Field("", title="摘要")
    note: str = Field("", title="修改说明")
    items: dict[int, ItemRow] = Field(default_factory=dict, title="信息项")  # by row number

    @classmethod
    def form_input(cls, form: FormData) -> dict[str, Any]:
        rows: dict[int, list[tuple[str, Any]]] = {}
        for key, value in form.multi_items():
            match = ROW_FIELD.match(key)
            if match:
                rows.setdefault(int(match.group(1)), []).append((match.group(2), value))
        used = {n: submitted_values(ItemRow, FormData(fields)) for n, fields in rows.items()}
        return submitted_values(cls, form) | {"items": {n: row for n, row in used.items() if "name" in row}}

    @classmethod
    def field_of(cls, loc: Location) -> str:
        return row_field(loc)

    @classmethod
    def label_of(cls, name: str) -> str:
        match = ROW_FIELD.match(name)
        if match:
            return f"第{int(match.group(1)) + 1}行信息项的{ItemRow.label_of(match.group(2))}"
        return super().label_of(name)

    def rows(self) -> list[int]:
        """The numbers of the rows in use, in order: the entry's items are these rows."""
        return sorted(self.items)

    def entry(self) -> EntryUpdate:
        """The entry as the catalog keeps it."""
        return EntryUpdate.model_validate(
            self.model_dump(exclude={"items", "related_codes", "tags"})
            | {
                "items": [self.items[n].item() for n in self.rows()],
                "related_codes": _split(self.related_codes),
                "tags": _split(self.tags),
            }
        )


def row_field(loc: Location, rows: list[int] | None = None) -> str:
    """The input an error points at: ("items", 3, "name") is `item-3-name`; with `rows`, the 3 is the
    position among the rows in use (as in the entry's list of items), not the row number."""
    if len(loc) >= 3 and loc[0] == "items" and isinstance(loc[1], int):
        row = rows[loc[1]] if rows is not None and loc[1] < len(rows) else loc[1]
        return f"item-{row}-{loc[2]}"
    return str(loc[0]) if loc else ""


class ReviewForm(FormModel):
    approve: bool = Field(False, title="审核结论")
    note: str = Field("", title="审核意见")
