"""Input and output models of 城市智脑."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from yiwang.core.identifiers import IdentifierError, validate_credit_code

Status = Literal["met", "on_track", "at_risk", "no_data"]


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


_CODE = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
_DEPT = Field(min_length=2, max_length=20, pattern=r"^[A-Z0-9_]+$")


class GovSystemIn(StrictInput):
    code: str = _CODE
    name: str = Field(min_length=1, max_length=100)
    department_code: str = _DEPT
    hosting: Literal["gov_cloud", "own_room"]
    network: Literal["extranet", "private"]
    private_network: str = Field("", max_length=60)
    ipv6: bool = False
    note: str = Field("", max_length=300)


class CardScenarioIn(StrictInput):
    code: str = _CODE
    name: str = Field(min_length=1, max_length=100)
    department_code: str = _DEPT
    category: str = Field("", max_length=40)
    status: Literal["live", "pilot", "planned"]
    launched_on: date | None = None
    note: str = Field("", max_length=300)


class EcosystemEnterpriseIn(StrictInput):
    code: str = Field(min_length=18, max_length=18, description="统一社会信用代码")
    name: str = Field(min_length=1, max_length=100)
    department_code: str = Field("DSJ", min_length=2, max_length=20, pattern=r"^[A-Z0-9_]+$")
    field: str = Field("", max_length=60)
    status: Literal["settled", "negotiating", "left"]
    settled_on: date | None = None
    note: str = Field("", max_length=300)

    @field_validator("code")
    @classmethod
    def _credit_code(cls, value: str) -> str:
        try:
            return validate_credit_code(value)
        except IdentifierError as exc:
            raise ValueError(f"统一社会信用代码无效：{exc}") from exc


class UpstreamIntegrationIn(StrictInput):
    code: str = _CODE
    indicator_no: int = Field(ge=17, le=20)
    name: str = Field(min_length=1, max_length=100)
    department_code: str = Field("DSJ", min_length=2, max_length=20, pattern=r"^[A-Z0-9_]+$")
    state: Literal["not_started", "in_progress", "done"]
    done_on: date | None = None
    note: str = Field("", max_length=300)


class IndicatorRead(BaseModel):
    no: int
    group: str
    indicator: str
    value: float | None
    target: float
    unit: str
    kind: str
    status: Status
    status_name: str
    status_reason: str
    source: Literal["computed", "registry"]
    method: str
    numerator: float | None = None
    denominator: float | None = None
    note: str = ""
    period: str
    computed_at: datetime | None = None


class HistoryPoint(BaseModel):
    period: str
    value: float | None
    status: str
    origin: str


class DrillDown(BaseModel):
    """The records behind a figure; `counted` and `total` add up each record's "weight" (1 unless the
    figure counts something inside the records, such as the data rows of a resource)."""

    no: int
    indicator: str
    value: float | None
    columns: list[tuple[str, str]]
    records: list[dict[str, Any]]
    counted: int
    total: int
    hidden_by_scope: int = 0
    reason: str = ""


class ImportReport(BaseModel):
    id: int
    registry: str
    rows_total: int
    rows_saved: int
    rows_rejected: int
    rejects: list[dict[str, Any]]


class RecomputeRequest(StrictInput):
    period: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="月份 YYYY-MM，默认本月")
