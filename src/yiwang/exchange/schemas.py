"""Shapes of the exchange."""

from datetime import date, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from yiwang.catalog.schemas import Masking
from yiwang.core.inputs import StrictInput


class ApplicationCreate(StrictInput):
    entry_code: str = Field(max_length=30)
    fields: list[str] = Field(min_length=1, max_length=200)
    purpose: str = Field(min_length=4, max_length=2000, description="用途")
    period_end: date = Field(description="使用期限（截止日期）")
    row_filter: dict[str, str | list[str]] = Field(default_factory=dict, description="行筛选：字段 → 取值或取值列表")


class Decision(StrictInput):
    approve: bool
    reason: str = Field("", max_length=500, description="意见；拒绝时必填")
    masking: dict[str, Masking] = Field(default_factory=dict, description="大数据局可调整字段脱敏方式")


class RevokeRequest(StrictInput):
    reason: str = Field(min_length=2, max_length=500)


class ApplicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    entry_code: str
    provider_department_id: int
    consumer_department_id: int
    applicant_name: str
    fields: list[str]
    row_filter: dict[str, Any]
    purpose: str
    period_end: date
    status: str
    provider_due: date | None
    provider_overdue: bool = False
    provider_opinion: str
    bureau_opinion: str
    refusal_reason: str
    grant_id: int | None
    created_at: datetime
    kind: str = "data"
    operations: list[str] | None = None
    rate_per_second: int | None = None
    daily_quota: int | None = None


class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    application_id: int
    entry_code: str
    provider_department_id: int
    consumer_department_id: int
    fields: list[str]
    row_filter: dict[str, Any]
    masking: dict[str, str]
    expires_at: datetime
    revoked_at: datetime | None
    revoke_reason: str
    created_at: datetime
    active: bool = False
    kind: str = "data"
    operations: list[str] | None = None
    rate_per_second: int | None = None
    daily_quota: int | None = None


class GrantUsage(BaseModel):
    grant_id: int
    entry_code: str
    consumer_department_id: int
    calls: int
    rows: int
    denied: int
    last_call_at: datetime | None
    avg_ms: float


class CallRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    grant_id: int
    caller_name: str
    request_id: str
    query: str
    rows: int
    status_code: int
    duration_ms: float
    body_digest: str
    body_digest_algorithm: str  # SHA-256 or SM3
    occurred_at: datetime


class DataPage(BaseModel):
    """What the data API returns (documented for OpenAPI; the body is written as bytes for hashing)."""

    grant_id: int
    entry_code: str
    fields: list[str]
    page: int
    size: int
    total: int
    rows: list[dict[str, Any]]


# ---- live services (服务共享) ----------------------------------------------------------------------

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
SERVICE_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,39}$"


class OperationIn(StrictInput):
    id: str | None = Field(
        None, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$", description="操作标识，缺省为“方法 路径”"
    )
    method: HttpMethod
    path: str = Field(min_length=1, max_length=500, pattern=r"^/[^\s?#]*$", description="路径模板，如 /persons/{id}")


class Operation(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    method: str
    path: str


class ServiceCreate(StrictInput):
    code: str = Field(pattern=SERVICE_CODE_PATTERN, description="服务编码：小写字母、数字和连字符，用于 /x/{编码}/…")
    name: str = Field(min_length=2, max_length=200, description="服务名称")
    description: str = Field("", max_length=2000, description="说明")
    base_url: str = Field(max_length=500, pattern=r"^https?://[^\s]+$", description="提供方服务地址")
    operations: list[OperationIn] = Field(default_factory=list, max_length=500, description="操作列表")
    openapi: dict[str, Any] | None = Field(None, description="OpenAPI 文档（JSON）；与操作列表二选一")
    openapi_url: str | None = Field(
        None, max_length=500, pattern=r"^https?://[^\s]+$", description="OpenAPI 文档地址，登记时读取"
    )
    keep_bodies: bool = Field(False, description="消息日志是否保存报文正文")
    connect_timeout_s: float = Field(3.0, ge=0.05, le=60, description="连接超时（秒）")
    read_timeout_s: float = Field(30.0, ge=0.05, le=600, description="读取超时（秒）")
    breaker_failures: int = Field(5, ge=1, le=100, description="连续失败多少次后熔断")
    breaker_reset_s: float = Field(30.0, ge=0.1, le=3600, description="熔断后多久试探恢复（秒）")

    @field_validator("base_url", "openapi_url")
    @classmethod
    def _a_reachable_url(cls, value: str | None) -> str | None:
        # The pattern lets through what no HTTP client can call (a non-ASCII or empty host).
        if value is None:
            return value
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError("地址无效") from exc
        if not url.host:
            raise ValueError("地址缺少主机名")
        if url.port is not None and not 0 < url.port < 65536:
            raise ValueError("端口须在 1–65535 之间")
        return value


class ServiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    description: str
    provider_department_id: int
    base_url: str
    operations: list[Operation]
    openapi_source: str
    keep_bodies: bool
    connect_timeout_s: float
    read_timeout_s: float
    breaker_failures: int
    breaker_reset_s: float
    active: bool
    created_at: datetime


class ServiceApplicationCreate(StrictInput):
    service_code: str = Field(pattern=SERVICE_CODE_PATTERN)
    operations: list[str] = Field(min_length=1, max_length=500, description="申请调用的操作")
    purpose: str = Field(min_length=4, max_length=2000, description="用途")
    period_end: date = Field(description="使用期限（截止日期）")
    rate_per_second: int = Field(10, ge=1, le=10000, description="每秒最多调用次数")
    daily_quota: int | None = Field(10000, ge=1, le=100_000_000, description="每日调用配额；空为不限")


class MessageRead(BaseModel):
    """One mediated call as the message log keeps it (the digests and signatures, not the bodies)."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    call_id: str
    received_at: datetime
    duration_ms: float
    service_code: str
    operation_id: str
    method: str
    path: str
    query: str
    provider_department_id: int
    consumer_department_id: int | None
    caller_name: str
    grant_id: int | None
    outcome: str
    status_code: int
    error_code: str
    request_digest: str
    response_digest: str
    request_bytes: int
    response_bytes: int
    bodies_kept: bool


class MessageKeyRead(BaseModel):
    key_id: str
    alg: str = Field(description="RFC 9421 的 alg：ed25519，或国密配置下的 sm2-sm3（非 RFC 9421 注册名）")
    algorithm: str
    public_key: str = Field(description="原始公钥的 base64")
    pem: str


class MessageChainCheck(BaseModel):
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    signatures_checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


# ---- the read model other domains use (exchange.reads) -----------------------------------------


class SharingFigures(BaseModel):
    """Applications by status, active grants, calls and rows, and plan indicator 15's grant side."""

    applications: dict[str, int] = Field(description="applications by status")
    active_grants: int
    grants_used_30d: int = Field(description="active grants called successfully in the last 30 days")
    used_grants: int = Field(description="the same as grants_used_30d")
    utilisation_ratio: float = Field(description="grants_used_30d / active_grants")
    calls_30d: int
    rows_30d: int
    provider_replies_overdue: int
    consumer_departments: int


class GrantUse(BaseModel):
    """An active grant and its successful calls in the last 30 days."""

    model_config = ConfigDict(frozen=True)

    grant_id: int
    entry_code: str
    consumer_department_code: str | None
    calls_30d: int
