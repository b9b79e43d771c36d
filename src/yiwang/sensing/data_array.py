"""The dataArray extension of SensorThings 1.1 (CreateObservations): request blocks in, one link per row out.

A block whose components are exactly phenomenonTime and result, with whole-second UTC instants, takes the
fast path (`ingest.store_blocks`): its columns are pulled out with `zip(*rows)` and checked as columns.
Any other block (resultTime, FeatureOfInterest/id, other instant forms) goes the general way
(`ingest.store`), one parsed instant per row.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from yiwang.core.errors import ValidationFailed
from yiwang.sensing import bulk, ingest
from yiwang.sensing.odata import QueryError, parse_datetime
from yiwang.sensing.sta import scope


@dataclass
class General:
    """A block for the general path: its rows with parsed instants."""

    datastream_id: Any
    rows: list[ingest.Incoming]


Parsed = ingest.Block | General


def datastreams(blocks: list[Parsed]) -> set[int]:
    return {b.datastream_id for b in blocks if type(b.datastream_id) is int}


def parse(body: Any) -> list[Parsed]:
    """The blocks of a CreateObservations body, in request order; malformed structure is a 422."""
    if not isinstance(body, list):
        raise ValidationFailed("CreateObservations 请求体必须是数组")
    return [_parse_block(block_no, block) for block_no, block in enumerate(body)]


def _parse_block(block_no: int, block: Any) -> Parsed:
    if not isinstance(block, dict) or not isinstance(block.get("Datastream"), dict):
        raise ValidationFailed(f"第 {block_no + 1} 组缺少 Datastream")
    ds_id = scope.key_as_sent(block["Datastream"].get("@iot.id"))
    components = block.get("components")
    data = block.get("dataArray")
    if not isinstance(components, list) or not isinstance(data, list):
        raise ValidationFailed(f"第 {block_no + 1} 组缺少 components 或 dataArray")
    try:
        i_time = components.index("phenomenonTime")
        i_result = components.index("result")
    except ValueError as exc:
        raise ValidationFailed("components 必须包含 phenomenonTime 和 result") from exc
    width = len(components)
    if set(map(type, data)) - {list} or set(map(len, data)) - {width}:
        bad = next(row for row in data if type(row) is not list or len(row) != width)
        raise ValidationFailed(f"第 {block_no + 1} 组的数据行格式不对：{str(bad)[:80]}")
    if width == 2:
        columns = list(zip(*data, strict=True)) or [(), ()]
        keys = ingest.fast_keys(columns[i_time])
        if keys is not None:
            return ingest.Block(ds_id, keys, list(columns[i_result]))
    return General(ds_id, _general_rows(block_no, ds_id, components, data, i_time, i_result))


def _general_rows(
    block_no: int, ds_id: Any, components: list[Any], data: list[list[Any]], i_time: int, i_result: int
) -> list[ingest.Incoming]:
    i_rtime = components.index("resultTime") if "resultTime" in components else None
    i_foi = components.index("FeatureOfInterest/id") if "FeatureOfInterest/id" in components else None
    rows = []
    for row in data:
        if not isinstance(row[i_time], str):
            raise ValidationFailed(f"第 {block_no + 1} 组的时间格式不对：{str(row)[:80]}")
        try:
            when = _instant(row[i_time])
            rtime = _instant(row[i_rtime]) if i_rtime is not None and row[i_rtime] else None
        except QueryError as exc:
            raise ValidationFailed(str(exc)) from exc
        foi = row[i_foi] if i_foi is not None and type(row[i_foi]) is int else None
        rows.append(ingest.Incoming(ds_id, when, row[i_result], rtime, None, None, foi))
    return rows


def _instant(text: str) -> datetime:
    return parse_datetime(text.split("/")[0])


def store(db: Session, blocks: list[Parsed], *, base: str) -> tuple[list[str], ingest.Outcome]:
    """Store every block; returns one self-link (or "error") per row, in request order, and the outcome.

    A re-sent row gets the link of the observation stored the first time."""
    fast = [b for b in blocks if isinstance(b, ingest.Block)]
    total, fast_ids = ingest.store_blocks(db, fast, channel="http", want_ids=True)
    by_block = iter(fast_ids)
    prefix = f"{base}/Observations("
    links: list[str] = []
    for block in blocks:
        if isinstance(block, ingest.Block):
            ids: list[int | None] = next(by_block)
        else:
            ids = _store_general(db, block, total)
        links += [f"{prefix}{i})" if i is not None else "error" for i in ids]
    return links, total


def _store_general(db: Session, block: General, total: ingest.Outcome) -> list[int | None]:
    outcome = ingest.store(db, rows=block.rows, channel="http")
    total.add(outcome)
    refused = set(outcome.rejected_index)
    keys = [ingest.stored_form(r.phenomenon_time) for r in block.rows]
    found = (
        bulk.ids_at(db, block.datastream_id, [k for i, k in enumerate(keys) if i not in refused])
        if type(block.datastream_id) is int
        else {}
    )
    return [None if i in refused else found.get(k) for i, k in enumerate(keys)]
