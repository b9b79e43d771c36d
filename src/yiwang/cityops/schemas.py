"""Input and output shapes of 一网统管."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from yiwang.core.inputs import StrictInput

SOURCES = ("citizen", "open311", "hotline", "grid", "sensor", "video")
SOURCE_NAMES = {
    "citizen": "群众上报",
    "open311": "第三方应用上报",
    "hotline": "12345 热线",
    "grid": "网格员",
    "sensor": "物联感知告警",
    "video": "视频智能识别",
}


class EventCreate(StrictInput):
    description: str = Field(min_length=4, max_length=4000)
    title: str | None = Field(None, max_length=200)
    category_code: str | None = Field(None, max_length=10)
    source: Literal["citizen", "open311", "hotline", "grid", "sensor", "video"] = "citizen"
    division_code: str | None = Field(None, max_length=20)
    lon: float | None = Field(None, ge=73, le=136)
    lat: float | None = Field(None, ge=3, le=54)
    address: str = Field("", max_length=300)
    photos: list[str] = Field(default_factory=list, max_length=9)
    reporter_name: str | None = Field(None, max_length=50)
    reporter_phone: str | None = Field(None, pattern=r"^1\d{10}$")


class EventAction(StrictInput):
    action: Literal[
        "register",
        "dispatch",
        "sign",
        "send_back",
        "request_extension",
        "approve_extension",
        "reject_extension",
        "reply",
        "verify",
        "verify_fail",
        "close",
        "supervise",
        "void",
        "add_assist",
        "assist_done",
    ]
    note: str | None = Field(None, max_length=1000)
    department_code: str | None = Field(None, max_length=40)
    category_code: str | None = Field(None, max_length=10)
    hours: int | None = Field(None, ge=1, le=720)


class Rating(StrictInput):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=500)


class ClassifyRequest(StrictInput):
    text: str = Field(min_length=1, max_length=4000)


class SuggestionRead(BaseModel):
    category_code: str
    category_name: str
    department_code: str
    score: float


class ClassifyResult(BaseModel):
    suggestions: list[SuggestionRead]
    needs_dispatcher: bool


class TransitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    action: str
    from_status: str | None
    to_status: str
    actor_name: str
    at: datetime
    note: str | None


class EventRead(BaseModel):
    id: int
    number: str
    title: str
    description: str
    category_code: str | None
    category_name: str | None
    source: str
    status: str
    status_name: str
    department_code: str | None
    assisting: list[str]
    division_code: str | None
    lon: float | None
    lat: float | None
    address: str
    photos: list[str]
    reporter: str | None  # masked
    created_at: datetime
    deadline: datetime | None
    overdue: bool
    supervised: bool
    suggested_category: str | None
    suggestion_score: float | None
    needs_dispatcher: bool
    rating: int | None
    sent_back_count: int
    reopen_count: int
    result: str | None


class FigureRow(BaseModel):
    key: str
    name: str
    total: int
    closed: int
    on_time: int
    on_time_rate: float | None
    rated: int
    satisfaction: float | None
    sent_back_rate: float | None
    reopen_rate: float | None
    overdue_open: int


class DispatchRuleCreate(StrictInput):
    division_code: str = Field(min_length=1, max_length=20)
    category_code: str = Field(min_length=1, max_length=10)
    department_code: str = Field(min_length=1, max_length=40)
    sla_hours: int | None = Field(None, ge=1, le=720)  # None: the category's deadline


class DispatchRuleUpdate(StrictInput):
    """Division and category are the rule's key: to move a rule, delete it and add another."""

    department_code: str | None = Field(None, min_length=1, max_length=40)
    sla_hours: int | None = Field(None, ge=1, le=720)  # explicit null: back to the category's deadline


class DispatchRuleRead(BaseModel):
    id: int
    division_code: str
    division_name: str | None  # None when the division no longer exists
    category_code: str
    category_name: str
    department_code: str
    department_name: str | None  # the department's short name
    sla_hours: int | None  # the rule's own override, if any
    effective_sla_hours: int  # what a dispatched event gets: the override or the category's deadline


# ---- the read model other domains use (cityops.reads) ---------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class EventFigures(BaseModel):
    """Counts over dispatched, not voided events of one group ("ALL" is the whole city)."""

    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    total: int
    closed: int
    on_time: int = Field(description="closed before the deadline")
    rated: int
    satisfied: int = Field(description="rated 4 or 5")
    sent_back: int = Field(description="sent back at least once")
    reopened: int = Field(description="reopened at least once")
    overdue_open: int = Field(description="still open past the deadline")

    @property
    def on_time_rate(self) -> float | None:
        """Plan indicator 11: closed on time / closed."""
        return _share(self.on_time, self.closed)

    @property
    def satisfaction(self) -> float | None:
        return _share(self.satisfied, self.rated)

    @property
    def sent_back_rate(self) -> float | None:
        return _share(self.sent_back, self.total)

    @property
    def reopen_rate(self) -> float | None:
        return _share(self.reopened, self.total)


class ClosedEvent(BaseModel):
    """A closed event behind indicator 11."""

    model_config = ConfigDict(frozen=True)

    number: str
    title: str
    department_code: str | None
    on_time: bool


class EventPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: str
    lon: float
    lat: float | None
    status: str
    category: str | None
    title: str


class DivisionEvents(BaseModel):
    """Events of a town or subdistrict (the first nine digits of their division code)."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    lon: float | None
    lat: float | None
    count: int


class EventMap(BaseModel):
    model_config = ConfigDict(frozen=True)

    points: list[EventPoint]
    divisions: list[DivisionEvents]


class CategoryRead(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    code: str
    group: str
    name: str
    department_code: str
    sla_hours: int
    severity: str


class NearbyItem(BaseModel):
    """Something another domain keeps near an event's place (a camera), shown on the event page."""

    model_config = ConfigDict(frozen=True)

    kind: str  # Chinese, e.g. 摄像头
    title: str
    url: str
    distance_m: float
    note: str = ""
