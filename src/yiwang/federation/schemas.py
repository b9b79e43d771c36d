"""Input and output shapes of the federation, and the payload of each message kind."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from yiwang.core.inputs import StrictInput

Role = Literal["upper", "lower", "sibling"]
Platform = Literal["sharing", "security", "cloud", "projects"]
ROLE_NAMES = {"upper": "上级", "lower": "下级", "sibling": "同级"}
CATALOG_LABELS = {"upper": "上级目录", "lower": "下级目录", "sibling": "同级目录"}
PLATFORM_NAMES = {
    "sharing": "政务信息资源共享平台",
    "security": "政务外网安全管理平台",
    "cloud": "政务云运维平台",
    "projects": "项目管理平台",
}
PLATFORM_INDICATORS = {"sharing": 17, "security": 18, "cloud": 19, "projects": 20}
# What each kind of upper-level platform must exchange with the city for the cascade to count as done.
DEFAULT_KINDS: dict[str, list[str]] = {
    "sharing": ["catalog.entry", "application.submit", "application.answer"],
    "security": ["report:security"],
    "cloud": ["report:cloud"],
    "projects": ["report:projects"],
}
KIND_NAMES = {
    "catalog.entry": "目录同步（新增或变更）",
    "catalog.retire": "目录同步（撤销）",
    "application.submit": "跨级共享申请",
    "application.answer": "跨级申请答复",
    "application.data": "获批数据回传",
    "objection.raise": "数据异议",
    "objection.answer": "数据异议答复",
    "report": "报送",
}
KindName = str


class Identity(BaseModel):
    """What an installation says about itself at /api/federation/identity."""

    name: str
    url: str
    algorithm: str
    public_key: str  # base64 raw public key
    fingerprint: str
    key_id: str


class PeerCreate(StrictInput):
    url: HttpUrl
    role: Role
    platform: Platform = "sharing"
    fingerprint: str = Field(min_length=10, max_length=60, description="对方公钥指纹，经电话等带外方式核对")
    required_kinds: list[str] | None = Field(None, max_length=20, description="必须交换的消息类型；默认按平台")
    department_code: str | None = Field(None, max_length=20, description="代表该节点的本地部门；默认新建")


class PeerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    url: str
    role: Role
    platform: Platform
    required_kinds: list[str]
    algorithm: str
    fingerprint: str = ""
    status: str
    department_id: int
    added_at: datetime
    removed_at: datetime | None
    last_sent_at: datetime | None
    last_received_at: datetime | None
    last_error: str
    backlog: int = 0
    oldest_pending_at: datetime | None = None
    delivered: int = 0
    received: int = 0


class MessageRead(BaseModel):
    """A message in the outbox (sent) or the inbox (received), for the history pages."""

    direction: Literal["sent", "received"]
    message_id: str
    peer_id: int
    peer_name: str
    kind: str
    status: str
    attempts: int = 0
    last_error: str = ""
    summary: str = ""
    created_at: datetime
    delivered_at: datetime | None = None


class Receipt(BaseModel):
    """The receiver's answer to a message it accepted."""

    status: Literal["accepted"]
    message_id: str
    received_at: datetime


# ---- message payloads ---------------------------------------------------------------------------


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemBrief(Payload):
    name: str
    label: str


class CatalogEntryPayload(Payload):
    code: str = Field(max_length=30)
    name: str = Field(max_length=120)
    version: int
    change: Literal["new", "changed"]
    department_name: str = Field("", max_length=100)
    summary: str = Field("", max_length=4000)
    sharing_type: str = Field("", max_length=20)
    items: list[ItemBrief] = Field(default_factory=list, max_length=200)
    dcat: dict[str, Any]


class CatalogRetirePayload(Payload):
    code: str = Field(max_length=30)


class ApplicationSubmitPayload(Payload):
    reference: str = Field(max_length=40)
    entry_code: str = Field(max_length=30)
    fields: list[str] = Field(min_length=1, max_length=200)
    purpose: str = Field(max_length=2000)
    period_end: date
    applicant: str = Field(max_length=100)
    department_name: str = Field("", max_length=100)


class ApplicationAnswerPayload(Payload):
    reference: str = Field(max_length=40)
    status: Literal["granted", "refused"]
    reason: str = Field("", max_length=500)
    grant_expires_at: datetime | None = None


class ApplicationDataPayload(Payload):
    reference: str = Field(max_length=40)
    page: int = Field(ge=1)
    pages: int = Field(ge=1)
    total: int = Field(ge=0)
    fields: list[str]
    rows: list[dict[str, Any]]


class ObjectionPayload(Payload):
    reference: str = Field(max_length=40)
    entry_code: str = Field(max_length=30)
    description: str = Field(max_length=2000)
    raised_by: str = Field(max_length=100)


class ObjectionAnswerPayload(Payload):
    reference: str = Field(max_length=40)
    answer: str = Field(max_length=2000)
    answered_by: str = Field(max_length=100)


class ReportPayload(Payload):
    topic: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")
    content: dict[str, Any]


# ---- catalog, applications, objections ----------------------------------------------------------------


class RemoteEntryRead(BaseModel):
    peer_id: int
    peer_name: str
    label: str  # 上级目录 | 下级目录 | 同级目录
    code: str
    name: str
    department_name: str
    summary: str
    sharing_type: str
    items: list[ItemBrief]
    status: str
    version: int
    updated_at: datetime


class CatalogSyncRead(BaseModel):
    peer_id: int
    peer_name: str
    code: str
    change: str
    queued_at: datetime
    acknowledged_at: datetime | None


class CrossApplicationCreate(StrictInput):
    peer_id: int = Field(ge=1)
    entry_code: str = Field(min_length=1, max_length=30)
    fields: list[str] = Field(min_length=1, max_length=200)
    purpose: str = Field(min_length=4, max_length=2000)
    period_end: date


class CrossApplicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    direction: Literal["outgoing", "incoming"]
    peer_id: int
    peer_name: str = ""
    entry_code: str
    entry_name: str
    fields: list[str]
    purpose: str
    period_end: date
    department_id: int
    applicant_name: str
    status: str
    exchange_application_id: int | None
    grant_expires_at: datetime | None
    reason: str
    due_on: date
    created_at: datetime
    answered_at: datetime | None
    returned_at: datetime | None
    rows_total: int
    answered_on_time: bool | None = None


class ReturnedData(BaseModel):
    reference: str
    entry_code: str
    fields: list[str]
    total: int
    rows: list[dict[str, Any]]


class ObjectionCreate(StrictInput):
    peer_id: int = Field(ge=1)
    entry_code: str = Field(min_length=1, max_length=30)
    description: str = Field(min_length=4, max_length=2000)


class ObjectionAnswer(StrictInput):
    answer: str = Field(min_length=2, max_length=2000)


class ObjectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    direction: Literal["outgoing", "incoming"]
    peer_id: int
    peer_name: str = ""
    entry_code: str
    department_id: int | None
    description: str
    raised_by: str
    status: str
    answer: str
    answered_by: str
    created_at: datetime
    answered_at: datetime | None


class ReportCreate(StrictInput):
    topic: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")
    content: dict[str, Any] = Field(default_factory=dict)


# ---- figures for the brain ----------------------------------------------------------------------------


class CascadeItem(BaseModel):
    """One thing a peer must exchange, and how far it is done (0–1)."""

    peer_name: str
    kind: str
    done: float
    detail: str


class CascadeFigures(BaseModel):
    """Indicators 17–20: per upper-level platform, the required exchanges and how far each is done."""

    indicator_no: int
    peers: int
    items: list[CascadeItem]

    @property
    def completed(self) -> float:
        return round(sum(i.done for i in self.items), 4)


class KeyRolloverPayload(Payload):
    """A new version of the sender's federation key, sent under the key the receiver pinned; `proof` is
    the new key's signature of the rollover statement, so the sender shows it holds the new key."""

    algorithm: str = Field(max_length=16)
    public_key: str = Field(max_length=200)
    version: int = Field(ge=1)
    proof: str = Field(max_length=400)
