"""JSON API of 一网统管 under /api/cityops."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from yiwang.cityops import permissions as p
from yiwang.cityops import service
from yiwang.cityops.schemas import (
    ClassifyRequest,
    ClassifyResult,
    DispatchRuleCreate,
    DispatchRuleRead,
    DispatchRuleUpdate,
    EventAction,
    EventCreate,
    EventRead,
    FigureRow,
    Rating,
    TransitionRead,
)
from yiwang.core.db import DbSession
from yiwang.core.pagination import Page
from yiwang.core.params import IdPath
from yiwang.core.runtime import CipherDep
from yiwang.core.security import CurrentUser, Principal, require

router = APIRouter(prefix="/api/cityops", tags=["一网统管"])


@router.get("/categories")
def categories(db: DbSession, user: CurrentUser) -> list[dict[str, Any]]:
    """Event categories with default department and deadline (hours)."""
    return [
        {
            "code": c.code,
            "group": c.group,
            "name": c.name,
            "department_code": c.department_code,
            "sla_hours": c.sla_hours,
            "severity": c.severity,
        }
        for c in service.list_categories(db)
    ]


@router.post("/classify", response_model=ClassifyResult)
def classify(data: ClassifyRequest, db: DbSession, user: Annotated[Principal, Depends(require(p.REPORT))]) -> Any:
    """Ranked category (and department) suggestions for a complaint text."""
    return service.classify(db, text=data.text)


@router.post("/events", response_model=EventRead, status_code=201)
def create_event(
    data: EventCreate, db: DbSession, cipher: CipherDep, user: Annotated[Principal, Depends(require(p.REPORT))]
) -> Any:
    """Report an event (citizen, hotline operator, grid staff); dispatched at once when the category is clear."""
    event = service.create_event(db, actor=user, data=data, cipher=cipher)
    return service.to_read(db, event, actor=user, cipher=cipher)


@router.get("/events", response_model=Page[EventRead])
def list_events(
    db: DbSession,
    cipher: CipherDep,
    user: CurrentUser,
    status: str | None = None,
    category: str | None = None,
    department: str | None = None,
    source: str | None = None,
    overdue: bool = False,
    needs_dispatcher: bool = False,
    mine: bool = False,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Any:
    """Events the caller may see (own department's, all for the centre, own reports for citizens)."""
    filters = service.EventFilter(
        status=status,
        category_code=category,
        department_code=department,
        source=source,
        overdue=overdue,
        needs_dispatcher=needs_dispatcher,
        mine=mine,
    )
    rows, total = service.list_events(db, actor=user, filters=filters, limit=size, offset=(page - 1) * size)
    items = service.to_reads(db, rows, actor=user, cipher=cipher)
    return Page(items=items, total=total, page=page, size=size)


@router.get("/events/{number}", response_model=EventRead)
def get_event(number: str, db: DbSession, cipher: CipherDep, user: CurrentUser) -> Any:
    return service.to_read(db, service.get_event_row(db, actor=user, number=number), actor=user, cipher=cipher)


@router.get("/events/{number}/transitions", response_model=list[TransitionRead])
def event_transitions(number: str, db: DbSession, user: CurrentUser) -> Any:
    """Every step of the event: who, when, from and to which status."""
    event = service.get_event_row(db, actor=user, number=number)
    return service.transitions(db, event_id=event.id)


@router.post("/events/{number}/actions", response_model=EventRead)
def event_action(number: str, data: EventAction, db: DbSession, cipher: CipherDep, user: CurrentUser) -> Any:
    """A lifecycle action (立案, 派遣, 签收, 退回, 延期, 反馈, 核查, 结案, 督办, 作废, 协办)."""
    event = service.act(db, actor=user, number=number, data=data)
    return service.to_read(db, event, actor=user, cipher=cipher)


@router.post("/events/{number}/rating", response_model=EventRead)
def rate_event(number: str, data: Rating, db: DbSession, cipher: CipherDep, user: CurrentUser) -> Any:
    """The reporter rates the outcome; a rating of 2 or less reopens the event."""
    event = service.rate(db, actor=user, number=number, data=data)
    return service.to_read(db, event, actor=user, cipher=cipher)


@router.get("/figures", response_model=list[FigureRow])
def figures(
    db: DbSession,
    user: Annotated[Principal, Depends(require(p.FIGURES))],
    by: Literal["department", "category"] = "department",
    since: datetime | None = None,
) -> Any:
    """On-time completion rate (indicator 11), satisfaction, sent-back and reopen rates."""
    return service.figures(db, by=by, since=since)


@router.get("/supervision")
def supervision(db: DbSession, cipher: CipherDep, user: Annotated[Principal, Depends(require(p.DISPATCH))]) -> Any:
    """Late events by department, and those about to be late."""
    data = service.supervision(db)
    return {
        "total_late": data["total_late"],
        "late": {k: [e.number for e in v] for k, v in data["late"].items()},
        "soon": [e.number for e in data["soon"]],
    }


@router.get("/map")
def event_map(db: DbSession, user: Annotated[Principal, Depends(require(p.READ))]) -> Any:
    """Event points and per-division counts for the map."""
    return service.map_points(db, actor=user)


Configurer = Annotated[Principal, Depends(require(p.CONFIG))]


@router.get("/dispatch-rules", response_model=list[DispatchRuleRead])
def list_dispatch_rules(
    db: DbSession,
    user: Annotated[Principal, Depends(require(p.READ))],
    division_code: Annotated[str | None, Query(max_length=20)] = None,
    category_code: Annotated[str | None, Query(max_length=10)] = None,
) -> Any:
    """Division dispatch rules with names and the deadline an event gets (the override or the category's)."""
    return service.list_dispatch_rules(db, division_code=division_code, category_code=category_code)


@router.post("/dispatch-rules", response_model=DispatchRuleRead, status_code=201)
def add_dispatch_rule(data: DispatchRuleCreate, db: DbSession, user: Configurer) -> Any:
    """A division-level dispatch override (one per division and category: 409 for a second)."""
    rule = service.add_dispatch_rule(db, actor=user, data=data)
    return service.dispatch_rule_read(db, rule)


@router.patch("/dispatch-rules/{rule_id}", response_model=DispatchRuleRead)
def update_dispatch_rule(rule_id: IdPath, data: DispatchRuleUpdate, db: DbSession, user: Configurer) -> Any:
    """Change a rule's department or deadline hours (null: the category's deadline)."""
    rule = service.update_dispatch_rule(db, actor=user, rule_id=rule_id, data=data)
    return service.dispatch_rule_read(db, rule)


@router.delete("/dispatch-rules/{rule_id}", status_code=204)
def delete_dispatch_rule(rule_id: IdPath, db: DbSession, user: Configurer) -> Response:
    """Remove a rule; the division's events go by the category (or a parent division's rule) again."""
    service.delete_dispatch_rule(db, actor=user, rule_id=rule_id)
    return Response(status_code=204)
