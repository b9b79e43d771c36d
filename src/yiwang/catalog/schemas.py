"""Input and output shapes of the catalog, and its vocabularies (standards.md §5–§6)."""

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CATEGORIES = ("基础信息资源", "主题信息资源", "部门信息资源")
FORMATS = ("数据库", "电子表格", "接口", "文件", "图形图像", "流媒体")
SHARING_TYPES = ("无条件共享", "有条件共享", "不予共享")
SHARING_METHODS = ("接口", "文件下载", "库表交换")
OPEN_TYPES = ("无条件开放", "有条件开放", "不予开放")
UPDATE_CYCLES = ("实时", "每日", "每周", "每月", "每季度", "每年")
# Days after which data with this update cycle is no longer fresh (实时 allows one day of slack).
CYCLE_DAYS = {"实时": 1, "每日": 2, "每周": 8, "每月": 32, "每季度": 93, "每年": 366}
DATA_GRADES = ("1", "2", "3", "4", "重要", "核心")  # 一般数据 levels 1–4, then 重要数据 and 核心数据
RESTRICTED_GRADES = ("重要", "核心")
STATUSES = ("draft", "pending", "published", "retired")
STATUS_NAMES = {"draft": "草稿", "pending": "待审核", "published": "已发布", "retired": "已停用"}
DATA_TYPES = ("string", "integer", "number", "date", "datetime", "boolean")
VALIDATORS = (
    "none",
    "id_number",
    "credit_code",
    "mobile",
    "email",
    "date",
    "division_code",
    "enum",
    "range",
    "regex",
)
VALIDATOR_NAMES = {
    "none": "无",
    "id_number": "身份证号码",
    "credit_code": "统一社会信用代码",
    "mobile": "手机号码",
    "email": "电子邮箱",
    "date": "日期",
    "division_code": "行政区划代码",
    "enum": "枚举",
    "range": "数值范围",
    "regex": "正则表达式",
}
# De-identification methods (GB/T 37964-2019 names): masking, keyed-hash pseudonym, generalisation, suppression.
MASKINGS = (
    "none",
    "name",
    "id_number",
    "mobile",
    "bank_card",
    "address",
    "email",
    "pseudonym",
    "year",
    "age_band",
    "suppress",
)
MASKING_NAMES = {
    "none": "不处理",
    "name": "姓名遮蔽",
    "id_number": "证件号遮蔽",
    "mobile": "手机号遮蔽",
    "bank_card": "银行卡遮蔽",
    "address": "地址遮蔽",
    "email": "邮箱遮蔽",
    "pseudonym": "假名化（密钥哈希）",
    "year": "泛化为年份",
    "age_band": "泛化为年龄段",
    "suppress": "删除（抑制）",
}
SENSITIVITY_NAMES = {1: "公开", 2: "内部", 3: "敏感", 4: "高度敏感"}

Category = Literal["基础信息资源", "主题信息资源", "部门信息资源"]
Format = Literal["数据库", "电子表格", "接口", "文件", "图形图像", "流媒体"]
SharingType = Literal["无条件共享", "有条件共享", "不予共享"]
SharingMethod = Literal["接口", "文件下载", "库表交换"]
OpenType = Literal["无条件开放", "有条件开放", "不予开放"]
UpdateCycle = Literal["实时", "每日", "每周", "每月", "每季度", "每年"]
DataGrade = Literal["1", "2", "3", "4", "重要", "核心"]
DataType = Literal["string", "integer", "number", "date", "datetime", "boolean"]
Validator = Literal[
    "none", "id_number", "credit_code", "mobile", "email", "date", "division_code", "enum", "range", "regex"
]
Masking = Literal[
    "none", "name", "id_number", "mobile", "bank_card", "address", "email", "pseudonym", "year", "age_band", "suppress"
]

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
ENTRY_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,19}-\d{5}$")


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


class StrictInput(BaseModel):
    """Input: unknown fields refused, strings trimmed, NUL characters refused (PostgreSQL cannot store them)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: object) -> object:
        if _has_nul(data):
            raise ValueError("输入含有不允许的 NUL 字符")
        return data


class InfoItem(StrictInput):
    """信息项: one field of a resource, with how it is checked and how it is de-identified."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, from_attributes=True)

    name: str = Field(min_length=1, max_length=63, description="字段名（小写字母、数字、下划线）")
    label: str = Field(min_length=1, max_length=60, description="中文名称")
    data_type: DataType = "string"
    length: int | None = Field(None, ge=1, le=100000)
    required: bool = False
    validator: Validator = "none"
    validator_arg: str = Field("", max_length=500, description="枚举：a|b|c；范围：最小,最大；正则：表达式")
    sensitivity: int = Field(1, ge=1, le=4, description="敏感级别 1公开 2内部 3敏感 4高度敏感")
    masking: Masking = "none"
    is_key: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not FIELD_NAME.match(value):
            raise ValueError("字段名须以小写字母开头，只含小写字母、数字和下划线")
        return value

    @model_validator(mode="after")
    def _argument(self) -> "InfoItem":
        if self.validator == "enum" and not [v for v in self.validator_arg.split("|") if v.strip()]:
            raise ValueError(f"{self.name}：枚举校验须给出取值，以 | 分隔")
        if self.validator == "range":
            parts = self.validator_arg.split(",")
            try:
                low, high = (float(p) if p.strip() else None for p in parts)
            except ValueError as exc:
                raise ValueError(f"{self.name}：范围校验须写成 最小,最大（可留空一侧）") from exc
            if low is not None and high is not None and low > high:
                raise ValueError(f"{self.name}：范围最小值大于最大值")
        if self.validator == "regex":
            try:
                re.compile(self.validator_arg)
            except re.error as exc:
                raise ValueError(f"{self.name}：正则表达式无效") from exc
            if not self.validator_arg:
                raise ValueError(f"{self.name}：正则校验须给出表达式")
        return self


class EntryCreate(StrictInput):
    """The core metadata of a catalog entry (2017 compilation guide, standards.md §6)."""

    name: str = Field(min_length=2, max_length=120)
    category: Category = "部门信息资源"
    subject: str = Field("", max_length=60, description="信息资源分类的项/目，如“生态环境/大气”")
    department_code: str | None = Field(None, max_length=20, description="提供方部门代码，默认本部门")
    summary: str = Field("", max_length=2000)
    format: Format = "数据库"
    items: list[InfoItem] = Field(default_factory=list, max_length=200)
    sharing_type: SharingType = "有条件共享"
    sharing_condition: str = Field("", max_length=500)
    sharing_method: SharingMethod = "接口"
    open_type: OpenType = "不予开放"
    update_cycle: UpdateCycle = "每月"
    release_date: date | None = None
    related_codes: list[str] = Field(default_factory=list, max_length=50)
    data_grade: DataGrade = "2"
    tags: list[str] = Field(default_factory=list, max_length=20)
    licence: str = Field("", max_length=100)

    @model_validator(mode="after")
    def _rules(self) -> "EntryCreate":
        names = [i.name for i in self.items]
        if len(set(names)) != len(names):
            raise ValueError("信息项字段名重复")
        if self.data_grade in RESTRICTED_GRADES:
            if self.open_type != "不予开放":
                raise ValueError("重要数据和核心数据不得开放")
            if self.sharing_type == "无条件共享":
                raise ValueError("重要数据和核心数据只能有条件共享或不予共享")
        if self.sharing_type == "有条件共享" and not self.sharing_condition:
            self.sharing_condition = "按申请用途审核后共享"
        for code in self.related_codes:
            if not ENTRY_CODE.match(code):
                raise ValueError(f"关联资源代码 {code} 格式无效")
        return self


class EntryUpdate(EntryCreate):
    note: str = Field("", max_length=500, description="修改说明")


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    category: str
    subject: str
    department_id: int
    department_code: str
    department_name: str = ""
    summary: str
    format: str
    items: list[InfoItem]
    sharing_type: str
    sharing_condition: str
    sharing_method: str
    open_type: str
    update_cycle: str
    release_date: date | None
    related_codes: list[str]
    data_grade: str
    tags: list[str]
    licence: str
    status: str
    version: int
    has_draft: bool = False
    review_note: str = ""
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @property
    def key_fields(self) -> list[str]:
        return [i.name for i in self.items if i.is_key]

    @property
    def grade_label(self) -> str:
        return self.data_grade if self.data_grade in RESTRICTED_GRADES else f"一般{self.data_grade}级"


class EntryVersionRead(BaseModel):
    version: int
    created_at: datetime
    actor: str
    note: str
    snapshot: dict[str, Any]


class ReviewDecision(StrictInput):
    approve: bool
    note: str = Field("", max_length=500)


class SearchQuery(BaseModel):
    q: str = ""
    department: str | None = None
    category: str | None = None
    sharing_type: str | None = None
    open_type: str | None = None
    status: str | None = "published"
    page: int = 1
    size: int = 20


class EntryBrief(BaseModel):
    code: str
    name: str
    department_code: str
    department_name: str
    category: str
    subject: str
    summary: str
    sharing_type: str
    open_type: str
    update_cycle: str
    data_grade: str
    status: str


class OpenableEntry(EntryBrief):
    """A published entry that may be opened to the public, with the department that owns it."""

    department_id: int


class SearchResult(BaseModel):
    items: list[EntryBrief]
    total: int
    page: int
    size: int
    facets: dict[str, dict[str, int]]


class ImportReport(BaseModel):
    created: int
    updated: int
    errors: list[dict[str, Any]] = Field(default_factory=list)
