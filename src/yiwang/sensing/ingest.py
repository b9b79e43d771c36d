"""Observation ingest shared by STA HTTP, dataArray, device-token HTTP and MQTT.

Validation is per row (unknown datastream, wrong type, out of range, far-future time); refused rows
are kept in sensing_reject with their reason and counted on the device. Accepted rows go in with one
`executemany` that ignores a repeat of (datastream, phenomenon time), so re-sends are idempotent.
"""

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yiwang.core.timeutil import utcnow
from yiwang.sensing import models as m

FUTURE_TOLERANCE = timedelta(minutes=10)
MEASUREMENT = "OM_Measurement"
COUNT = "OM_CountObservation"
TRUTH = "OM_TruthObservation"
CATEGORY = "OM_CategoryObservation"


class Incoming(NamedTuple):
    datastream_id: Any
    phenomenon_time: datetime
    result: Any
    result_time: datetime | None = None
    result_quality: Any = None
    parameters: Any = None
    feature_of_interest_id: int | None = None


@dataclass
class Outcome:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    rejected_index: list[int] = field(default_factory=list)
    first_id: int | None = None  # SQLite: ids of accepted rows run from here, in order, when none was a repeat


@dataclass(frozen=True)
class StreamInfo:
    thing_id: int
    kind: str  # measurement | count | truth | any
    min_valid: float | None
    max_valid: float | None


def _kind(observation_type: str) -> str:
    if observation_type.endswith(MEASUREMENT):
        return "measurement"
    if observation_type.endswith(COUNT):
        return "count"
    if observation_type.endswith(TRUTH):
        return "truth"
    if observation_type.endswith(CATEGORY):
        return "category"
    return "any"


def stream_info(db: Session, ids: set[int]) -> dict[int, StreamInfo]:
    rows = db.execute(
        select(
            m.Datastream.id,
            m.Datastream.thing_id,
            m.Datastream.observation_type,
            m.Datastream.min_valid,
            m.Datastream.max_valid,
        ).where(m.Datastream.id.in_(ids))
    ).all()
    return {r.id: StreamInfo(r.thing_id, _kind(r.observation_type), r.min_valid, r.max_valid) for r in rows}


def _check(info: StreamInfo | None, value: Any, when: datetime, now: datetime) -> tuple[str, str] | None:
    if info is None:
        return "unknown_datastream", "数据流不存在"
    if when > now + FUTURE_TOLERANCE:
        return "future_time", f"观测时间在未来：{when.isoformat()}"
    if info.kind in ("measurement", "count"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return "wrong_type", f"结果应为数值，却是 {type(value).__name__}"
        if info.kind == "count" and not float(value).is_integer():
            return "wrong_type", "计数观测的结果应为整数"
        if info.min_valid is not None and value < info.min_valid:
            return "out_of_range", f"{value} 低于有效下限 {info.min_valid}"
        if info.max_valid is not None and value > info.max_valid:
            return "out_of_range", f"{value} 高于有效上限 {info.max_valid}"
    elif info.kind == "truth" and not isinstance(value, bool):
        return "wrong_type", "结果应为布尔值"
    elif info.kind == "category" and not isinstance(value, str):
        return "wrong_type", "结果应为字符串"
    return None


def _db_time(value: datetime, sqlite: bool) -> Any:
    """The stored form of an aware instant: naive UTC (as UTCDateTime writes it)."""
    naive = (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds") if sqlite else naive


def fast_key(stamp: Any) -> str | None:
    """'2026-01-01T08:00:00Z' → '2026-01-01 08:00:00.000000' without building a datetime; None otherwise."""
    if type(stamp) is str and len(stamp) == 20 and stamp[19] == "Z" and stamp[10] == "T" and stamp[4] == "-":
        return f"{stamp[:10]} {stamp[11:19]}.000000"
    return None


@dataclass
class Extent:
    """What one request did to a datastream: rows stored, first and last instants, the last value."""

    thing_id: int
    rows: int
    first: str
    last: str
    last_value: Any


def store_array(
    db: Session,
    *,
    datastream_id: Any,
    keys: list[str],
    results: list[Any],
    channel: str,
    infos: dict[int, StreamInfo] | None = None,
    extents: dict[int, Extent] | None = None,
) -> tuple[Outcome, list[int]]:
    """The fast path of dataArray: one datastream, UTC instants already in stored form ("YYYY-MM-DD HH:MM:SS.ffffff").

    Returns the outcome and the indexes of refused rows. The stored form sorts like the instant, so the
    future check and the latest value are string comparisons.
    """
    outcome = Outcome(received=len(keys))
    sqlite = db.get_bind().dialect.name == "sqlite"
    ds = datastream_id if type(datastream_id) is int else None
    if infos is None:
        infos = stream_info(db, {ds}) if ds is not None else {}  # type: ignore[arg-type]
    info = infos.get(ds) if ds is not None else None  # type: ignore[arg-type]
    now = utcnow()
    limit_key = (now + FUTURE_TOLERANCE).replace(tzinfo=None).isoformat(" ", "microseconds")
    good: list[tuple[Any, ...]] = []
    bad: list[int] = []
    problems: list[tuple[int, str, str]] = []
    if info is None:
        bad = list(range(len(keys)))
        problems = [(i, "unknown_datastream", "数据流不存在") for i in bad]
    else:
        numeric = info.kind in ("measurement", "count")
        lo = info.min_valid if info.min_valid is not None else -math.inf
        hi = info.max_valid if info.max_valid is not None else math.inf
        for i, (key, value) in enumerate(zip(keys, results, strict=True)):
            kind = type(value)
            if key > limit_key:
                problems.append((i, "future_time", f"观测时间在未来：{key}"))
            elif numeric and kind is not float and kind is not int:
                problems.append((i, "wrong_type", f"结果应为数值，却是 {kind.__name__}"))
            elif numeric and not (lo <= value <= hi):
                problems.append((i, "out_of_range", f"{value} 超出有效范围 [{info.min_valid}, {info.max_valid}]"))
            elif numeric and info.kind == "count" and not float(value).is_integer():
                problems.append((i, "wrong_type", "计数观测的结果应为整数"))
            elif not numeric and _check(info, value, now, now) is not None:
                problems.append((i, "wrong_type", "结果类型与数据流不符"))
            else:
                if numeric:
                    good.append((ds, key, None, value, None, None, None, None))
                else:
                    good.append((ds, key, None, None, json.dumps(value, ensure_ascii=False), None, None, None))
        bad = [p[0] for p in problems]
    if good:
        inserted = insert_rows(db, good, sqlite=sqlite)
        outcome.accepted, outcome.duplicates = inserted, len(good) - inserted
        if sqlite and inserted == len(good):
            # One writer holds the lock (BEGIN IMMEDIATE), so the new rowids are consecutive.
            cursor = db.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            last_id = cursor.execute("SELECT last_insert_rowid()").fetchone()[0]
            cursor.close()
            outcome.first_id = last_id - inserted + 1
        latest = max(good, key=lambda g: g[1])
        extent = Extent(info.thing_id, len(good), min(g[1] for g in good), latest[1], latest[3])  # type: ignore[union-attr]
        if extents is None:
            touch(db, {ds: extent}, now)  # type: ignore[dict-item]
        else:
            merge_extent(extents, ds, extent)  # type: ignore[arg-type]
    if problems:
        outcome.rejected = len(problems)
        outcome.reasons = [f"第 {i + 1} 条：{d}" for i, _r, d in problems[:20]]
        thing_id = info.thing_id if info else None
        db.execute(
            m.Reject.__table__.insert(),
            [
                {
                    "thing_id": thing_id,
                    "datastream_id": ds,
                    "received_at": now,
                    "channel": channel,
                    "reason": r,
                    "detail": d[:500],
                    "payload": json.dumps(results[i], default=str)[:2000],
                }
                for i, r, d in problems
            ],
        )
        if thing_id is not None:
            db.execute(
                update(m.Thing)
                .where(m.Thing.id == thing_id)
                .values(rejects_total=m.Thing.rejects_total + len(problems))
            )
    return outcome, bad


def store(
    db: Session,
    *,
    rows: list[Incoming],
    channel: str,
    device_thing_id: int | None = None,
    raw: list[str] | None = None,
) -> Outcome:
    """Validate and insert observations; returns what was accepted, ignored as repeats, or refused."""
    outcome = Outcome(received=len(rows))
    if not rows:
        return outcome
    now = utcnow()
    ids = {r.datastream_id for r in rows if isinstance(r.datastream_id, int) and not isinstance(r.datastream_id, bool)}
    infos = stream_info(db, ids) if ids else {}
    sqlite = db.get_bind().dialect.name == "sqlite"
    good: list[tuple[Any, ...]] = []
    per_thing: Counter[int] = Counter()
    last: dict[int, tuple[datetime, Any]] = {}
    rejects: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        ds = (
            row.datastream_id
            if isinstance(row.datastream_id, int) and not isinstance(row.datastream_id, bool)
            else None
        )
        info = infos.get(ds) if ds is not None else None
        if info is not None and device_thing_id is not None and info.thing_id != device_thing_id:
            info = None  # a device may only write its own datastreams
        problem = _check(info, row.result, row.phenomenon_time, now)
        if problem:
            outcome.rejected += 1
            outcome.rejected_index.append(index)
            if len(outcome.reasons) < 20:
                outcome.reasons.append(f"第 {index + 1} 条：{problem[1]}")
            rejects.append(
                {
                    "thing_id": info.thing_id if info else device_thing_id,
                    "datastream_id": ds,
                    "received_at": now,
                    "channel": channel,
                    "reason": problem[0],
                    "detail": problem[1][:500],
                    "payload": (raw[index] if raw else json.dumps(row.result, default=str))[:2000],
                }
            )
            continue
        assert ds is not None and info is not None
        numeric = isinstance(row.result, int | float) and not isinstance(row.result, bool)
        good.append(
            (
                ds,
                _db_time(row.phenomenon_time, sqlite),
                _db_time(row.result_time, sqlite) if row.result_time else None,
                float(row.result) if numeric else None,
                None if numeric else json.dumps(row.result, ensure_ascii=False),
                row.result_quality if isinstance(row.result_quality, str) else None,
                json.dumps(row.parameters, ensure_ascii=False) if isinstance(row.parameters, dict) else None,
                row.feature_of_interest_id,
            )
        )
        per_thing[info.thing_id] += 1
        previous = last.get(ds)
        if previous is None or row.phenomenon_time >= previous[0]:
            last[ds] = (row.phenomenon_time, row.result if numeric else None)
    if good:
        inserted = insert_rows(db, good, sqlite=sqlite)
        outcome.accepted = inserted
        outcome.duplicates = len(good) - inserted
        _touch(db, per_thing, last, now)
    if rejects:
        db.execute(m.Reject.__table__.insert(), rejects)
        counts: Counter[int] = Counter(r["thing_id"] for r in rejects if r["thing_id"] is not None)
        for thing_id, n in counts.items():
            db.execute(update(m.Thing).where(m.Thing.id == thing_id).values(rejects_total=m.Thing.rejects_total + n))
    return outcome


INSERT_COLUMNS = (
    "datastream_id, phenomenon_time, result_time, result, result_json, result_quality, parameters, "
    "feature_of_interest_id"
)


def insert_rows(db: Session, rows: list[tuple[Any, ...]], *, sqlite: bool) -> int:
    """One executemany; a repeated (datastream, phenomenon time) is ignored. Returns rows inserted."""
    connection = db.connection()
    if sqlite:
        sql = f"INSERT OR IGNORE INTO sensing_observation ({INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608  (constant SQL; values are bound)
    else:
        sql = (
            f"INSERT INTO sensing_observation ({INSERT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "  # noqa: S608  (constant SQL; values are bound)
            "ON CONFLICT (datastream_id, phenomenon_time) DO NOTHING"
        )
    raw = connection.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.executemany(sql, rows)
        count = cursor.rowcount
    finally:
        cursor.close()
    return count if count is not None and count >= 0 else len(rows)


def merge_extent(extents: dict[int, Extent], ds: int, extent: Extent) -> None:
    seen = extents.get(ds)
    if seen is None:
        extents[ds] = extent
        return
    seen.rows += extent.rows
    seen.first = min(seen.first, extent.first)
    if extent.last >= seen.last:
        seen.last, seen.last_value = extent.last, extent.last_value


def touch(db: Session, extents: dict[int, Extent], now: datetime) -> None:
    """Device health and datastream extent for a request's extents: two executemany UPDATEs."""
    sqlite = db.get_bind().dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"

    def stored(key: str) -> Any:
        return key if sqlite else datetime.fromisoformat(key)

    per_thing: Counter[int] = Counter()
    stream_rows = []
    for ds, e in extents.items():
        per_thing[e.thing_id] += e.rows
        numeric = isinstance(e.last_value, int | float) and not isinstance(e.last_value, bool)
        last, first = stored(e.last), stored(e.first)
        stream_rows.append((last, float(e.last_value) if numeric else None, last, last, first, first, ds))
    now_value = _db_time(now, sqlite)
    thing_rows = [(now_value, n, thing_id) for thing_id, n in per_thing.items()]
    cursor = db.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            "UPDATE sensing_datastream SET "  # noqa: S608  (constant SQL; values are bound)
            f"last_value = CASE WHEN phenomenon_time_end IS NULL OR phenomenon_time_end <= {mark} "
            f"THEN COALESCE({mark}, last_value) ELSE last_value END, "
            f"phenomenon_time_end = CASE WHEN phenomenon_time_end IS NULL OR phenomenon_time_end <= {mark} "
            f"THEN {mark} ELSE phenomenon_time_end END, "
            f"phenomenon_time_start = CASE WHEN phenomenon_time_start IS NULL OR phenomenon_time_start > {mark} "
            f"THEN {mark} ELSE phenomenon_time_start END WHERE id = {mark}",
            stream_rows,
        )
        cursor.executemany(
            f"UPDATE sensing_thing SET last_seen = {mark}, messages_total = messages_total + {mark}, online = TRUE "  # noqa: S608  (constant SQL; values are bound)
            f"WHERE id = {mark}",
            thing_rows,
        )
    finally:
        cursor.close()


def _touch(db: Session, per_thing: Counter[int], last: dict[int, tuple[datetime, Any]], now: datetime) -> None:
    """Device health and datastream extent, a few statements per batch."""
    for thing_id, n in per_thing.items():
        db.execute(
            update(m.Thing)
            .where(m.Thing.id == thing_id)
            .values(last_seen=now, messages_total=m.Thing.messages_total + n, online=True)
        )
    grouped: dict[int, tuple[datetime, Any]] = defaultdict(lambda: (datetime.min, None))
    grouped.update(last)
    for ds, (when, value) in grouped.items():
        stream = db.get(m.Datastream, ds)
        if stream is None:
            continue
        if stream.phenomenon_time_end is None or when >= stream.phenomenon_time_end:
            stream.phenomenon_time_end = when
            if value is not None:
                stream.last_value = float(value)
        if stream.phenomenon_time_start is None or when < stream.phenomenon_time_start:
            stream.phenomenon_time_start = when
    db.flush()
