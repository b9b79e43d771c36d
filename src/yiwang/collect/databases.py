"""Reading a source that is a relational database.

PostgreSQL and MySQL/MariaDB, the two tested for real, are read in bulk as the server's own text:
PostgreSQL through `COPY (…) TO STDOUT` in CSV, parsed by Polars; MySQL/MariaDB through a streaming
cursor that leaves numbers and dates as the server wrote them. No Python object is made per value, and
text is what the governance pipeline takes anyway. The watermark's typed maximum is read in the same
snapshot (a REPEATABLE READ transaction), so a row committed during the read is neither counted now
nor skipped by the next incremental run. Other dialects (SQL Server, Oracle, 达梦) and PyMySQL are read
through their driver's cursor in typed batches, and Polars turns the values to text.
"""

import io
from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.elements import TextClause

from yiwang.collect.connectors import (
    CONNECT_TIMEOUT_SECONDS,
    CollectFailed,
    ReadResult,
    ReadSpec,
    RowsRead,
    as_text,
    greater,
    mapped,
    normalise_database_url,
    typed_watermark,
    watermark_value,
)
from yiwang.core.errors import AppError
from yiwang.core.timeutil import SHANGHAI

_MYSQLCLIENT = ("mysql+mysqldb", "mariadb+mysqldb")
# MySQL field types whose text the server writes is the value (numbers, dates and times); mysqlclient
# hands them over as bytes once its converters for them are taken away. The rest (text, JSON, blobs)
# keep mysqlclient's own decoding: str for text, bytes for binary (shown as hex).
_MYSQL_TEXT_TYPES = frozenset({0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 246})
# PostgreSQL type oids whose CSV text needs a touch to read as the typed path writes it.
_PG_BOOL, _PG_BYTEA, _PG_TIMESTAMPTZ = 16, 17, 1184


def read_database(
    spec: ReadSpec, *, since: dict[str, Any] | None = None, columns: Sequence[str] | None = None, on_rows: RowsRead
) -> ReadResult:
    """Rows of the table or query (only those past `since` when given; only `columns` when given), as
    text columns through the mapping, and the greatest watermark value among them."""
    url = _engine_url(spec)
    driver = url.drivername
    engine = create_engine(url, poolclass=NullPool, connect_args=_connect_args(driver))
    dialect = engine.dialect
    statement = _select(spec, dialect, since=since, columns=columns)
    watermark = spec.watermark_column if not columns else ""
    try:
        connection = engine.raw_connection()
    except Exception as exc:  # the driver's own error types differ per database
        engine.dispose()
        raise CollectFailed(f"无法连接数据库：{_reason(exc)}") from exc
    try:
        raw = connection.driver_connection
        mark_statement = _max_select(spec, dialect, since) if watermark else None
        if driver == "postgresql+psycopg":
            frame, mark = _read_postgres(raw, dialect, statement, mark_statement, watermark, spec.batch_rows, on_rows)
        elif driver in _MYSQLCLIENT:
            frame, mark = _read_mysql(raw, dialect, statement, mark_statement, watermark, spec.batch_rows, on_rows)
        else:
            frame, mark = _read_typed(raw, driver, dialect, statement, watermark, spec.batch_rows, on_rows)
    except AppError:
        raise
    except Exception as exc:
        raise CollectFailed(f"读取数据库失败：{_reason(exc)}") from exc
    finally:
        try:
            connection.rollback()  # only read; ends the snapshot transaction
        finally:
            connection.close()
            engine.dispose()
    keep = [spec.watermark_column] if spec.watermark_column else []
    frame = as_text(frame if columns else mapped(frame, spec.mapping, keep))
    return ReadResult(frame=frame, rows_read=frame.height, watermark=mark)


def _engine_url(spec: ReadSpec) -> URL:
    url = make_url(normalise_database_url(spec.location))
    return url.set(password=spec.secret) if spec.secret else url


def _connect_args(driver: str) -> dict[str, Any]:
    if driver in ("postgresql+psycopg", *_MYSQLCLIENT, "mysql+pymysql"):
        return {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return {}


def _reason(exc: Exception) -> str:
    """The driver's message, first line, without anything that could carry the credential."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return line[:300]


# ---- statements ---------------------------------------------------------------------------------------


def _base(spec: ReadSpec, dialect: Dialect) -> str:
    if spec.query:
        return spec.query.strip().rstrip(";")
    table = ".".join(dialect.identifier_preparer.quote(part) for part in spec.table_name.split("."))
    return f"SELECT * FROM {table}"  # noqa: S608  (a checked, quoted name)


def _select(
    spec: ReadSpec, dialect: Dialect, *, since: dict[str, Any] | None, columns: Sequence[str] | None
) -> TextClause:
    quote = dialect.identifier_preparer.quote
    base = _base(spec, dialect)
    if since is None and not columns:
        return text(base)
    chosen = ", ".join(quote(c) for c in columns) if columns else "*"
    sql = f"SELECT {chosen} FROM ({base}) src"  # noqa: S608  (quoted names; the base is the steward's own query)
    if since is None:
        return text(sql)
    mark = quote(spec.watermark_column)
    return text(f"{sql} WHERE {mark} > :watermark").bindparams(watermark=watermark_value(since))


def _max_select(spec: ReadSpec, dialect: Dialect, since: dict[str, Any] | None) -> TextClause:
    """The greatest watermark among the rows the read takes, typed by the driver."""
    mark = dialect.identifier_preparer.quote(spec.watermark_column)
    sql = f"SELECT max({mark}) FROM ({_base(spec, dialect)}) src"  # noqa: S608  (as above)
    if since is None:
        return text(sql)
    return text(f"{sql} WHERE {mark} > :watermark").bindparams(watermark=watermark_value(since))


def _compiled(statement: TextClause, dialect: Dialect) -> tuple[str, Any]:
    compiled = statement.compile(dialect=dialect)
    params = compiled.construct_params()
    args = tuple(params[n] for n in compiled.positiontup or ()) if dialect.positional else params
    return str(compiled), args


def _described(cursor: Any, sql: str, args: Any, watermark: str) -> list[tuple[str, Any]]:
    """The result's column names and type codes, from a query that returns no row."""
    cursor.execute(f"SELECT * FROM ({sql}) described LIMIT 0", args)  # noqa: S608  (the statement above)
    columns = [(d[0], d[1]) for d in cursor.description]
    cursor.fetchall()
    if watermark and watermark not in {name for name, _ in columns}:
        raise CollectFailed(f"数据源没有水位线列 {watermark}")
    return columns


def _greatest(cursor: Any, statement: TextClause | None, dialect: Dialect) -> dict[str, Any] | None:
    if statement is None:
        return None
    sql, args = _compiled(statement, dialect)
    cursor.execute(sql, args)
    row = cursor.fetchone()
    return typed_watermark(row[0] if row else None)


# ---- PostgreSQL: COPY in CSV --------------------------------------------------------------------------


def _read_postgres(
    pg: Any,
    dialect: Dialect,
    statement: TextClause,
    mark_statement: TextClause | None,
    watermark: str,
    batch_rows: int,
    on_rows: RowsRead,
) -> tuple[pl.DataFrame, dict[str, Any] | None]:
    import psycopg

    pg.rollback()  # idle, so the transaction's level can be set
    pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # the COPY and the maximum see one snapshot
    pg.read_only = True
    sql, args = _compiled(statement, dialect)
    literal = psycopg.ClientCursor(pg).mogrify(sql, args)  # COPY takes no parameters
    with pg.cursor() as cursor:
        cursor.execute(f"SET LOCAL TimeZone = '{SHANGHAI}'")  # timestamptz as the city's local time
        cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        columns = _described(cursor, literal, None, watermark)
        mark = _greatest(cursor, mark_statement, dialect)
        buffer, lines, reported = io.BytesIO(), 0, 0
        with cursor.copy(f"COPY ({literal}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                buffer.write(block)
                lines += bytes(block).count(b"\n")
                if lines - reported >= batch_rows:
                    reported = lines
                    on_rows(lines)
    names = [name for name, _ in columns]
    schema = dict.fromkeys(names, pl.String)
    if not buffer.tell():
        return pl.DataFrame(schema=schema), mark
    frame = pl.read_csv(buffer.getvalue(), has_header=False, new_columns=names, schema=schema)
    on_rows(frame.height)
    return frame.with_columns(_pg_text_fixes(columns)), mark


def _pg_text_fixes(columns: list[tuple[str, Any]]) -> list[pl.Expr]:
    """PostgreSQL's text of booleans, bytea and timestamptz, as the typed path writes them."""
    fixes = []
    for name, oid in columns:
        col = pl.col(name)
        if oid == _PG_BOOL:
            fixes.append(col.replace_strict({"t": "true", "f": "false"}, default=col).alias(name))
        elif oid == _PG_BYTEA:
            fixes.append(col.str.strip_prefix("\\x").alias(name))
        elif oid == _PG_TIMESTAMPTZ:  # local time already (SET TimeZone): drop the offset
            fixes.append(col.str.replace(r"[+-]\d\d(:\d\d)?$", "").alias(name))
    return fixes


# ---- MySQL/MariaDB: the server's text through a streaming cursor -----------------------------------------


def _read_mysql(
    my: Any,
    dialect: Dialect,
    statement: TextClause,
    mark_statement: TextClause | None,
    watermark: str,
    batch_rows: int,
    on_rows: RowsRead,
) -> tuple[pl.DataFrame, dict[str, Any] | None]:
    import MySQLdb.cursors

    sql, args = _compiled(statement, dialect)
    plain = my.cursor()
    try:
        plain.execute("SET time_zone = '+08:00'")  # TIMESTAMP columns as the city's local time
        plain.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        plain.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        columns = _described(plain, sql, args, watermark)
        mark = _greatest(plain, mark_statement, dialect)
    finally:
        plain.close()
    typed = my.converter
    my.converter = {code: convert for code, convert in typed.items() if code not in _MYSQL_TEXT_TYPES}
    cursor = my.cursor(MySQLdb.cursors.SSCursor)
    try:
        cursor.execute(sql, args)
        parts = list(_batches(cursor, batch_rows, on_rows))
    finally:
        cursor.close()
        my.converter = typed
    names = [name for name, _ in columns]
    if not parts:
        return pl.DataFrame(schema=dict.fromkeys(names, pl.String)), mark
    frame = pl.concat(parts, how="vertical_relaxed")
    server_text = [
        pl.col(name).cast(pl.String)
        for name, code in columns
        if code in _MYSQL_TEXT_TYPES and frame.schema[name] in (pl.Binary, pl.Null)
    ]
    return frame.with_columns(server_text), mark


def _batches(cursor: Any, batch_rows: int, on_rows: RowsRead) -> Iterator[pl.DataFrame]:
    names = [d[0] for d in cursor.description]
    seen = 0
    while rows := cursor.fetchmany(batch_rows):
        seen += len(rows)
        yield pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
        on_rows(seen)


# ---- other dialects: the driver's typed cursor in batches ----------------------------------------------------


def _server_side_cursor(driver: str, connection: Any, batch_rows: int) -> Any:
    """A cursor that streams rows from the server instead of loading the whole result first."""
    if driver == "mysql+pymysql":
        import pymysql.cursors

        return connection.cursor(pymysql.cursors.SSCursor)
    cursor = connection.cursor()  # pyodbc streams on fetchmany; oracledb and dmPython fetch arraysize rows
    cursor.arraysize = batch_rows
    return cursor


def _read_typed(
    raw: Any, driver: str, dialect: Dialect, statement: TextClause, watermark: str, batch_rows: int, on_rows: RowsRead
) -> tuple[pl.DataFrame, dict[str, Any] | None]:
    sql, args = _compiled(statement, dialect)
    cursor = _server_side_cursor(driver, raw, batch_rows)
    parts: list[pl.DataFrame] = []
    mark: dict[str, Any] | None = None
    try:
        cursor.execute(sql, args)
        for batch in _batches(cursor, batch_rows, on_rows):
            if watermark:
                if watermark not in batch.columns:
                    raise CollectFailed(f"数据源没有水位线列 {watermark}")
                mark = greater(mark, typed_watermark(batch[watermark].max()))
            parts.append(as_text(batch))
        names = [d[0] for d in cursor.description or ()]
    finally:
        cursor.close()
    if not parts:
        return pl.DataFrame(schema=dict.fromkeys(names, pl.String)), mark
    return pl.concat(parts, how="vertical_relaxed"), mark
