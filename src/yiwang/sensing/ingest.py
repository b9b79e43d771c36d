"""Observation ingest shared by STA HTTP, dataArray, device-token HTTP and MQTT.

Two ways in. `store_blocks` takes blocks of one datastream each whose instants are already in stored
form (dataArray and MQTT): a block is checked column-wise with builtins that run in C (max, min, sum,
the set of result types) and looked at row by row only when that check fails; its rows go in through
`bulk.py` (SQLite `executemany` binding only the columns that carry values; PostgreSQL COPY).
`store` takes general rows (single POST, device ingest, rows with resultTime or a FeatureOfInterest).

Both refuse rows per row (unknown datastream, wrong type, out of range, far-future time), keep refused
rows in sensing_reject with their reason and count them on the device; both ignore a repeat of
(datastream, phenomenon time), so re-sends are idempotent; both give an observation without a
FeatureOfInterest the one generated from its Thing's Location (`features.py`).
"""

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yiwang.core.timeutil import utcnow
from yiwang.sensing import bulk, features
from yiwang.sensing import models as m
from yiwang.sensing.bulk import Accepted

FUTURE_TOLERANCE = timedelta(minutes=10)
MEASUREMENT = "OM_Measurement"
COUNT = "OM_CountObservation"
TRUTH = "OM_TruthObservation"
CATEGORY = "OM_CategoryObservation"
NUMERIC = bulk.NUMERIC


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

    def add(self, other: "Outcome") -> None:
        self.received += other.received
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.reasons += other.reasons[: max(0, 20 - len(self.reasons))]


@dataclass(frozen=True)
class StreamInfo:
    thing_id: int
    kind: str  # measurement | count | truth | category | any
    min_valid: float | None
    max_valid: float | None
    feature_id: int | None = None  # generated from the Thing's current Location; None without one


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
    """The datastreams' rules and current FeatureOfInterest: one query per batch (plus one insert per new Location)."""
    if not ids:
        return {}
    ds = m.Datastream
    stmt = select(ds.id, ds.thing_id, ds.observation_type, ds.min_valid, ds.max_valid).where(ds.id.in_(ids))
    rows = db.execute(features.with_location_feature(stmt)).all()
    missing = {r.location_id for r in rows if r.location_id is not None and r.feature_of_interest_id is None}
    made = features.generate(db, missing) if missing else {}
    return {
        r.id: StreamInfo(
            r.thing_id,
            _kind(r.observation_type),
            r.min_valid,
            r.max_valid,
            r.feature_of_interest_id or made.get(r.location_id),
        )
        for r in rows
    }


def _value_problem(info: StreamInfo, value: Any) -> tuple[str, str] | None:
    kind = info.kind
    if kind in ("measurement", "count"):
        if type(value) not in NUMERIC:
            return "wrong_type", f"结果应为数值，却是 {type(value).__name__}"
        try:
            number = float(value)
        except OverflowError:
            return "out_of_range", "数值超出可表示的范围"
        if not math.isfinite(number):
            return "wrong_type", "结果应为有限数值"
        if kind == "count" and not number.is_integer():
            return "wrong_type", "计数观测的结果应为整数"
        if info.min_valid is not None and value < info.min_valid:
            return "out_of_range", f"{value} 低于有效下限 {info.min_valid}"
        if info.max_valid is not None and value > info.max_valid:
            return "out_of_range", f"{value} 高于有效上限 {info.max_valid}"
    elif kind == "truth" and type(value) is not bool:
        return "wrong_type", "结果应为布尔值"
    elif kind == "category" and not isinstance(value, str):
        return "wrong_type", "结果应为字符串"
    return None


def _check(info: StreamInfo | None, value: Any, when: datetime, now: datetime) -> tuple[str, str] | None:
    if info is None:
        return "unknown_datastream", "数据流不存在"
    if when > now + FUTURE_TOLERANCE:
        return "future_time", f"观测时间在未来：{when.isoformat()}"
    return _value_problem(info, value)


def _db_time(value: datetime, sqlite: bool) -> Any:
    """The stored form of an aware instant: naive UTC (as UTCDateTime writes it)."""
    naive = (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds") if sqlite else naive


def stored_form(value: datetime) -> str:
    """'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: how SQLite stores an instant, and a form that sorts as the instant."""
    return _db_time(value, True)


# Whole seconds in UTC, one per line; the day must exist in its month (29 February goes the general way).
_WHOLE_SECONDS_UTC = re.compile(
    r"(?:\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ\n)*+"  # possessive: no backtracking
)


def fast_keys(stamps: Sequence[Any]) -> list[str] | None:
    """['2026-01-01T08:00:00Z', …] → ['2026-01-01 08:00:00.000000', …] in one pass over the joined text;
    None when any stamp has another form (those rows go the general way, which parses each)."""
    if not stamps:
        return []
    try:
        text = "\n".join(stamps) + "\n"
    except TypeError:
        return None
    if not _WHOLE_SECONDS_UTC.fullmatch(text):
        return None
    keys = text[:-1].replace("T", " ").replace("Z", ".000000").split("\n")
    return keys if len(keys) == len(stamps) else None


# ---- blocks: one datastream, stored-form instants ------------------------------------------------------


class Block(NamedTuple):
    datastream_id: Any  # as sent: only an int can name a datastream
    keys: list[str]  # instants in stored form
    results: list[Any]


@dataclass
class Extent:
    """What one batch did to a datastream: rows stored, first and last instants, the last value."""

    thing_id: int
    rows: int
    first: str
    last: str
    last_value: Any


def store_blocks(
    db: Session,
    blocks: list[Block],
    *,
    channel: str,
    want_ids: bool = True,
) -> tuple[Outcome, list[list[int | None]]]:
    """Validate and insert blocks; returns the outcome and, when asked, each row's observation id (None: refused).

    A re-sent row gets the id of the observation already stored at its (datastream, phenomenon time).
    """
    total = Outcome(received=sum(len(b.keys) for b in blocks))
    now = utcnow()
    limit = stored_form(now + FUTURE_TOLERANCE)
    infos = stream_info(db, {b.datastream_id for b in blocks if type(b.datastream_id) is int})
    accepted: list[Accepted | None] = []
    rejects: list[dict[str, Any]] = []
    for block_no, block in enumerate(blocks):
        info = infos.get(block.datastream_id) if type(block.datastream_id) is int else None
        problems = _problems(info, block, limit)
        refused = {i for i, _r, _d in problems}
        if problems:
            _note_refused(total, rejects, problems, block_no, block, info, channel, now)
        accepted.append(_accept(block, info, refused) if info is not None and len(refused) < len(block.keys) else None)
    stored = [a for a in accepted if a is not None]
    if stored:
        inserted = bulk.insert_accepted(db, stored, want_ids=want_ids)
        total.accepted = inserted
        total.duplicates = sum(len(a.keys) for a in stored) - inserted
        extents: dict[int, Extent] = {}
        for a in stored:
            merge_extent(extents, a.datastream_id, _extent(a))
        touch(db, extents, now)
    if rejects:
        _store_rejects(db, rejects)
    if not want_ids:
        return total, []
    return total, [_row_ids(block, a) for block, a in zip(blocks, accepted, strict=True)]


def _row_ids(block: Block, accepted: Accepted | None) -> list[int | None]:
    if accepted is None:
        return [None] * len(block.keys)
    ids = accepted.ids or ()
    if not accepted.refused:
        return list(ids)
    found = iter(ids)
    return [None if i in accepted.refused else next(found) for i in range(len(block.keys))]


def _problems(info: StreamInfo | None, block: Block, limit: str) -> list[tuple[int, str, str]]:
    """(index, reason, detail) of each refused row; an empty list after the column-wise check passes."""
    keys, results = block.keys, block.results
    if info is None:
        return [(i, "unknown_datastream", "数据流不存在") for i in range(len(keys))]
    if not keys or _columns_pass(info, keys, results, limit):
        return []
    problems = []
    for i, (key, value) in enumerate(zip(keys, results, strict=True)):
        problem = ("future_time", f"观测时间在未来：{key}") if key > limit else _value_problem(info, value)
        if problem:
            problems.append((i, *problem))
    return problems


def _columns_pass(info: StreamInfo, keys: list[str], results: list[Any], limit: str) -> bool:
    """True when every row of the block is fine, decided with a few passes that run in C."""
    if max(keys) > limit:
        return False
    types = set(map(type, results))
    if info.kind == "truth":
        return types == {bool}
    if info.kind == "category":
        return types == {str}
    if info.kind == "any":
        return True
    if not types <= NUMERIC or (info.kind == "count" and types != {int}):
        return False  # bool, str, None…; or a count with floats (1.0 is fine): row by row
    try:
        if not math.isfinite(sum(results)):
            return False
    except OverflowError:
        return False
    if info.min_valid is not None and min(results) < info.min_valid:
        return False
    return info.max_valid is None or max(results) <= info.max_valid


def _accept(block: Block, info: StreamInfo, refused: set[int]) -> Accepted:
    keys, results = block.keys, block.results
    if refused:
        keys = [k for i, k in enumerate(keys) if i not in refused]
        results = [r for i, r in enumerate(results) if i not in refused]
    types = set(map(type, results))
    numeric = types <= NUMERIC
    if numeric and int in types:
        try:
            results = list(map(float, results))
        except OverflowError:  # an integer beyond any float (only a datastream of any type takes it): as JSON
            numeric = False
    return Accepted(block.datastream_id, info.thing_id, info.feature_id, keys, results, numeric, refused)


def _note_refused(
    total: Outcome,
    rejects: list[dict[str, Any]],
    problems: list[tuple[int, str, str]],
    block_no: int,
    block: Block,
    info: StreamInfo | None,
    channel: str,
    now: datetime,
) -> None:
    total.rejected += len(problems)
    for i, _reason, detail in problems[: max(0, 20 - len(total.reasons))]:
        total.reasons.append(f"第 {block_no + 1} 组第 {i + 1} 条：{detail}")
    ds = block.datastream_id if type(block.datastream_id) is int else None
    for i, reason, detail in problems:
        rejects.append(
            {
                "thing_id": info.thing_id if info else None,
                "datastream_id": ds,
                "received_at": now,
                "channel": channel,
                "reason": reason,
                "detail": detail[:500],
                "payload": json.dumps(block.results[i], default=str)[:2000],
            }
        )


def _extent(a: Accepted) -> Extent:
    last = max(range(len(a.keys)), key=a.keys.__getitem__)
    return Extent(a.thing_id, len(a.keys), min(a.keys), a.keys[last], a.results[last])


def _store_rejects(db: Session, rejects: list[dict[str, Any]]) -> None:
    db.execute(m.Reject.__table__.insert(), rejects)
    counts: Counter[int] = Counter(r["thing_id"] for r in rejects if r["thing_id"] is not None)
    for thing_id, n in counts.items():
        db.execute(update(m.Thing).where(m.Thing.id == thing_id).values(rejects_total=m.Thing.rejects_total + n))


# ---- general rows ----------------------------------------------------------------------------------------


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
    ids = {r.datastream_id for r in rows if type(r.datastream_id) is int}
    infos = stream_info(db, ids)
    sqlite = db.get_bind().dialect.name == "sqlite"
    good: list[tuple[Any, ...]] = []
    per_thing: Counter[int] = Counter()
    last: dict[int, tuple[datetime, Any]] = {}
    rejects: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        ds = row.datastream_id if type(row.datastream_id) is int else None
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
        result, result_json = bulk.result_columns(row.result)
        good.append(
            (
                ds,
                _db_time(row.phenomenon_time, sqlite),
                _db_time(row.result_time, sqlite) if row.result_time else None,
                result,
                result_json,
                row.result_quality if isinstance(row.result_quality, str) else None,
                json.dumps(row.parameters, ensure_ascii=False) if isinstance(row.parameters, dict) else None,
                row.feature_of_interest_id if row.feature_of_interest_id is not None else info.feature_id,
            )
        )
        per_thing[info.thing_id] += 1
        previous = last.get(ds)
        if previous is None or row.phenomenon_time >= previous[0]:
            last[ds] = (row.phenomenon_time, result)
    if good:
        inserted = bulk.insert_rows(db, good, sqlite=sqlite)
        outcome.accepted = inserted
        outcome.duplicates = len(good) - inserted
        _touch(db, per_thing, last, now)
    if rejects:
        _store_rejects(db, rejects)
    return outcome


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
    """Device health and datastream extent for a batch's extents: two executemany UPDATEs."""
    sqlite = db.get_bind().dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"

    def stored(key: str) -> Any:
        return key if sqlite else datetime.fromisoformat(key)

    per_thing: Counter[int] = Counter()
    stream_rows = []
    for ds, e in extents.items():
        per_thing[e.thing_id] += e.rows
        last, first = stored(e.last), stored(e.first)
        stream_rows.append((last, bulk.result_columns(e.last_value)[0], last, last, first, first, ds))
    now_value = _db_time(now, sqlite)
    thing_rows = [(now_value, n, thing_id) for thing_id, n in per_thing.items()]
    cursor = bulk.raw_cursor(db)
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
    for ds, (when, value) in last.items():
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
