"""Input and output models of the onestop domain."""

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from yiwang.core.events import EventPayload
from yiwang.core.inputs import StrictInput

FieldType = Literal["text", "textarea", "number", "date", "select", "id_number", "credit_code", "phone"]
# How a personal field is masked; ID numbers and phones are personal by their type.
PersonalKind = Literal["name", "address", "other"]
Prefill = Literal["display_name", "credit_code", "id_number", "phone", "username"]
MaterialSource = Literal["upload", "certificate", "database", "bundle_item"]
Database = Literal["population", "legal_person", "credit", "real_estate"]
DATABASE_NAMES = {
    "population": "人口基础库",
    "legal_person": "法人基础库",
    "credit": "信用基础库",
    "real_estate": "不动产登记库",
}
SOURCE_NAMES = {
    "upload": "申请人上传",
    "certificate": "电子证照",
    "database": "基础库核验",
    "bundle_item": "同一件事内其他事项产生",
}
# How a material of an application was met (办件材料的满足方式).
CLAIM_STATE_NAMES = {
    "upload": "已上传",
    "certificate": "电子证照",
    "database": "基础库核验",
    "bundle_item": "由联办事项产生",
    "missing": "未提交",
}
STAGE_NAMES = {
    "received": "待受理",
    "supplement": "补正中",
    "review": "审查",
    "decision": "待决定",
    "decided": "已决定",
    "done": "办结",
}


class FormField(StrictInput):
    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=60)
    type: FieldType = "text"
    required: bool = True
    options: list[str] = Field(default_factory=list)
    pattern: str | None = Field(None, max_length=200)
    min_length: int | None = Field(None, ge=0)
    max_length: int | None = Field(None, ge=1, le=5000)
    min: float | None = None
    max: float | None = None
    help: str = Field("", max_length=200)
    prefill: Prefill | None = None
    personal: PersonalKind | None = Field(
        None, description="个人信息字段：加密存储、默认脱敏显示（身份证号码、手机号码类型的字段总是如此）"
    )


class MaterialDef(StrictInput):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=100)
    required: bool = True
    form: str = Field("电子件", max_length=20)
    copies: int = Field(1, ge=0, le=20)
    source: MaterialSource = "upload"
    cert_type_code: str | None = Field(None, min_length=21, max_length=21)
    database: Database | None = None
    produced_by: str | None = Field(None, max_length=40)
    max_pages: int = Field(20, ge=1, le=500)

    @model_validator(mode="after")
    def _source_reference(self) -> "MaterialDef":
        if self.source == "certificate" and not self.cert_type_code:
            raise ValueError("来源为电子证照的材料须指定证照类型代码")
        if self.source == "database" and not self.database:
            raise ValueError("来源为基础库的材料须指定基础库")
        if self.source == "bundle_item" and not self.produced_by:
            raise ValueError("来源为其他事项的材料须指定产生它的事项编码")
        return self


class ItemBase(StrictInput):
    name: str = Field(min_length=1, max_length=100)
    category: Literal["行政许可", "行政确认", "公共服务", "其他行政权力", "行政给付"] = "公共服务"
    audience: Literal["citizen", "enterprise", "both"] = "citizen"
    life_event: str | None = Field(None, max_length=40)
    enterprise_event: str | None = Field(None, max_length=40)
    legal_basis: str = Field("", max_length=2000)
    conditions: str = Field("", max_length=2000)
    legal_days: int = Field(20, ge=0, le=365)
    promised_days: int = Field(10, ge=0, le=365)
    visits: int = Field(0, ge=0, le=10)
    fee: bool = False
    fee_note: str = Field("", max_length=200)
    process: list[str] = Field(default_factory=lambda: ["申请", "受理", "审查", "决定", "办结"])
    online: bool = True
    online_depth: int = Field(4, ge=1, le=4)
    entry_point: bool = False
    produces_type_code: str | None = Field(None, min_length=21, max_length=21)
    form: list[FormField] = Field(default_factory=list)
    materials: list[MaterialDef] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "ItemBase":
        if self.promised_days > self.legal_days:
            raise ValueError("承诺办结时限不能超过法定办结时限")
        names = [f.name for f in self.form]
        if len(names) != len(set(names)):
            raise ValueError("表单字段名不能重复")
        keys = [m.key for m in self.materials]
        if len(keys) != len(set(keys)):
            raise ValueError("材料代码不能重复")
        return self


class ItemCreate(ItemBase):
    code: str = Field(min_length=4, max_length=40, pattern=r"^[0-9A-Za-z_-]+$")
    basic_code: str = Field(min_length=4, max_length=40, pattern=r"^[0-9A-Za-z_-]+$")
    department_code: str = Field(min_length=2, max_length=20)


class ItemUpdate(StrictInput):
    name: str | None = Field(None, min_length=1, max_length=100)
    legal_basis: str | None = Field(None, max_length=2000)
    conditions: str | None = Field(None, max_length=2000)
    legal_days: int | None = Field(None, ge=0, le=365)
    promised_days: int | None = Field(None, ge=0, le=365)
    visits: int | None = Field(None, ge=0, le=10)
    fee: bool | None = None
    online: bool | None = None
    online_depth: int | None = Field(None, ge=1, le=4)
    entry_point: bool | None = None
    active: bool | None = None


class ItemRead(ItemBase):
    model_config = ConfigDict(extra="ignore")

    code: str
    basic_code: str
    department_code: str
    department_name: str = ""
    active: bool = True


class BundleCreate(StrictInput):
    code: str = Field(min_length=2, max_length=40, pattern=r"^[0-9A-Za-z_-]+$")
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=2000)
    audience: Literal["citizen", "enterprise", "both"] = "citizen"
    lead_department_code: str = "SPJ"
    item_codes: list[str] = Field(min_length=2)


class MergedMaterial(BaseModel):
    key: str
    name: str
    required: bool
    source: MaterialSource
    source_name: str
    cert_type_code: str | None
    database: str | None
    produced_by: str | None
    max_pages: int
    items: list[str]
    form: str = "电子件"  # 材料形式 of the first item that asks for it
    copies: int = 1


class Savings(BaseModel):
    items: int
    departments: int
    documents_separate: int
    documents_bundle: int
    documents_saved_pct: float
    fields_separate: int
    fields_bundle: int
    steps_separate: int
    steps_bundle: int
    visits_separate: int
    visits_bundle: int
    days_separate: int
    days_bundle: int
    time_saved_pct: float


class BundleRead(BaseModel):
    code: str
    name: str
    description: str
    audience: str
    lead_department_code: str
    items: list[ItemRead]
    form: list[FormField]
    materials: list[MergedMaterial]
    savings: Savings


class ApplicationCreate(StrictInput):
    item_code: str | None = Field(None, max_length=40)
    bundle_code: str | None = Field(None, max_length=40)
    form: dict[str, Any] = Field(default_factory=dict)
    consent: bool = False
    attachments: dict[str, int] = Field(default_factory=dict, description="材料代码 → 已上传附件编号")

    @model_validator(mode="after")
    def _one_target(self) -> "ApplicationCreate":
        if bool(self.item_code) == bool(self.bundle_code):
            raise ValueError("须且只能指定一个事项编码或一件事编码")
        return self


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    material_key: str
    filename: str
    content_type: str
    size: int
    pages: int | None
    digest: str
    digest_algorithm: str  # SHA-256 or SM3


class ClaimRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    material_key: str
    name: str
    satisfied_by: str
    reference: str | None
    note: str


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    note: str
    actor_name: str
    at: datetime


class TaskRead(BaseModel):
    id: int
    application_number: str
    department_code: str
    department_name: str
    title: str
    item_codes: list[str]
    stage: str
    stage_name: str
    decision: str | None
    decision_reason: str | None
    start_date: date
    due_date: date
    remaining_days: int
    overdue: bool
    warning: bool
    paused: bool
    paused_days: int
    supplement_list: list[dict[str, str]]
    certificates: list[str]
    events: list[EventRead] = Field(default_factory=list)


class ApplicationRead(BaseModel):
    number: str
    title: str
    kind: Literal["item", "bundle"]
    target_code: str
    applicant_name: str = Field(description="个人申请人的姓名对他人脱敏显示")
    status: str
    outcome: str | None
    submitted_at: datetime
    completed_at: datetime | None
    form: dict[str, Any] = Field(description="表单；个人信息字段已脱敏")
    has_personal: bool = Field(False, description="表单含加密存储的个人信息，可凭查看事由申请明文")
    tasks: list[TaskRead]
    claims: list[ClaimRead]
    consent_given: bool
    rating: int | None
    can_rate: bool


class ApplicationPersonalRead(BaseModel):
    """The personal fields of an application's form in clear (an audited read)."""

    number: str
    applicant_name: str
    fields: dict[str, Any]


class ApplicationBrief(BaseModel):
    number: str
    title: str
    status: str
    outcome: str | None
    submitted_at: datetime
    completed_at: datetime | None
    rating: int | None


class SupplementEntry(StrictInput):
    name: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=300)


class SupplementRequest(StrictInput):
    items: list[SupplementEntry] = Field(min_length=1, max_length=50)


class SupplementSubmit(StrictInput):
    attachments: dict[str, int] = Field(default_factory=dict)
    form: dict[str, Any] = Field(default_factory=dict)
    note: str = Field("", max_length=500)


class DecisionInput(StrictInput):
    decision: Literal["approved", "refused"]
    reason: str | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _reason(self) -> "DecisionInput":
        if self.decision == "refused" and not (self.reason and len(self.reason) >= 2):
            raise ValueError("不予许可须说明理由")
        return self


class RatingCreate(StrictInput):
    score: int = Field(ge=1, le=5, description="5 非常满意 … 1 非常不满意")
    comment: str = Field("", max_length=1000)


class RatingRead(BaseModel):
    application_number: str
    score: int
    comment: str
    created_at: datetime
    followup_id: int | None


class FollowUpRead(BaseModel):
    id: int
    application_number: str
    department_code: str
    score: int
    comment: str
    due_date: date
    status: str
    overdue: bool
    resolution: str | None


class FollowUpClose(StrictInput):
    resolution: str = Field(min_length=2, max_length=2000)


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str
    url: str | None
    created_at: datetime
    read_at: datetime | None


class ItemTime(BaseModel):
    item_code: str
    item_name: str
    completed: int
    avg_working_days: float
    promised_days: int


class IndicatorFigures(BaseModel):
    active_items: int
    online_items: int
    online_rate: float = Field(description="指标8 可网办率 %")
    bundle_count: int = Field(description="指标7 一件事一次办事项数")
    exempt_material_items: int = Field(description="配置了免提交材料（由电子证照或基础库提供）的事项数")
    waived_material_items: int = Field(description="指标6 免于提交事项数：已有办件实际免于提交材料的事项")
    entry_point_services: int = Field(description="指标9 城市服务总入口接入服务事项数")
    applications: int
    completed: int
    overdue_tasks: int
    avg_working_days: float
    avg_promised_days: float
    satisfaction: float | None = Field(description="好评率 %（4、5分占比）")
    per_item: list[ItemTime]


class DepartmentFigures(BaseModel):
    department_code: str
    pending: int
    overdue: int
    completed: int
    refused: int
    avg_working_days: float


class CalendarOverrideIn(StrictInput):
    day: date
    workday: bool
    note: str = Field("", max_length=100)


class PrefillRead(BaseModel):
    form: list[FormField]
    values: dict[str, Any]
    materials: list[dict[str, Any]]


# ---- events (core.events outbox payloads) ---------------------------------------------------------


class ApplicationSubmitted(EventPayload):
    event_name: ClassVar[str] = "onestop.application_submitted"

    number: str
    applicant_id: int | None


class TaskChanged(EventPayload):
    event_name: ClassVar[str] = "onestop.task_changed"

    task_id: int
    application: str
    stage: str


class ApplicationRated(EventPayload):
    event_name: ClassVar[str] = "onestop.rated"

    number: str
    score: int


# ---- the read model other domains use (onestop.reads) ----------------------------------------------


class ItemSummary(BaseModel):
    """An active service item as the plan's indicators 5, 6, 8 and 9 count it."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    department_code: str
    online: bool
    online_depth: int
    entry_point: bool
    produces_type_code: str | None = Field(description="the e-certificate type an approval issues")
    materials: int
    exempt_materials: int = Field(description="materials taken from e-certificates or base databases")
    waived_applications: int = Field(
        description="applications in which a material of the item was taken from an e-certificate or a base "
        "database instead of being submitted"
    )


class BundleSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    lead_department_code: str
    items: int
    entry_point: bool
