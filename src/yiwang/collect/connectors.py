"""What a source may say, and readers of REST/JSON APIs and watched folders (databases: databases.py).

Each reader returns the rows as text columns named after the entry's items (through the source's
mapping), ready for the governance pipeline, plus the greatest watermark value it saw.
"""

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import polars as pl
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from yiwang.collect.schemas import ApiOptions
from yiwang.core.errors import AppError, ValidationFailed
from yiwang.core.timeutil import SHANGHAI

# Drivers a source may name. PostgreSQL and MySQL/MariaDB are tested against real servers; the others
# go through their SQLAlchemy dialects and are untested here (docs/collect.md).
DRIVERS = {
    "postgresql+psycopg": "PostgreSQL（psycopg）",
    "mysql+mysqldb": "MySQL/MariaDB（mysqlclient）",
    "mariadb+mysqldb": "MariaDB（mysqlclient）",
    "mysql+pymysql": "MySQL/MariaDB（PyMySQL）",
    "mssql+pyodbc": "SQL Server（pyodbc，未测试）",
    "oracle+oracledb": "Oracle（python-oracledb，未测试）",
    "dm+dmPython": "达梦（dmPython，未测试）",
}
_ALIASES = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg", "mysql": "mysql+mysqldb"}
_IDENTIFIER = re.compile(r"^[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_$\u4e00-\u9fff]{0,127}$")
_READ_ONLY_START = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
CONNECT_TIMEOUT_SECONDS = 10
HTTP_TIMEOUT_SECONDS = 30
MAX_API_PAGES = 100000
FOLDER_SUFFIXES = (".csv", ".xlsx", ".json")

RowsRead = Callable[[int], None]  # rows read so far


class CollectFailed(AppError):
    status_code = 502
    code = "collect_failed"
    message = "数据源读取失败"


@dataclass(frozen=True)
class ReadSpec:
    """Everything a reader needs, with the credential decrypted for this run only."""

    kind: str
    location: str
    table_name: str = ""
    query: str = ""
    api: ApiOptions = field(default_factory=ApiOptions)
    secret: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    watermark_column: str = ""
    folder: Path | None = None
    batch_rows: int = 50000


@dataclass
class ReadResult:
    frame: pl.DataFrame  # text columns named after the items (unmapped columns keep their names)
    rows_read: int
    watermark: dict[str, Any] | None = None  # {"type": …, "value": …}: the greatest value read
    files: list[Path] = field(default_factory=list)  # folder: the files read, moved once the version commits


# ---- validation of what a steward enters ----------------------------------------------------------


def normalise_database_url(location: str) -> str:
    """The connection string checked and with the driver spelled out; refuses a password in it."""
    try:
        url = make_url(location.strip())
    except ArgumentError as exc:
        raise ValidationFailed("数据库连接串格式不正确，应如 postgresql+psycopg://用户@主机:5432/库名") from exc
    driver = _ALIASES.get(url.drivername, url.drivername)
    if driver not in DRIVERS:
        raise ValidationFailed("不支持的数据库驱动：" + url.drivername, details={"supported": sorted(DRIVERS)})
    if url.password:
        raise ValidationFailed("连接串中不能写密码，请填在“凭据”栏（加密保存）")
    if not url.host and not url.query.get("odbc_connect") and not url.query.get("dsn"):
        raise ValidationFailed("连接串须包含数据库主机")
    if not url.database and driver.split("+")[0] in ("postgresql", "mysql", "mariadb"):
        raise ValidationFailed("连接串须包含数据库名")
    return url.set(drivername=driver).render_as_string(hide_password=False)


def check_table_name(name: str) -> None:
    if not all(_IDENTIFIER.match(part) for part in name.split(".")) or name.count(".") > 1:
        raise ValidationFailed("表名只能是 表 或 模式.表，由字母、数字、下划线组成")


def check_query(query: str) -> None:
    if not _READ_ONLY_START.match(query) or ";" in query.strip().rstrip(";"):
        raise ValidationFailed("查询语句须是一条 SELECT（或 WITH … SELECT）语句")


def check_api_url(location: str) -> None:
    if not re.match(r"^https?://[^\s/]+", location.strip()):
        raise ValidationFailed("接口地址须以 http:// 或 https:// 开头")


def folder_path(root: Path, location: str) -> Path:
    """The watched folder: a relative path under the platform's collection root, never outside it."""
    relative = Path(location.strip())
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValidationFailed("文件夹须是归集根目录下的相对路径，不能含 ..")
    return root / relative


# ---- text columns ---------------------------------------------------------------------------------


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text the pipeline reads back exactly: ISO dates, local date-times, plain numbers."""
    columns = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.String:
            columns.append(col)
        elif isinstance(dtype, pl.Datetime):
            local = col.dt.convert_time_zone(str(SHANGHAI)) if dtype.time_zone else col
            columns.append(local.dt.to_string("%Y-%m-%d %H:%M:%S").alias(name))
        elif dtype == pl.Date:
            columns.append(col.dt.to_string("%Y-%m-%d").alias(name))
        elif dtype == pl.Binary:
            columns.append(col.bin.encode("hex").alias(name))
        elif isinstance(dtype, (pl.List, pl.Struct, pl.Array)):
            columns.append(col.map_elements(_json_text, return_dtype=pl.String).alias(name))
        else:
            columns.append(col.cast(pl.String, strict=False).alias(name))
    return frame.select(columns)


def _json_text(value: Any) -> str:
    return json.dumps(value.to_list() if isinstance(value, pl.Series) else value, ensure_ascii=False, default=str)


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def mapped(
    frame: pl.DataFrame, mapping: dict[str, str], keep: Sequence[str] = (), *, absent_is_null: bool = False
) -> pl.DataFrame:
    """Source columns renamed to items; with a mapping, only the mapped columns (and `keep`) remain.

    JSON records leave out empty fields, so for an API a mapped field missing from a page is empty;
    for a database or a file it means the mapping does not fit the source."""
    if not mapping:
        return frame
    missing = [c for c in mapping if c not in frame.columns]
    if missing and absent_is_null:
        frame = frame.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in missing])
    elif missing:
        raise CollectFailed("数据源缺少映射中的列：" + "、".join(missing[:20]), details={"missing": missing})
    wanted = list(mapping) + [c for c in keep if c not in mapping and c in frame.columns]
    return frame.select(wanted).rename({source: item for source, item in mapping.items()})


def typed_watermark(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return {"type": "str", "value": str(value)}
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, (float, Decimal)):
        return {"type": "decimal", "value": str(value)}
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    return {"type": "str", "value": str(value)}


def watermark_value(mark: dict[str, Any]) -> Any:
    """The stored watermark as the Python value the driver binds."""
    kind, value = mark.get("type"), mark.get("value")
    if kind == "int":
        return int(value)  # type: ignore[arg-type]
    if kind == "decimal":
        return Decimal(str(value))
    if kind == "datetime":
        return datetime.fromisoformat(str(value))
    if kind == "date":
        return date.fromisoformat(str(value))
    return str(value)


def watermark_text(mark: dict[str, Any] | None) -> str | None:
    return None if mark is None else str(mark.get("value"))


def greater(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    if a is None or b is None:
        return a or b
    try:
        return a if watermark_value(a) >= watermark_value(b) else b
    except TypeError:
        return a if str(a["value"]) >= str(b["value"]) else b


# ---- REST/JSON APIs ---------------------------------------------------------------------------------


def _path(body: Any, dotted: str) -> Any:
    for part in [p for p in dotted.split(".") if p]:
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _records_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(str(k) for k in record))
    return pl.DataFrame(
        {n: pl.Series(n, [_cell(r.get(n)) for r in records], dtype=pl.String) for n in names}, height=len(records)
    )


def _api_pages(spec: ReadSpec, since: dict[str, Any] | None) -> Iterator[list[dict[str, Any]]]:
    options = spec.api
    headers = {"Accept": "application/json"}
    if options.auth == "bearer":
        headers["Authorization"] = f"Bearer {spec.secret}"
    elif options.auth == "key":
        headers[options.key_header] = spec.secret
    fixed: dict[str, Any] = {}
    if since is not None and options.watermark_param:
        fixed[options.watermark_param] = watermark_text(since)
    url: str | None = spec.location
    with httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, headers=headers, follow_redirects=False) as client:
        for number in range(MAX_API_PAGES):
            params = dict(fixed)
            if options.paging == "page":
                params |= {options.page_param: number + 1, options.size_param: options.page_size}
            elif options.paging == "offset":
                params |= {options.offset_param: number * options.page_size, options.size_param: options.page_size}
            assert url is not None
            response = client.get(url, params=params if options.paging != "next" or number == 0 else None)
            if response.status_code >= 400:
                raise CollectFailed(f"接口返回 HTTP {response.status_code}")
            try:
                body = response.json()
            except ValueError as exc:
                raise CollectFailed("接口返回的不是 JSON") from exc
            records = _path(body, options.records) if options.records else body
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise CollectFailed(f"接口响应中 {options.records or '（根）'} 不是对象数组")
            if records:
                yield records
            if options.paging == "none":
                return
            if options.paging == "next":
                link = _path(body, options.next_link)
                if not link:
                    return
                url = urljoin(url, str(link))
            elif len(records) < options.page_size:
                return
    raise CollectFailed(f"接口分页超过 {MAX_API_PAGES} 页")


def read_api(spec: ReadSpec, *, since: dict[str, Any] | None = None, on_rows: RowsRead) -> ReadResult:
    parts, mark, rows_read = [], None, 0
    keep = [spec.watermark_column] if spec.watermark_column else []
    try:
        for records in _api_pages(spec, since):
            rows_read += len(records)
            if spec.watermark_column:
                column = pl.Series([r.get(spec.watermark_column) for r in records], strict=False).drop_nulls()
                mark = greater(mark, typed_watermark(column.max()) if column.len() else None)
            parts.append(mapped(_records_frame(records), spec.mapping, keep, absent_is_null=True))
            on_rows(rows_read)
    except httpx.HTTPError as exc:
        raise CollectFailed(f"无法访问接口：{type(exc).__name__}") from exc
    frame = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
    return ReadResult(frame=frame, rows_read=rows_read, watermark=mark)


# ---- watched folders --------------------------------------------------------------------------------


def pending_files(folder: Path) -> list[Path]:
    """Files dropped in the folder and not yet collected, oldest first."""
    if not folder.is_dir():
        raise CollectFailed(f"文件夹不存在：{folder.name}")
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def read_folder(spec: ReadSpec, *, read_table: Callable[[bytes, str], pl.DataFrame], newest_only: bool) -> ReadResult:
    """The newest file (a full load) or every pending file in order (changes); `read_table` decodes a
    file as an upload would be (CSV in UTF-8 or GBK, XLSX, JSON)."""
    assert spec.folder is not None
    files = pending_files(spec.folder)
    chosen = files[-1:] if newest_only else files
    parts = [mapped(read_table(p.read_bytes(), p.name), spec.mapping) for p in chosen]
    frame = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
    return ReadResult(frame=frame, rows_read=frame.height, files=files)
