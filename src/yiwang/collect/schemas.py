"""Shapes of collection: sources (input and output), runs, and the outcome of a run."""

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from yiwang.core.inputs import StrictInput

SourceKind = Literal["database", "api", "folder"]
LoadMode = Literal["full", "incremental"]
ApiPaging = Literal["none", "page", "offset", "next"]
ApiAuth = Literal["none", "bearer", "key"]
RunStatus = Literal["running", "succeeded", "failed", "interrupted", "unchanged"]

SOURCE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$")
KIND_NAMES = {"database": "关系数据库", "api": "REST/JSON 接口", "folder": "监视文件夹"}
MODE_NAMES = {"full": "全量", "incremental": "增量（水位线）"}
STATUS_NAMES = {
    "running": "运行中",
    "succeeded": "成功",
    "failed": "失败",
    "interrupted": "中断",
    "unchanged": "无新数据",
}


class ApiOptions(BaseModel):
    """How a REST/JSON source is paged and authenticated."""

    paging: ApiPaging = "none"
    records: str = Field("", max_length=100, description="记录数组在响应中的路径，如 data.items；空为响应本身")
    page_param: str = Field("page", max_length=40)
    size_param: str = Field("size", max_length=40, description="page 分页的每页条数参数；offset 分页为 limit")
    offset_param: str = Field("offset", max_length=40)
    page_size: int = Field(1000, ge=1, le=100000)
    next_link: str = Field("next", max_length=100, description="下一页链接在响应中的路径")
    auth: ApiAuth = "none"
    key_header: str = Field("X-API-Key", max_length=60)
    watermark_param: str = Field("", max_length=40, description="增量时携带水位线的查询参数")


class SourceFields(StrictInput):
    name: str = Field(min_length=1, max_length=100)
    entry_code: str = Field(min_length=1, max_length=30)
    kind: SourceKind
    location: str = Field(min_length=1, max_length=500, description="数据库连接串（不含密码）、接口地址或文件夹")
    table_name: str = Field("", max_length=128)
    query: str = Field("", max_length=20000)
    api: ApiOptions = Field(default_factory=ApiOptions)
    mapping: dict[str, str] = Field(default_factory=dict, description="源列名 → 信息项字段名；空则按同名对应")
    mode: LoadMode = "full"
    watermark_column: str = Field("", max_length=128)
    key_check_every: int = Field(0, ge=0, le=10000, description="每隔几次增量做一次全量主键比对（识别删除）；0 不比对")
    schedule: str = Field("", max_length=100, description="cron 表达式；空则只手动运行")
    enabled: bool = True

    @model_validator(mode="after")
    def _shape(self) -> "SourceFields":
        if self.kind == "database" and bool(self.table_name) == bool(self.query):
            raise ValueError("数据库源须填写表名或查询语句之一")
        if self.mode == "incremental" and self.kind != "folder" and not self.watermark_column:
            raise ValueError("增量归集须指定水位线列")
        return self


class SourceCreate(SourceFields):
    code: str = Field(min_length=2, max_length=40, description="源代码，字母数字、-、_")
    secret: str | None = Field(None, max_length=4000, description="密码、令牌或密钥；只写，不再显示")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not SOURCE_CODE.match(value):
            raise ValueError("源代码只能含字母、数字、- 和 _，2 到 40 位")
        return value


class SourceUpdate(SourceFields):
    secret: str | None = Field(None, max_length=4000, description="新的凭据；不填则保留原凭据")
    clear_secret: bool = False


class SourceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    entry_code: str
    department_id: int
    kind: SourceKind
    location: str
    table_name: str
    query: str
    api: ApiOptions
    mapping: dict[str, str]
    mode: LoadMode
    watermark_column: str
    watermark: str | None  # the last value read, as text
    key_check_every: int
    schedule: str
    enabled: bool
    next_run_at: datetime | None
    secret_set: bool  # the credential itself is never returned
    alert_open: bool
    last_status: str
    last_run_at: datetime | None
    running: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_id: int
    trigger: str
    status: RunStatus
    node: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_deleted: int
    key_check: bool
    version: int | None
    error: str


class SourceAlert(BaseModel):
    """A source whose last run failed, for its department's stewards' workbench."""

    code: str
    name: str
    entry_code: str
    department_id: int
    failed_at: datetime | None
