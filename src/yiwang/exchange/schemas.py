"""Shapes of the exchange."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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
