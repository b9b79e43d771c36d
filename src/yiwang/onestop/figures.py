"""Figures: per department for staff, and the plan's indicators 6–9 for the city brain."""

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.security import Principal
from yiwang.onestop import clock
from yiwang.onestop.models import (
    Application,
    Bundle,
    ItemMaterial,
    Rating,
    ServiceItem,
    Task,
)
from yiwang.onestop.reads import waived_material_item_count
from yiwang.onestop.schemas import (
    DepartmentFigures,
    IndicatorFigures,
    ItemTime,
)


def department_figures(db: Session, *, actor: Principal) -> list[DepartmentFigures]:
    """Per department in the caller's scope: pending, overdue, completed, refused, average working days."""
    stmt = select(
        Task.department_code, Task.stage, Task.decision, Task.due_date, Task.used_working_days, Task.department_id
    )
    if not actor.has(SCOPE_ALL_DEPARTMENTS):
        stmt = stmt.where(Task.department_id.in_(actor.scope_department_ids or {-1}))
    figures: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"pending": 0, "overdue": 0, "completed": 0, "refused": 0, "days": []}
    )
    on = clock.today()
    for code, stage, decision, due, used, _ in db.execute(stmt):
        f = figures[code]
        if stage == "done":
            f["completed"] += 1
            f["days"].append(used or 0)
            f["refused"] += decision == "refused"
        else:
            f["pending"] += 1
            f["overdue"] += stage != "supplement" and due < on
    return [
        DepartmentFigures(
            department_code=code,
            pending=f["pending"],
            overdue=f["overdue"],
            completed=f["completed"],
            refused=f["refused"],
            avg_working_days=round(sum(f["days"]) / len(f["days"]), 1) if f["days"] else 0.0,
        )
        for code, f in sorted(figures.items())
    ]


def applications_since(db: Session, *, since: datetime) -> int:
    """How many applications were submitted at or after `since` (the city signs count today's)."""
    return db.execute(select(func.count(Application.id)).where(Application.submitted_at >= since)).scalar_one()


def indicator_figures(db: Session) -> IndicatorFigures:
    """Indicators 6–9 of the plan and time against promise, computed from the platform's own records."""
    active = db.execute(select(func.count(ServiceItem.id)).where(ServiceItem.active.is_(True))).scalar_one()
    online = db.execute(
        select(func.count(ServiceItem.id)).where(ServiceItem.active.is_(True), ServiceItem.online.is_(True))
    ).scalar_one()
    bundles = db.execute(select(func.count(Bundle.id)).where(Bundle.active.is_(True))).scalar_one()
    exempt = db.execute(
        select(func.count(func.distinct(ItemMaterial.item_id)))
        .join(ServiceItem, ServiceItem.id == ItemMaterial.item_id)
        .where(ServiceItem.active.is_(True), ItemMaterial.source.in_(["certificate", "database"]))
    ).scalar_one()
    entry_items = db.execute(
        select(func.count(ServiceItem.id)).where(ServiceItem.active.is_(True), ServiceItem.entry_point.is_(True))
    ).scalar_one()
    entry_bundles = db.execute(
        select(func.count(Bundle.id)).where(Bundle.active.is_(True), Bundle.entry_point.is_(True))
    ).scalar_one()
    applications = db.execute(select(func.count(Application.id))).scalar_one()
    completed = db.execute(select(func.count(Application.id)).where(Application.status == "completed")).scalar_one()
    overdue = db.execute(
        select(func.count(Task.id)).where(
            Task.stage.in_(["received", "review", "decision", "decided"]), Task.due_date < clock.today()
        )
    ).scalar_one()
    per_item: dict[str, list[int]] = defaultdict(list)
    promised_all, used_all = [], []
    for codes, used, promised in db.execute(
        select(Task.item_codes, Task.used_working_days, Task.promised_days).where(Task.stage == "done")
    ):
        used_all.append(used or 0)
        promised_all.append(promised)
        for code in json.loads(codes):
            per_item[code].append(used or 0)
    items = (
        {i.code: i for i in db.execute(select(ServiceItem).where(ServiceItem.code.in_(list(per_item)))).scalars()}
        if per_item
        else {}
    )
    ratings = db.execute(select(Rating.score)).scalars().all()
    return IndicatorFigures(
        active_items=active,
        online_items=online,
        online_rate=round(100.0 * online / active, 1) if active else 0.0,
        bundle_count=bundles,
        exempt_material_items=exempt,
        waived_material_items=waived_material_item_count(db),
        entry_point_services=entry_items + entry_bundles,
        applications=applications,
        completed=completed,
        overdue_tasks=overdue,
        avg_working_days=round(sum(used_all) / len(used_all), 2) if used_all else 0.0,
        avg_promised_days=round(sum(promised_all) / len(promised_all), 2) if promised_all else 0.0,
        satisfaction=round(100.0 * sum(1 for s in ratings if s >= 4) / len(ratings), 1) if ratings else None,
        per_item=sorted(
            (
                ItemTime(
                    item_code=code,
                    item_name=items[code].name,
                    completed=len(days),
                    avg_working_days=round(sum(days) / len(days), 2),
                    promised_days=items[code].promised_days,
                )
                for code, days in per_item.items()
                if code in items
            ),
            key=lambda x: x.item_code,
        ),
    )
