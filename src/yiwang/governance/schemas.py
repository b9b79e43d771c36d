"""Shapes of governance results: versions, comparisons, jobs, quality."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from yiwang.core.inputs import StrictInput
from yiwang.core.params import MAX_ROW_ID


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entry_code: str
    version: int
    checksum: str
    rows_in: int
    rows_out: int
    rows_quarantined: int
    duplicates: int
    source: str
    filename: str
    encoding: str
    report: dict[str, Any]
    note: str
    created_by: str
    created_at: datetime
    current: bool = False


class VersionCompare(BaseModel):
    entry_code: str
    base: int
    other: int
    key: list[str]
    added: int
    removed: int
    changed: int
    unchanged: int
    samples: dict[str, list[str]]


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entry_code: str
    status: str
    progress: int
    stage: str
    message: str
    filename: str
    version_id: int | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None


class PushRows(StrictInput):
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=20000)
    note: str = Field("", max_length=500)


class RollbackRequest(StrictInput):
    version: int = Field(ge=1, le=MAX_ROW_ID)
    reason: str = Field("", max_length=500)


class ResourceStatus(BaseModel):
    entry_code: str
    version: int
    rows: int
    data_updated_at: datetime | None
    quality: float
