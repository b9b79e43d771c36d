"""城市智脑's rules: the 20 indicators (live values, monthly snapshots, status, drill-down) and the
registries behind them. Signs, diagnosis, evaluation and reports live in their own modules and are
re-exported here as the domain's public surface."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.brain import indicators as ind
from yiwang.brain import models as m
from yiwang.brain import registries
from yiwang.brain.measures import COMPUTED
from yiwang.brain.schemas import DrillDown, HistoryPoint, ImportReport, IndicatorRead
from yiwang.brain.sources import SourceUnavailable
from yiwang.core import audit
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.security import Principal
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.org import service as org_service

SNAPSHOT_FRESH = timedelta(minutes=15)


def month_start(day: date) -> date:
    return day.replace(day=1)


def current_period() -> date:
    return month_start(utcnow().astimezone(SHANGHAI).date())


def parse_period(text: str | None) -> date:
    """'YYYY-MM' → the month's first day; None → this month."""
    if not text:
        return current_period()
    try:
        year, month = (int(p) for p in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise ValidationFailed("月份格式应为 YYYY-MM") from None


def previous_period(period: date) -> date:
    return (period - timedelta(days=1)).replace(day=1)


def scope_codes(db: Session, principal: Principal) -> set[str] | None:
    """Department codes the caller may see records of; None means every department."""
    if principal.has(SCOPE_ALL_DEPARTMENTS):
        return None
    return {
        d.code
        for d in org_service.list_departments(db, include_inactive=True)
        if d.id in principal.scope_department_ids
    }


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Measured:
    value: float | None
    numerator: float | None
    denominator: float | None
    note: str
    records: list[dict[str, Any]] | None
    columns: list[tuple[str, str]]
    reason: str = ""  # why there is no value


def measure(db: Session, *, no: int, records: bool = False) -> Measured:
    """One indicator's current value (and, when asked, the records behind it)."""
    definition = ind.definition(no)
    if definition.source == "registry":
        r = registries.measure(db, no)
        return Measured(r.value, r.numerator, r.denominator, "", r.records, r.columns, r.reason)
    try:
        c = COMPUTED[no](db, records=records)
    except SourceUnavailable as exc:
        return Measured(None, None, None, "", [] if records else None, [], exc.reason)
    return Measured(
        c.value, c.numerator, c.denominator, c.note, c.records, c.columns, "" if c.value is not None else c.note
    )


def _history(db: Session, *, before: date | None = None) -> dict[int, list[tuple[date, float]]]:
    query = select(m.IndicatorSnapshot.indicator_no, m.IndicatorSnapshot.period, m.IndicatorSnapshot.value)
    if before is not None:
        query = query.where(m.IndicatorSnapshot.period < before)
    found: dict[int, list[tuple[date, float]]] = {}
    for no, period, value in db.execute(query.order_by(m.IndicatorSnapshot.period)):
        if value is not None:
            found.setdefault(no, []).append((period, value))
    return found


def _read(
    definition: ind.IndicatorDef,
    measured: Measured,
    history: list[tuple[date, float]],
    period: date,
    as_of: date,
    computed_at: datetime | None,
) -> IndicatorRead:
    status, reason = ind.assess(
        value=measured.value, target=definition.target, history=[*history, (period, measured.value)], as_of=as_of
    )
    if status == ind.NO_DATA and measured.reason:
        reason = measured.reason
    return IndicatorRead(
        no=definition.no,
        group=definition.group,
        indicator=definition.name,
        value=measured.value,
        target=definition.target,
        unit=definition.unit,
        kind=definition.kind,
        status=status,
        status_name=ind.STATUS_NAMES[status],
        status_reason=reason,
        source=definition.source,
        method=definition.method,
        numerator=measured.numerator,
        denominator=measured.denominator,
        note=measured.note,
        period=period.strftime("%Y-%m"),
        computed_at=computed_at,
    )


def compute_indicators(db: Session, *, period: date | None = None) -> list[IndicatorRead]:
    """All 20 indicators computed now from the records and registries (nothing is stored)."""
    period = period or current_period()
    history = _history(db, before=period)
    as_of = utcnow().astimezone(SHANGHAI).date()
    now = utcnow()
    return [_read(d, measure(db, no=d.no), history.get(d.no, []), period, as_of, now) for d in ind.definitions()]


def recompute_indicators(db: Session, *, actor: Principal, period: date | None = None) -> list[IndicatorRead]:
    """Compute all 20 and store them as the month's snapshot (the month's latest run wins)."""
    period = period or current_period()
    reads = compute_indicators(db, period=period)
    existing = {
        s.indicator_no: s
        for s in db.execute(select(m.IndicatorSnapshot).where(m.IndicatorSnapshot.period == period)).scalars()
    }
    for read in reads:
        row = existing.get(read.no)
        if row is None:
            row = m.IndicatorSnapshot(indicator_no=read.no, period=period)
            db.add(row)
        row.value, row.numerator, row.denominator = read.value, read.numerator, read.denominator
        row.status, row.source, row.origin = read.status, read.source, "live"
        row.note = read.status_reason if read.value is None else read.note
        row.computed_at = read.computed_at or utcnow()
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="brain.indicators.recompute",
        target_type="brain_period",
        target_id=period.strftime("%Y-%m"),
        details={"values": {r.no: r.value for r in reads}},
    )
    return reads


def list_indicators(db: Session, *, period: date | None = None, live: bool = False) -> list[IndicatorRead]:
    """The month's indicators: the stored snapshot when it is fresh (or the month is past), else live."""
    period = period or current_period()
    rows = {
        s.indicator_no: s
        for s in db.execute(select(m.IndicatorSnapshot).where(m.IndicatorSnapshot.period == period)).scalars()
    }
    is_current = period == current_period()
    complete = len(rows) == len(ind.definitions())
    fresh = complete and all(utcnow() - s.computed_at < SNAPSHOT_FRESH for s in rows.values())
    if live or (is_current and not fresh):
        return compute_indicators(db, period=period)
    if not rows:
        raise NotFound(f"{period:%Y-%m} 没有指标快照")
    history = _history(db, before=period)
    as_of = utcnow().astimezone(SHANGHAI).date() if is_current else period
    reads = []
    for d in ind.definitions():
        snap = rows.get(d.no)
        if snap is None:
            measured = Measured(None, None, None, "", None, [], "该月没有快照")
            reads.append(_read(d, measured, history.get(d.no, []), period, as_of, None))
            continue
        measured = Measured(snap.value, snap.numerator, snap.denominator, snap.note, None, [], snap.note)
        reads.append(_read(d, measured, history.get(d.no, []), period, as_of, snap.computed_at))
    return reads


def indicator_history(db: Session, *, no: int) -> list[HistoryPoint]:
    ind.definition(no)
    rows = db.execute(
        select(m.IndicatorSnapshot).where(m.IndicatorSnapshot.indicator_no == no).order_by(m.IndicatorSnapshot.period)
    ).scalars()
    return [
        HistoryPoint(period=r.period.strftime("%Y-%m"), value=r.value, status=r.status, origin=r.origin) for r in rows
    ]


def drill_down(db: Session, *, principal: Principal, no: int) -> DrillDown:
    """The records behind an indicator's current figure; rows of departments outside the caller's scope are hidden."""
    try:
        definition = ind.definition(no)
    except KeyError:
        raise NotFound("没有这个指标") from None
    measured = measure(db, no=no, records=True)
    records = measured.records or []
    allowed = scope_codes(db, principal)
    visible = [r for r in records if allowed is None or r.get("department_code") in allowed]
    return DrillDown(
        no=no,
        indicator=definition.name,
        value=measured.value,
        columns=measured.columns,
        records=sorted(visible, key=lambda r: (r.get("counted", False), str(r.get("code")))),
        counted=sum(r.get("weight", 1) for r in records if r.get("counted")),
        total=sum(r.get("weight", 1) for r in records),
        hidden_by_scope=len(records) - len(visible),
        reason=measured.reason,
    )


# --- registries (public surface for pages, API and demo) ------------------------------------------


def list_registry(db: Session, *, principal: Principal, key: str) -> list[dict[str, Any]]:
    return registries.list_rows(db, key=key)


def save_registry_row(db: Session, *, actor: Principal, key: str, data: BaseModel) -> dict[str, Any]:
    return registries.save_row(db, actor=actor, key=key, data=data)


def delete_registry_row(db: Session, *, actor: Principal, key: str, code: str) -> None:
    registries.delete_row(db, actor=actor, key=key, code=code)


def import_registry(db: Session, *, actor: Principal, key: str, content: bytes, filename: str = "") -> ImportReport:
    return registries.import_xlsx(db, actor=actor, key=key, content=content, filename=filename)


def export_registry(db: Session, *, key: str) -> bytes:
    return registries.export_xlsx(db, key=key)


# --- signs, diagnosis, evaluation, cockpit (public surface) ---------------------------------------


def city_signs(db: Session, *, principal: Principal, live: bool = False) -> dict[str, Any]:
    from yiwang.brain import signs

    return signs.all_signs(db, allowed=scope_codes(db, principal), live=live)


def city_map(db: Session, *, principal: Principal, live: bool = False) -> dict[str, Any]:
    from yiwang.brain import signs

    return signs.map_data(db, allowed=scope_codes(db, principal), live=live)


def city_trends(db: Session, *, days: int = 30) -> dict[str, Any]:
    from yiwang.brain import signs

    return signs.trends(db, days=days)


def warnings(db: Session, *, principal: Principal, limit: int = 50) -> list[dict[str, Any]]:
    from yiwang.brain import diagnosis

    return diagnosis.list_warnings(db, allowed=scope_codes(db, principal), limit=limit)


def warning_detail(db: Session, *, principal: Principal, warning_id: int) -> dict[str, Any]:
    from yiwang.brain import diagnosis

    return diagnosis.warning_detail(db, warning_id=warning_id, allowed=scope_codes(db, principal))


def forecasts(db: Session, *, principal: Principal, kind: str, backtest: bool = False) -> list[dict[str, Any]]:
    from yiwang.brain import diagnosis

    return diagnosis.forecasts(db, kind=kind, allowed=scope_codes(db, principal), backtest=backtest)


def forecast_series(db: Session, *, key: str) -> dict[str, Any]:
    from yiwang.brain import diagnosis

    return diagnosis.forecast_series(db, key=key)


def ranking(db: Session, *, principal: Principal, kind: str, period: date | None = None) -> dict[str, Any]:
    from yiwang.brain import evaluation

    return evaluation.ranking(db, kind=kind, period=period or current_period(), allowed=scope_codes(db, principal))


def run_diagnosis(db: Session, *, actor: Principal) -> dict[str, Any]:
    """Copy the latest signs into brain's series, then look for anomalies."""
    from yiwang.brain import diagnosis, signs

    rolled = signs.rollup(db)
    found = diagnosis.detect_warnings(db)
    signs.store_snapshot(db)
    audit.record(db, actor=actor, action="brain.diagnosis.run", target_type="brain", details={"rollup": rolled} | found)
    return {"rollup": rolled, "warnings": found}


def recompute_evaluation(db: Session, *, actor: Principal, period: date | None = None) -> int:
    from yiwang.brain import evaluation

    period = period or current_period()
    count = evaluation.store(db, period=period)
    audit.record(
        db,
        actor=actor,
        action="brain.evaluation.recompute",
        target_type="brain_period",
        target_id=period.strftime("%Y-%m"),
        details={"scopes": count},
    )
    return count


def cockpit(db: Session, *, principal: Principal) -> dict[str, Any]:
    """Everything the cockpit shows on its first render, in one call."""
    from yiwang.brain import diagnosis, evaluation, signs

    allowed = scope_codes(db, principal)
    period = current_period()
    return {
        "indicators": [i.model_dump(mode="json") for i in list_indicators(db, period=period)],
        "signs": signs.all_signs(db, allowed=allowed),
        "map": signs.map_data(db, allowed=allowed),
        "trends": signs.trends(db, days=30),
        "warnings": diagnosis.list_warnings(db, allowed=allowed, limit=30),
        "ranking": evaluation.ranking(db, kind="division", period=period, allowed=allowed),
        "departments": evaluation.ranking(db, kind="department", period=period, allowed=allowed),
        "at": utcnow().isoformat(),
    }
