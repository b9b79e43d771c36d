"""Shapes of the open data portal."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from yiwang.catalog.schemas import StrictInput


class DatasetRead(BaseModel):
    code: str
    name: str
    title: str
    description: str
    department_code: str
    department_name: str
    category: str
    subject: str
    open_type: str
    update_cycle: str
    tags: list[str]
    licence: str
    fields: list[dict[str, Any]]
    published_at: datetime
    data_updated_at: datetime | None
    rows: int
    fresh: bool
    quality_score: int
    quality: dict[str, bool]
    views: int
    downloads: int
    formats: list[str]


class DatasetSearch(BaseModel):
    items: list[DatasetRead]
    total: int
    facets: dict[str, dict[str, int]]


class OpenApplicationCreate(StrictInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    purpose: str = Field(min_length=4, max_length=2000)


class OpenApplicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    dataset_id: int
    username: str
    purpose: str
    status: str
    reason: str
    created_at: datetime


class OpenDecision(StrictInput):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str = Field("", max_length=500)


class KeyLimit(StrictInput):
    model_config = ConfigDict(extra="forbid")

    per_minute: int = Field(ge=1, le=100000)


# ---- the read model other domains use --------------------------------------------------------------


class DepartmentOpenData(BaseModel):
    name: str
    open: int = Field(description="open datasets of the department")


class PortalFigures(BaseModel):
    """Plan indicators 12 (departments with an open dataset) and 13 (fresh share of open datasets)."""

    datasets: int
    unconditional: int
    conditional: int
    with_data: int
    fresh: int
    fresh_ratio: float
    departments: int = Field(description="departments expected to open data (the bureau, departments, the centre)")
    departments_open: int
    department_coverage: float
    by_department: dict[str, DepartmentOpenData] = Field(description="by department code, in the org's order")
    mean_quality_score: float
    downloads: int
    as_of: str


class EnterpriseApproval(BaseModel):
    """An enterprise account's approved application for a 有条件开放 dataset, and its use."""

    model_config = ConfigDict(frozen=True)

    application_id: int
    enterprise: str = Field(description="the account's display name")
    dataset_code: str
    dataset_title: str
    provider_department_code: str
    downloads_30d: int = Field(description="the account's downloads of the dataset in the last 30 days")
