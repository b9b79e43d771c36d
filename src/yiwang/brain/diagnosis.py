"""Warnings (anomalies on the city-sign series) and forecasts (AQI per station, water level per
sluice, daily events per category) with prediction intervals and a backtest against seasonal-naive."""

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.brain import analytics, signs
from yiwang.brain import models as m
from yiwang.core.timeutil import SHANGHAI, utcnow

# Per kind: step, period, seasons of history for the baseline, z, counts?, forecast horizon, AR order.
KINDS: dict[str, dict[str, Any]] = {
    "aqi": {
        "step": "hour",
        "period": 24,
        "seasons": 14,
        "z": 4.0,
        "counts": False,
        "horizon": 72,
        "p": 3,
        "min_dev": 15.0,
        "name": "空气质量指数",
    },
    "level": {
        "step": "hour",
        "period": 24,
        "seasons": 14,
        "z": 4.0,
        "counts": False,
        "horizon": 72,
        "p": 3,
        "min_dev": 0.15,
        "name": "水位",
    },
    "events": {
        "step": "day",
        "period": 7,
        "seasons": 8,
        "z": 3.5,
        "counts": True,
        "horizon": 3,
        "p": 1,
        "min_dev": 3.0,
        "name": "日事件量",
    },
}


def _grid_end(step: str, now: datetime) -> datetime:
    """End (exclusive) of the grid: the next hour, or the next local midnight for daily series."""
    if step == "hour":
        return signs.hour_floor(now) + timedelta(hours=1)
    today = now.astimezone(SHANGHAI).date()
    return signs.local_midnight_utc(today + timedelta(days=1))


def _history(db: Session, meta: m.SeriesMeta, *, seasons_extra: int, now: datetime) -> tuple[datetime, np.ndarray]:
    spec = KINDS[meta.kind]
    delta = signs.STEP[spec["step"]]
    end = _grid_end(spec["step"], now)
    size = spec["period"] * (spec["seasons"] + seasons_extra)
    start = end - size * delta
    return start, signs.load_series(db, key=meta.key, start=start, end=end, step=spec["step"])


def _severity(score: float) -> str:
    return "serious" if score >= 8 else "warning" if score >= 5 else "notice"


def detect_warnings(db: Session, *, now: datetime | None = None, lookback: int = 48) -> dict[str, int]:
    """Run the detector over every series and store warnings for the last `lookback` steps (idempotent)."""
    now = now or utcnow()
    found = stored = 0
    existing = {
        (w.series, w.ts)
        for w in db.execute(select(m.SignWarning).where(m.SignWarning.ts >= now - timedelta(days=lookback))).scalars()
    }
    for meta in signs.series_list(db):
        spec = KINDS.get(meta.kind)
        if spec is None:
            continue
        start, values = _history(db, meta, seasons_extra=2, now=now)
        if np.isnan(values).mean() > 0.5:
            continue
        result = analytics.detect(
            values,
            period=spec["period"],
            seasons=spec["seasons"],
            z=spec["z"],
            counts=spec["counts"],
            min_deviation=spec["min_dev"],
            unit=meta.unit,
            non_negative=True,
        )
        delta = signs.STEP[spec["step"]]
        recent_from = len(values) - (lookback if spec["step"] == "hour" else max(2, lookback // 24))
        for d in result.detections:
            if d.index < recent_from:
                continue
            found += 1
            ts = start + d.index * delta
            if (meta.key, ts) in existing:
                continue
            db.add(
                m.SignWarning(
                    series=meta.key,
                    label=meta.label,
                    kind=meta.kind,
                    department_code=meta.department_code,
                    division_code=meta.division_code,
                    ts=ts,
                    value=d.value,
                    expected=d.expected,
                    low=d.low,
                    high=d.high,
                    score=d.score,
                    severity=_severity(d.score),
                    reason=d.reason,
                    state="open",
                    created_at=utcnow(),
                )
            )
            existing.add((meta.key, ts))
            stored += 1
    db.flush()
    return {"found": found, "stored": stored}


def list_warnings(
    db: Session, *, allowed: set[str] | None, limit: int = 50, state: str | None = None
) -> list[dict[str, Any]]:
    query = select(m.SignWarning).order_by(m.SignWarning.ts.desc(), m.SignWarning.id.desc()).limit(limit)
    if state:
        query = query.where(m.SignWarning.state == state)
    if allowed is not None:
        query = query.where(m.SignWarning.department_code.in_(allowed))
    return [
        {
            "id": w.id,
            "series": w.series,
            "label": w.label,
            "kind": w.kind,
            "department_code": w.department_code,
            "ts": w.ts,
            "value": round(w.value, 2),
            "expected": round(w.expected, 2),
            "low": round(w.low, 2),
            "high": round(w.high, 2),
            "score": w.score,
            "severity": w.severity,
            "reason": w.reason,
            "state": w.state,
        }
        for w in db.execute(query).scalars()
    ]


def warning_detail(db: Session, *, warning_id: int, allowed: set[str] | None) -> dict[str, Any]:
    """A warning with the series around it and its expected band (for the chart)."""
    from yiwang.core.errors import NotFound

    w = db.get(m.SignWarning, warning_id)
    if w is None or (allowed is not None and w.department_code not in allowed):
        raise NotFound("预警不存在")
    meta = db.get(m.SeriesMeta, w.series)
    spec = KINDS[w.kind]
    delta = signs.STEP[spec["step"]]
    span = 72 if spec["step"] == "hour" else 28
    start, end = w.ts - span * delta, w.ts + (span // 3) * delta
    values = signs.load_series(db, key=w.series, start=start, end=end, step=spec["step"])
    return {
        "warning": {
            "id": w.id,
            "label": w.label,
            "ts": w.ts,
            "value": w.value,
            "expected": w.expected,
            "low": w.low,
            "high": w.high,
            "reason": w.reason,
            "severity": w.severity,
        },
        "unit": meta.unit if meta else "",
        "times": [(start + i * delta).isoformat() for i in range(len(values))],
        "values": [None if np.isnan(v) else round(float(v), 2) for v in values],
    }


# --- forecasts -------------------------------------------------------------------------------------


def forecast_series(db: Session, *, key: str, now: datetime | None = None, backtest: bool = True) -> dict[str, Any]:
    """Forecast of one series with 80%/95% intervals, and its backtest against seasonal-naive."""
    from yiwang.core.errors import NotFound

    now = now or utcnow()
    meta = db.get(m.SeriesMeta, key)
    if meta is None or meta.kind not in KINDS:
        raise NotFound("没有这个序列")
    spec = KINDS[meta.kind]
    start, values = _history(db, meta, seasons_extra=8, now=now)
    filled = _fill(values)
    delta = signs.STEP[spec["step"]]
    end = start + len(values) * delta
    out: dict[str, Any] = {"key": key, "label": meta.label, "unit": meta.unit, "kind": meta.kind, "step": spec["step"]}
    if filled is None:
        out["reason"] = "历史数据不足，无法预测"
        return out
    result = analytics.forecast(
        filled, period=spec["period"], horizon=spec["horizon"], seasons=spec["seasons"], p=spec["p"]
    )
    naive = analytics.seasonal_naive(filled, period=spec["period"], horizon=spec["horizon"])
    tail = spec["period"] * 2
    out |= {
        "method": result.method,
        "history_times": [(end - (tail - i) * delta).isoformat() for i in range(tail)],
        "history": [None if np.isnan(v) else round(float(v), 2) for v in values[-tail:]],
        "times": [(end + i * delta).isoformat() for i in range(spec["horizon"])],
        "mean": np.round(result.mean, 2).tolist(),
        "lo80": np.round(result.lo80, 2).tolist(),
        "hi80": np.round(result.hi80, 2).tolist(),
        "lo95": np.round(result.lo95, 2).tolist(),
        "hi95": np.round(result.hi95, 2).tolist(),
        "seasonal_naive": np.round(naive, 2).tolist(),
    }
    if backtest:
        step = spec["period"] if spec["step"] == "hour" else 1
        feasible = (len(filled) - spec["horizon"] - (spec["seasons"] + 1) * spec["period"]) // step + 1
        origins = min(14 if spec["step"] == "hour" else 28, feasible)
        out["backtest"] = (
            analytics.backtest(
                filled,
                period=spec["period"],
                horizon=spec["horizon"],
                origins=origins,
                step=step,
                seasons=spec["seasons"],
                p=spec["p"],
            )
            if origins >= 3
            else None
        )
    return out


def _fill(values: np.ndarray) -> np.ndarray | None:
    """Fill short gaps by carrying the same phase's last value; None when over a third is missing."""
    if len(values) == 0 or np.isnan(values).mean() > 1 / 3:
        return None
    filled = values.copy()
    idx = np.flatnonzero(~np.isnan(filled))
    if len(idx) == 0:
        return None
    gaps = np.isnan(filled)
    filled[gaps] = np.interp(np.flatnonzero(gaps), idx, filled[idx])
    return filled


def forecasts(db: Session, *, kind: str, allowed: set[str] | None, backtest: bool = False) -> list[dict[str, Any]]:
    """Forecasts for every series of a kind (aqi | level | events)."""
    from yiwang.core.errors import ValidationFailed

    if kind not in KINDS:
        raise ValidationFailed("kind 只能是 aqi、level 或 events")
    now = utcnow()
    return [
        forecast_series(db, key=meta.key, now=now, backtest=backtest)
        for meta in signs.series_list(db, kind=kind)
        if allowed is None or meta.department_code in allowed or meta.kind == "events"
    ]
