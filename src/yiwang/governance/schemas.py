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
    checksum_algorithm: str  # SHA-256 or SM3
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


# ---- the read model other domains use (governance.reads) ---------------------------------------


class GovernanceFigures(BaseModel):
    """Plan indicators 4 (mounted resources / published catalog) and 14 (cleaned and de-identified rows)."""

    catalog_entries: int = Field(description="published catalog entries")
    mounted_resources: int = Field(description="published entries with a current data version")
    mount_ratio: float
    deidentified_resources: int = Field(description="mounted resources whose sensitive items all have a masking rule")
    cleaned_deidentified_ratio: float = Field(description="rows_deidentified / rows_held")
    rows_ingested: int = Field(description="rows received by every version ever ingested")
    rows_clean: int = Field(description="rows that passed cleaning in every version ever ingested")
    rows_held: int = Field(description="clean rows in the current versions of the mounted resources")
    rows_deidentified: int = Field(description="of those, rows of resources whose sensitive items all have a rule")


class EntryMounting(BaseModel):
    """A published catalog entry and its current data, if any."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    department_code: str
    update_cycle: str
    version: int | None = Field(description="the current version, None when nothing is mounted")
    rows: int | None
    data_updated_at: datetime | None
    sensitive_in_clear: list[str] = Field(description="labels of sensitive items (level 3–4) with no masking rule")
