"""The source form of the collection pages: flat fields, turned into the API's input model."""

from typing import Annotated, Literal

from pydantic import Field, field_validator

from yiwang.collect.schemas import ApiOptions, SourceCreate, SourceUpdate
from yiwang.web.forms import CHOICE, FormModel, Password


def parse_mapping(text: str) -> dict[str, str]:
    """`源列=信息项` lines (or `源列 -> 信息项`); blank lines are skipped."""
    mapping: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.replace("->", "=").split("=")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ValueError(f"第 {number} 行应为“源列=信息项”")
        if parts[0].strip() in mapping:
            raise ValueError(f"第 {number} 行的源列重复")
        mapping[parts[0].strip()] = parts[1].strip()
    return mapping


def mapping_text(mapping: dict[str, str]) -> str:
    return "\n".join(f"{source}={item}" for source, item in mapping.items())


class SourceForm(FormModel):
    code: str = Field("", max_length=40, title="源代码")
    name: str = Field(min_length=1, max_length=100, title="名称")
    entry_code: Annotated[str, CHOICE] = Field(max_length=30, title="资源目录")
    kind: Literal["database", "api", "folder"] = Field(title="源类型")
    location: str = Field(min_length=1, max_length=500, title="连接串／地址／文件夹")
    table_name: str = Field("", max_length=128, title="表名")
    query: str = Field("", max_length=20000, title="查询语句")
    mapping: str = Field("", max_length=20000, title="列映射")
    secret: Password = Field("", max_length=4000, title="凭据")
    clear_secret: bool = Field(False, title="清除凭据")
    mode: Literal["full", "incremental"] = Field("full", title="归集方式")
    watermark_column: str = Field("", max_length=128, title="水位线列")
    key_check_every: int = Field(0, ge=0, le=10000, title="主键比对间隔")
    schedule: str = Field("", max_length=100, title="运行计划")
    enabled: bool = Field(False, title="启用计划")
    api_paging: Literal["none", "page", "offset", "next"] = Field("none", title="分页方式")
    api_records: str = Field("", max_length=100, title="记录路径")
    api_page_size: int = Field(1000, ge=1, le=100000, title="每页条数")
    api_next_link: str = Field("next", max_length=100, title="下一页链接路径")
    api_auth: Literal["none", "bearer", "key"] = Field("none", title="认证方式")
    api_key_header: str = Field("X-API-Key", max_length=60, title="密钥请求头")
    api_watermark_param: str = Field("", max_length=40, title="水位线参数")

    @field_validator("mapping")
    @classmethod
    def _mapping(cls, value: str) -> str:
        parse_mapping(value)
        return value

    def _fields(self) -> dict[str, object]:
        return {
            "name": self.name,
            "entry_code": self.entry_code,
            "kind": self.kind,
            "location": self.location,
            "table_name": self.table_name,
            "query": self.query,
            "mapping": parse_mapping(self.mapping),
            "mode": self.mode,
            "watermark_column": self.watermark_column,
            "key_check_every": self.key_check_every,
            "schedule": self.schedule,
            "enabled": self.enabled,
            "api": ApiOptions(
                paging=self.api_paging,
                records=self.api_records,
                page_size=self.api_page_size,
                next_link=self.api_next_link,
                auth=self.api_auth,
                key_header=self.api_key_header,
                watermark_param=self.api_watermark_param,
            ),
        }

    def to_create(self) -> SourceCreate:
        return SourceCreate.model_validate(self._fields() | {"code": self.code, "secret": self.secret or None})

    def to_update(self) -> SourceUpdate:
        return SourceUpdate.model_validate(
            self._fields() | {"secret": self.secret or None, "clear_secret": self.clear_secret}
        )


def api_field(loc: tuple[int | str, ...]) -> str:
    """The form field an input model's error points at (api.paging → api_paging)."""
    if len(loc) >= 2 and loc[0] == "api":
        return f"api_{loc[1]}"
    return str(loc[0]) if loc else ""
