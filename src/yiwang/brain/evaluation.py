"""Evaluation (考核评估): a composite score per department and per division for a month, with the
weights shown, a ranking, and the change from the previous month."""

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.brain import models as m
from yiwang.brain import signs
from yiwang.brain.sources import SourceUnavailable, read, system_actor
from yiwang.cityops import service as cityops_service
from yiwang.cityops.schemas import EventFigures
from yiwang.core.timeutil import utcnow
from yiwang.governance import service as governance_service
from yiwang.onestop import service as onestop_service
from yiwang.opendata import service as opendata_service
from yiwang.org import service as org_service

DEPARTMENT_WEIGHTS = {"on_time": 0.35, "satisfaction": 0.25, "service_time": 0.20, "freshness": 0.20}
DIVISION_WEIGHTS = {"on_time": 0.60, "satisfaction": 0.40}
COMPONENT_NAMES = {
    "on_time": "事件按时办结率",
    "satisfaction": "群众满意率",
    "service_time": "办件时效（1 − 平均用时/承诺时限）",
    "freshness": "数据鲜活度",
}


def _month_bounds(period: date) -> tuple[datetime, datetime]:
    nxt = (period.replace(day=28) + timedelta(days=4)).replace(day=1)
    return signs.local_midnight_utc(period), signs.local_midnight_utc(nxt)


def _score(components: dict[str, float | None], weights: dict[str, float]) -> tuple[float | None, dict[str, Any]]:
    """Weighted mean of the components present (weights re-normalised over them), on 0–100."""
    present = {k: v for k, v in components.items() if v is not None}
    total = sum(weights[k] for k in present)
    detail = {
        k: {
            "name": COMPONENT_NAMES[k],
            "value": None if components.get(k) is None else round(100 * components[k], 1),  # type: ignore[operator]
            "weight": weights[k],
            "weight_used": round(weights[k] / total, 4) if k in present and total else 0.0,
        }
        for k in weights
    }
    if not present:
        return None, detail
    return round(100 * sum(weights[k] * v for k, v in present.items()) / total, 2), detail


def _event_components(figures: list[EventFigures]) -> dict[str, dict[str, float | None]]:
    """On-time and satisfaction shares per group of the month's dispatched events."""
    return {
        f.key: {
            "on_time": f.on_time / f.closed if f.closed else None,
            "satisfaction": f.satisfied / f.rated if f.rated else None,
        }
        for f in figures
    }


def _freshness(db: Session, now: datetime) -> dict[str, float]:
    """Per department: share of its mounted resources updated within their update cycle (opendata's rule)."""
    per: dict[str, list[bool]] = defaultdict(list)
    for e in read("governance", governance_service.catalog_mounting, db):
        if e.version is not None:
            per[e.department_code].append(opendata_service.is_fresh(e.update_cycle, e.data_updated_at, now))
    return {k: sum(v) / len(v) for k, v in per.items()}


def compute(db: Session, *, period: date) -> dict[str, list[dict[str, Any]]]:
    """Scores for a month, ranked; components whose source is missing are left out and said so."""
    start, end = _month_bounds(period)
    departments = {d.id: d for d in org_service.list_departments(db) if d.kind not in ("government",)}
    divisions = {d.code: d for d in org_service.list_divisions(db) if d.level in ("subdistrict", "town")}
    notes: list[str] = []
    try:
        by_dept = _event_components(
            read("cityops", cityops_service.event_figures, db, by="department", since=start, until=end)
        )
        by_div = _event_components(
            read("cityops", cityops_service.event_figures, db, by="division", since=start, until=end)
        )
    except SourceUnavailable as exc:
        by_dept, by_div = {}, {}
        notes.append(exc.reason)
    service_time: dict[str, float] = {}
    try:
        city = read("onestop", onestop_service.indicator_figures, db)
        promised = city.avg_promised_days or None
        for f in read("onestop", onestop_service.department_figures, db, actor=system_actor()):
            if f.completed and promised:
                service_time[f.department_code] = max(0.0, min(1.0, 1 - f.avg_working_days / promised))
    except SourceUnavailable as exc:
        notes.append(exc.reason)
    try:
        fresh = _freshness(db, utcnow())
    except SourceUnavailable as exc:
        fresh = {}
        notes.append(exc.reason)
    results: dict[str, list[dict[str, Any]]] = {"department": [], "division": []}
    for d in departments.values():
        comp = {
            "on_time": by_dept.get(d.code, {}).get("on_time"),
            "satisfaction": by_dept.get(d.code, {}).get("satisfaction"),
            "service_time": service_time.get(d.code),
            "freshness": fresh.get(d.code),
        }
        score, detail = _score(comp, DEPARTMENT_WEIGHTS)
        results["department"].append({"code": d.code, "name": d.short_name, "score": score, "components": detail})
    for code, division in divisions.items():
        comp = {
            "on_time": by_div.get(code, {}).get("on_time"),
            "satisfaction": by_div.get(code, {}).get("satisfaction"),
        }
        score, detail = _score(comp, DIVISION_WEIGHTS)
        results["division"].append({"code": code, "name": division.name, "score": score, "components": detail})
    for kind in results:
        ranked = sorted(results[kind], key=lambda r: (r["score"] is None, -(r["score"] or 0), r["code"]))
        for position, row in enumerate(ranked, start=1):
            row["rank"] = position if row["score"] is not None else None
        results[kind] = ranked
    results["notes"] = [{"note": n} for n in notes]
    return results


def store(db: Session, *, period: date, origin: str = "live") -> int:
    """Compute and store the month's scores (upsert per scope)."""
    results = compute(db, period=period)
    existing = {
        (e.scope_kind, e.scope_code): e
        for e in db.execute(select(m.Evaluation).where(m.Evaluation.period == period)).scalars()
    }
    count = 0
    for kind in ("department", "division"):
        for row in results[kind]:
            record = existing.get((kind, row["code"])) or m.Evaluation(
                period=period, scope_kind=kind, scope_code=row["code"]
            )
            record.scope_name, record.score, record.rank = row["name"], row["score"], row["rank"]
            record.components = json.dumps(row["components"], ensure_ascii=False)
            record.origin, record.computed_at = origin, utcnow()
            db.add(record)
            count += 1
    db.flush()
    return count


def ranking(db: Session, *, kind: str, period: date, allowed: set[str] | None) -> dict[str, Any]:
    """The month's ranking (stored, or computed now), with the change from the previous month."""
    from yiwang.core.errors import ValidationFailed

    if kind not in ("department", "division"):
        raise ValidationFailed("kind 只能是 department 或 division")
    stored = list(
        db.execute(select(m.Evaluation).where(m.Evaluation.period == period, m.Evaluation.scope_kind == kind)).scalars()
    )
    if stored:
        rows = [
            {
                "code": e.scope_code,
                "name": e.scope_name,
                "score": e.score,
                "rank": e.rank,
                "components": json.loads(e.components),
            }
            for e in stored
        ]
        notes: list[str] = []
    else:
        computed = compute(db, period=period)
        rows = computed[kind]
        notes = [n["note"] for n in computed["notes"]]
    previous_period = (period - timedelta(days=1)).replace(day=1)
    previous = {
        e.scope_code: e
        for e in db.execute(
            select(m.Evaluation).where(m.Evaluation.period == previous_period, m.Evaluation.scope_kind == kind)
        ).scalars()
    }
    for row in rows:
        before = previous.get(row["code"])
        row["previous_score"] = before.score if before else None
        row["previous_rank"] = before.rank if before else None
        row["change"] = (
            round(row["score"] - before.score, 2)
            if before and before.score is not None and row["score"] is not None
            else None
        )
    if kind == "department" and allowed is not None:
        rows = [r for r in rows if r["code"] in allowed]
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["code"]))
    weights = DEPARTMENT_WEIGHTS if kind == "department" else DIVISION_WEIGHTS
    return {
        "period": period.strftime("%Y-%m"),
        "kind": kind,
        "weights": [{"key": k, "name": COMPONENT_NAMES[k], "weight": w} for k, w in weights.items()],
        "rows": rows,
        "notes": notes,
    }
