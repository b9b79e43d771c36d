"""What the bulk readers make of each column type, on real PostgreSQL (COPY in CSV) and MariaDB (the
server's own text): the same text the typed path writes, nulls kept apart from empty text, binary as
hex, local date-times, and the watermark's maximum typed by the driver for the next incremental run."""

import pytest

from tests.collect.helpers import execute, needs_mariadb, needs_postgres, source_url
from tests.conftest import unique
from yiwang.collect import databases
from yiwang.collect.connectors import ReadSpec

TYPES = {
    "postgresql": (
        "n INTEGER, amount NUMERIC(8,2), flag BOOLEAN, raw BYTEA, at_local TIMESTAMP, at_zoned TIMESTAMPTZ,"
        " day DATE, note TEXT"
    ),
    "mariadb": (
        "n INTEGER, amount DECIMAL(8,2), flag BOOLEAN, raw BLOB, at_local DATETIME, at_zoned TIMESTAMP NULL,"
        " day DATE, note TEXT"
    ),
}
ROWS = {
    "postgresql": [
        "(1, 12.50, true, '\\x0aff'::bytea, '2026-01-02 03:04:05', '2026-01-02 00:00:00+00', '2026-01-02', '说明')",
        "(2, NULL, false, NULL, NULL, NULL, NULL, NULL)",
        "(10, -3.00, NULL, NULL, NULL, NULL, NULL, '')",
    ],
    "mariadb": [
        "(1, 12.50, true, x'0aff', '2026-01-02 03:04:05', CONVERT_TZ('2026-01-02 00:00:00', '+00:00', @@time_zone),"
        " '2026-01-02', '说明')",
        "(2, NULL, false, NULL, NULL, NULL, NULL, NULL)",
        "(10, -3.00, NULL, NULL, NULL, NULL, NULL, '')",
    ],
}
KINDS = [pytest.param("postgresql", marks=needs_postgres), pytest.param("mariadb", marks=needs_mariadb)]


def _table(kind: str) -> str:
    name = unique("types_")
    execute(kind, f"CREATE TABLE {name} ({TYPES[kind]})")
    execute(kind, f"INSERT INTO {name} VALUES {', '.join(ROWS[kind])}")  # noqa: S608
    return name


@pytest.mark.parametrize("kind", KINDS)
def test_each_type_reads_as_the_text_the_pipeline_takes(kind):
    table = _table(kind)
    spec = ReadSpec(kind="database", location=source_url(kind), table_name=table, watermark_column="n", batch_rows=2)
    seen: list[int] = []
    result = databases.read_database(spec, on_rows=seen.append)
    rows = {row["n"]: row for row in result.frame.iter_rows(named=True)}
    assert result.rows_read == 3 and seen[-1] == 3
    first = rows["1"]
    assert first["amount"] == "12.50" and first["raw"] == "0aff" and first["day"] == "2026-01-02"
    assert first["flag"] in ("true", "1")  # MariaDB's BOOLEAN is TINYINT(1)
    assert first["at_local"] == "2026-01-02 03:04:05"
    assert first["at_zoned"] == "2026-01-02 08:00:00"  # the city's local time, without an offset
    assert first["note"] == "说明"
    assert rows["2"]["amount"] is None and rows["2"]["note"] is None and rows["2"]["flag"] in ("false", "0")
    assert rows["10"]["amount"] == "-3.00" and rows["10"]["note"] == ""
    assert result.watermark == {"type": "int", "value": 10}  # 10 > 2 as numbers, not as text

    execute(kind, f"INSERT INTO {table} (n, note) VALUES (11, 'new'), (3, 'late but small')")  # noqa: S608
    changes = databases.read_database(spec, since=result.watermark, on_rows=seen.append)
    assert changes.frame["n"].to_list() == ["11"] and changes.watermark == {"type": "int", "value": 11}
    empty = databases.read_database(spec, since=changes.watermark, on_rows=seen.append)
    assert empty.rows_read == 0 and empty.watermark is None and "note" in empty.frame.columns
