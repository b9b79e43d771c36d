"""Shapes of the open data portal."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from yiwang.core.inputs import StrictInput


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
    approve: bool
    reason: str = Field("", max_length=500)


class KeyLimit(StrictInput):
    per_minute: int = Field(ge=1, le=100000)
