"""Writing observation rows: bulk inserts per engine, and finding the ids of rows already stored.

SQLite: `executemany` binding only the columns that carry values. PostgreSQL: COPY into a session-private
staging table, then one INSERT … SELECT. Both ignore a repeat of (datastream, phenomenon time).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from sqlalchemy.orm import Session

NUMERIC = {float, int}


@dataclass
class Accepted:
    """The rows of one block (one datastream) that passed the checks, ready to insert."""

    datastream_id: int
    thing_id: int
    feature_id: int | None  # the FeatureOfInterest the rows get
    keys: list[str]
    results: list[Any]
    numeric: bool  # every result a finite number: they go to the `result` column
    refused: set[int]  # indexes into the block
    ids: Sequence[int] | None = None  # observation ids of `keys`, in order, when asked for


def insert_accepted(db: Session, accepted: list[Accepted], *, want_ids: bool) -> int:
    """Insert the accepted rows, ignoring repeats; sets each block's ids when asked. Returns rows inserted."""
    if db.get_bind().dialect.name == "sqlite":
        return _insert_sqlite(db, accepted, want_ids=want_ids)
    return _insert_postgres(db, accepted, want_ids=want_ids)


def _json_result(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _insert_sqlite(db: Session, accepted: list[Accepted], *, want_ids: bool) -> int:
    """One executemany per block binding only the columns with values (binding a NULL costs as much as a value)."""
    cursor = raw_cursor(db)
    inserted = 0
    try:
        for a in accepted:
            ds, foi, n = repeat(a.datastream_id), repeat(a.feature_id), len(a.keys)
            if a.numeric:
                cursor.executemany(
                    "INSERT OR IGNORE INTO sensing_observation "
                    "(datastream_id, phenomenon_time, result, feature_of_interest_id) VALUES (?, ?, ?, ?)",
                    zip(ds, a.keys, a.results, foi, strict=False),  # ds and foi repeat
                )
            else:
                cursor.executemany(
                    "INSERT OR IGNORE INTO sensing_observation "
                    "(datastream_id, phenomenon_time, result, result_json, feature_of_interest_id) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        (a.datastream_id, k, *result_columns(v), a.feature_id)
                        for k, v in zip(a.keys, a.results, strict=True)
                    ),
                )
            count = cursor.rowcount
            inserted += count
            if not want_ids:
                continue
            if count == n:
                # One writer holds the lock (BEGIN IMMEDIATE) and no row was a repeat: the rowids are consecutive.
                last_id = cursor.execute("SELECT last_insert_rowid()").fetchone()[0]
                a.ids = range(last_id - n + 1, last_id + 1)
            else:
                found = ids_at(db, a.datastream_id, a.keys)
                a.ids = [found[k] for k in a.keys]
    finally:
        cursor.close()
    return inserted


_STAGE = "sensing_observation_stage"


def _insert_postgres(db: Session, accepted: list[Accepted], *, want_ids: bool) -> int:
    """COPY every block into a session-private staging table, then one INSERT … SELECT … ON CONFLICT DO NOTHING.

    The staged rows are deleted by the same statement, so the table is empty again for the next batch of
    the transaction (and is emptied at commit anyway)."""
    cursor = raw_cursor(db)
    try:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (datastream_id integer, phenomenon_time timestamp, "
            "result double precision, result_json text, feature_of_interest_id integer) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(
            f"COPY {_STAGE} (datastream_id, phenomenon_time, result, result_json, feature_of_interest_id) FROM STDIN"
        ) as copy:
            for a in accepted:
                foi = "\\N" if a.feature_id is None else str(a.feature_id)
                if a.numeric:
                    head, tail = f"{a.datastream_id}\t", f"\t\\N\t{foi}\n"
                    copy.write("".join([f"{head}{k}\t{v!r}{tail}" for k, v in zip(a.keys, a.results, strict=True)]))
                else:
                    for k, v in zip(a.keys, a.results, strict=True):
                        copy.write_row((a.datastream_id, k, *result_columns(v), a.feature_id))
        returning = (
            " RETURNING datastream_id, to_char(phenomenon_time, 'YYYY-MM-DD HH24:MI:SS.US'), id" if want_ids else ""
        )
        cursor.execute(
            f"WITH staged AS (DELETE FROM {_STAGE} RETURNING *) "  # noqa: S608  (constant SQL)
            "INSERT INTO sensing_observation "
            "(datastream_id, phenomenon_time, result, result_json, feature_of_interest_id) "
            "SELECT datastream_id, phenomenon_time, result, result_json::json, feature_of_interest_id FROM staged "
            f"ON CONFLICT (datastream_id, phenomenon_time) DO NOTHING{returning}"
        )
        inserted = cursor.rowcount
        if want_ids:
            new: dict[tuple[int, str], int] = {(ds, key): obs_id for ds, key, obs_id in cursor.fetchall()}
            for a in accepted:
                ids = [new.get((a.datastream_id, k)) for k in a.keys]
                # repeats: the observations stored earlier
                found = ids_at(db, a.datastream_id, a.keys) if None in ids else {}
                a.ids = [found[k] if i is None else i for k, i in zip(a.keys, ids, strict=True)]
    finally:
        cursor.close()
    return inserted


def result_columns(value: Any) -> tuple[float | None, str | None]:
    """(result, result_json): numbers in the float column, anything else (or a number no float holds) as JSON."""
    if type(value) in NUMERIC:
        try:
            return float(value), None
        except OverflowError:
            pass
    return None, _json_result(value)


def raw_cursor(db: Session) -> Any:
    raw = db.connection().connection.dbapi_connection
    assert raw is not None
    return raw.cursor()


def ids_at(db: Session, ds: int, keys: list[str]) -> dict[str, int]:
    """Ids of a datastream's observations at the given stored-form instants (one range query)."""
    if not keys:
        return {}
    sqlite = db.get_bind().dialect.name == "sqlite"
    marker = "?" if sqlite else "%s"
    cursor = raw_cursor(db)
    try:
        cursor.execute(
            f"SELECT id, phenomenon_time FROM sensing_observation WHERE datastream_id = {marker} "  # noqa: S608  (constant SQL; values are bound)
            f"AND phenomenon_time >= {marker} AND phenomenon_time <= {marker}",
            (ds, min(keys), max(keys)),
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if sqlite:
        return {when: obs_id for obs_id, when in rows}
    return {when.isoformat(" ", "microseconds"): obs_id for obs_id, when in rows}


INSERT_COLUMNS = (
    "datastream_id, phenomenon_time, result_time, result, result_json, result_quality, parameters, "
    "feature_of_interest_id"
)


def insert_rows(db: Session, rows: list[tuple[Any, ...]], *, sqlite: bool) -> int:
    """One executemany; a repeated (datastream, phenomenon time) is ignored. Returns rows inserted."""
    if sqlite:
        sql = f"INSERT OR IGNORE INTO sensing_observation ({INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608  (constant SQL; values are bound)
    else:
        sql = (
            f"INSERT INTO sensing_observation ({INSERT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "  # noqa: S608  (constant SQL; values are bound)
            "ON CONFLICT (datastream_id, phenomenon_time) DO NOTHING"
        )
    cursor = raw_cursor(db)
    try:
        cursor.executemany(sql, rows)
        count = cursor.rowcount
    finally:
        cursor.close()
    return count if count is not None and count >= 0 else len(rows)
