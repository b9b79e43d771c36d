"""The governance pipeline as pure functions over Polars frames: decode, parse, normalise, validate,
de-duplicate, split clean rows from quarantined ones, and report quality. No database, no files
beyond what callers hand in, no per-row Python: every check is a vectorised Polars expression.

De-identification expressions (standards.md §4, GB/T 37964-2019) live here too, so the views that
exchange and opendata derive from a snapshot use the same code as the tests.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from yiwang.catalog.schemas import InfoItem
from yiwang.core.errors import ValidationFailed
from yiwang.core.identifiers import USCC_ALPHABET
from yiwang.core.masking import mask_address
from yiwang.core.spreadsheets import UnreadableWorkbook, cell_text, open_workbook, sheet_rows
from yiwang.core.timeutil import local_today

ROW = "_row"
REASONS = "_reasons"
MAX_ROW_BYTES = 1024 * 1024
MAX_CELL_CHARS = 65535
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = dict(enumerate("10X98765432"))
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {ch: n for n, ch in enumerate(USCC_ALPHABET)}
_USCC_CHECK = dict(enumerate(USCC_ALPHABET))
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M")
_PROVINCES = [
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
]
_TRUE = ("true", "1", "是", "y", "yes", "t")
_FALSE = ("false", "0", "否", "n", "no", "f")
Progress = Callable[[float, str], None]


class IngestRefused(ValidationFailed):
    """The whole file is refused (nothing is written); the message says why, in Chinese."""

    code = "ingest_refused"


@dataclass
class PipelineResult:
    clean: pl.DataFrame
    quarantine: pl.DataFrame
    report: dict[str, Any] = field(default_factory=dict)


# ---- decoding and parsing ---------------------------------------------------------------------


_FULLWIDTH = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000"]  # full-width ASCII and the ideographic space


def _refuse_binary(raw: bytes) -> None:
    head = raw[:65536]
    if not head.strip() and not raw.strip():
        raise IngestRefused("文件为空")
    if b"\x00" in head or sum(b < 9 or 13 < b < 32 for b in head) > 8:
        raise IngestRefused("文件含有二进制内容，不是 CSV 文本文件")


def decode_text(raw: bytes) -> tuple[bytes, str]:
    """UTF-8 bytes of a text file in UTF-8, GBK or GB18030, and the encoding found.

    GBK is tried before GB18030 (its superset) so that the report names the narrower one. Binary
    content is refused before any decoding is attempted.
    """
    _refuse_binary(raw)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        raw.decode("utf-8")
        return raw, "UTF-8"
    except UnicodeDecodeError:
        pass
    return _decode_chinese(raw)


def _decode_chinese(raw: bytes) -> tuple[bytes, str]:
    for encoding, label in (("gbk", "GBK"), ("gb18030", "GB18030")):
        try:
            return raw.decode(encoding).encode("utf-8"), label
        except UnicodeDecodeError:
            continue
    raise IngestRefused("无法识别文件编码：支持 UTF-8、GBK、GB18030")


def read_csv(raw: bytes) -> tuple[pl.DataFrame, str]:
    """Parse a CSV of strings. UTF-8 is validated by Polars while it parses (no separate decoding
    pass); only when that fails is the file decoded as GBK or GB18030 and re-encoded."""
    _refuse_binary(raw)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    encoding = "UTF-8"
    data = raw
    for attempt in range(2):
        try:
            frame = pl.read_csv(data, infer_schema=False, has_header=True, truncate_ragged_lines=False)
            break
        except (pl.exceptions.PolarsError, ValueError) as exc:
            message = str(exc).splitlines()[0][:200]
            if attempt == 0 and "utf-8" in message.lower():
                data, encoding = _decode_chinese(raw)
                continue
            raise IngestRefused(f"CSV 格式错误：{message}", details={"encoding": encoding}) from exc
    frame = frame.rename({c: c.strip() for c in frame.columns}) if any(c != c.strip() for c in frame.columns) else frame
    return frame, encoding


def read_xlsx(raw: bytes) -> pl.DataFrame:
    """The first worksheet of a workbook as a frame of strings (header in the first row)."""
    try:
        header, rows = sheet_rows(open_workbook(raw))
    except UnreadableWorkbook as exc:
        raise IngestRefused(exc.message) from exc
    if not header or all(h is None for h in header):
        raise IngestRefused("XLSX 第一个工作表没有表头")
    names = [str(h).strip() if h is not None else f"column_{n + 1}" for n, h in enumerate(header)]
    columns: list[list[str | None]] = [[] for _ in names]
    for _, values in rows:
        if len(values) > len(names) and any(v not in (None, "") for v in values[len(names) :]):
            raise IngestRefused("XLSX 有数据超出表头范围的列")
        for n in range(len(names)):
            columns[n].append(cell_text(values[n]) if n < len(values) else None)
    return pl.DataFrame({name: pl.Series(name, col, dtype=pl.String) for name, col in zip(names, columns, strict=True)})


def read_json(raw: bytes) -> pl.DataFrame:
    """A JSON array of objects, or {"rows": [...]}, as a frame of strings."""
    try:
        payload = json.loads(decode_text(raw)[0])
    except json.JSONDecodeError as exc:
        raise IngestRefused(f"JSON 格式错误：第 {exc.lineno} 行 {exc.msg}") from exc
    except (ValueError, RecursionError) as exc:  # an integer past the digit limit, nesting past the stack
        raise IngestRefused(f"JSON 无法读取：{str(exc)[:100]}") from exc
    if isinstance(payload, dict) and isinstance(payload.get("rows"), list):
        payload = payload["rows"]
    return rows_to_frame(payload)


def rows_to_frame(rows: Any) -> pl.DataFrame:
    """A frame of strings from a list of JSON objects (API push, JSON files)."""
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise IngestRefused('JSON 应为非空的对象数组，或 {"rows": [对象, ...]}')
    names: dict[str, None] = {}
    for row in rows:
        for key in row:
            names.setdefault(str(key), None)
    data = {name: [None if r.get(name) is None else _json_cell(r.get(name)) for r in rows] for name in names}
    return pl.DataFrame({n: pl.Series(n, v, dtype=pl.String) for n, v in data.items()})


def _json_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def read_any(raw: bytes, filename: str) -> tuple[pl.DataFrame, str]:
    """Parse an upload by its extension: .csv/.txt, .xlsx, .json; returns the frame and encoding/format."""
    lower = filename.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        if not raw:
            raise IngestRefused("文件为空")
        return read_xlsx(raw), "XLSX"
    if lower.endswith(".json"):
        return read_json(raw), "JSON"
    if lower.endswith((".csv", ".txt")) or "." not in lower:
        return read_csv(raw)
    raise IngestRefused("不支持的文件类型：请上传 CSV、XLSX 或 JSON")


# ---- columns ----------------------------------------------------------------------------------


def align_columns(frame: pl.DataFrame, items: Sequence[InfoItem]) -> pl.DataFrame:
    """Rename headers (field name or Chinese label) to field names; refuse missing or unknown columns."""
    if frame.height == 0:
        raise IngestRefused("文件没有数据行")
    lookup: dict[str, str] = {}
    for item in items:
        lookup[item.name.lower()] = item.name
        lookup[item.label] = item.name
    renames: dict[str, str] = {}
    unknown: list[str] = []
    for column in frame.columns:
        key = column.strip().lstrip("\ufeff")
        target = lookup.get(key) or lookup.get(key.lower())
        if target is None:
            unknown.append(column)
        elif target in renames.values():
            raise IngestRefused(f"列“{column}”与另一列对应同一信息项 {target}")
        else:
            renames[column] = target
    present = set(renames.values())
    missing = [f"{i.label}（{i.name}）" for i in items if i.required and i.name not in present]
    if unknown or missing:
        problems = []
        if missing:
            problems.append("缺少必填列：" + "、".join(missing))
        if unknown:
            problems.append("包含目录未登记的列：" + "、".join(unknown[:20]))
        raise IngestRefused(
            "文件的列与资源目录的信息项不符：" + "；".join(problems),
            details={"missing": missing, "unknown": unknown[:50], "expected": [i.name for i in items]},
        )
    frame = frame.rename(renames)
    absent = [pl.lit(None, dtype=pl.String).alias(i.name) for i in items if i.name not in present]
    frame = frame.with_columns(absent) if absent else frame
    return frame.select([pl.col(i.name).cast(pl.String) for i in items])


# ---- validation expressions -------------------------------------------------------------------


def id_number_valid(col: pl.Expr, name: str | None = None) -> pl.Expr:
    """GB 11643-1999: 17 digits and a MOD 11-2 check character, with a real birth date not in the future.

    The 17 digits are read once as an integer and split by integer arithmetic, which is several
    times faster than 17 string slices.
    """
    shape = col.str.contains(r"^\d{17}[\dX]$")
    number = pl.col(f"_id17_{name}") if name else col.str.slice(0, 17).cast(pl.Int64, strict=False)
    total = pl.sum_horizontal([(number // 10 ** (16 - n)) % 10 * w for n, w in enumerate(_ID_WEIGHTS)])
    check = (total % 11).replace_strict(_ID_CHECK, default=None, return_dtype=pl.String)
    birth = col.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)
    return (
        shape
        & (check == col.str.slice(17, 1))
        & birth.is_not_null()
        & (birth <= local_today())
        & (birth >= date(1890, 1, 1))
    )


def credit_code_valid(col: pl.Expr) -> pl.Expr:
    """GB 32100-2015: alphabet, registering authority, division digits and the MOD 31 check character."""
    shape = col.str.contains(r"^[1-9ANY][0-9A-HJ-NP-RTUW-Y]\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$")
    values = [
        col.str.slice(n, 1).replace_strict(_USCC_VALUE, default=0, return_dtype=pl.Int32) * w
        for n, w in enumerate(_USCC_WEIGHTS)
    ]
    check = ((31 - pl.sum_horizontal(values) % 31) % 31).replace_strict(
        _USCC_CHECK, default=None, return_dtype=pl.String
    )
    return shape & (check == col.str.slice(17, 1))


def parse_date(col: pl.Expr) -> pl.Expr:
    """A date in any of the usual Chinese spellings (2024-03-05, 2024/3/5, 20240305, 2024年3月5日)."""
    return pl.coalesce([col.str.strptime(pl.Date, fmt, strict=False) for fmt in _DATE_FORMATS])


def iso_date(col: pl.Expr) -> pl.Expr:
    return col.str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def parse_datetime(col: pl.Expr) -> pl.Expr:
    parsed = [col.str.strptime(pl.Datetime("us"), fmt, strict=False) for fmt in _DATETIME_FORMATS]
    return pl.coalesce([*parsed, parse_date(col).cast(pl.Datetime("us"))])


def _range(arg: str) -> tuple[float | None, float | None]:
    low, _, high = arg.partition(",")
    return (float(low) if low.strip() else None, float(high) if high.strip() else None)


def field_checks(
    item: InfoItem, value: pl.Expr, helper: str | None = None, typed: pl.Expr | None = None
) -> list[tuple[pl.Expr, str]]:
    """(is-bad expression, reason) pairs for one normalised field; the value may be null.

    `helper` names the field whose pre-computed `_id17_<name>` integer column an ID check may use;
    `typed` is the value already converted to the item's type (computed once, reused for output).
    """
    present = value.is_not_null()
    checks: list[tuple[pl.Expr, str]] = []
    converted = typed if typed is not None else _typed_expr(item, value)
    if item.data_type == "integer":
        checks.append((present & converted.is_null(), "不是整数"))
    elif item.data_type == "number":
        checks.append((present & converted.is_null(), "不是数字"))
    elif item.data_type == "date":
        checks.append((present & converted.is_null(), "日期格式无效"))
    elif item.data_type == "datetime":
        checks.append((present & converted.is_null(), "时间格式无效"))
    elif item.data_type == "boolean":
        checks.append((present & ~value.str.to_lowercase().is_in(_TRUE + _FALSE), "不是是/否值"))
    if item.length:
        checks.append((present & (value.str.len_chars() > item.length), f"超过长度 {item.length}"))
    else:
        checks.append((present & (value.str.len_chars() > MAX_CELL_CHARS), f"超过长度 {MAX_CELL_CHARS}"))
    validator = item.validator
    if validator == "id_number":
        checks.append((present & ~id_number_valid(value, helper), "身份证号码无效"))
    elif validator == "credit_code":
        checks.append((present & ~credit_code_valid(value), "统一社会信用代码无效"))
    elif validator == "mobile":
        checks.append((present & ~value.str.contains(r"^1[3-9]\d{9}$"), "手机号码无效"))
    elif validator == "email":
        pattern = r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"
        checks.append((present & ~value.str.contains(pattern), "电子邮箱无效"))
    elif validator == "date" and item.data_type not in ("date", "datetime"):
        checks.append((present & iso_date(value).is_null(), "日期格式无效"))
    elif validator == "division_code":
        shape = value.str.contains(r"^\d{6}(\d{3}){0,2}$") & value.str.slice(0, 2).is_in(_PROVINCES)
        checks.append((present & ~shape, "行政区划代码无效"))
    elif validator == "enum":
        allowed = [v.strip() for v in item.validator_arg.split("|") if v.strip()]
        checks.append((present & ~value.is_in(allowed), "不在枚举取值内"))
    elif validator == "range":
        low, high = _range(item.validator_arg)
        number = (
            converted.cast(pl.Float64)
            if item.data_type in ("integer", "number")
            else value.cast(pl.Float64, strict=False)
        )
        bad = number.is_null()
        if low is not None:
            bad = bad | (number < low)
        if high is not None:
            bad = bad | (number > high)
        checks.append((present & bad, f"超出范围 [{item.validator_arg}]"))
    elif validator == "regex":
        checks.append((present & ~value.str.contains(f"^(?:{item.validator_arg})$"), "不符合格式要求"))
    if item.required:
        checks.append((value.is_null(), "必填项为空"))
    return checks


def _is_date(item: InfoItem) -> bool:
    return item.data_type == "date" or item.validator == "date"


def _normalise(item: InfoItem, *, fullwidth: bool, odd_dates: bool, trim: bool) -> pl.Expr:
    """Trim, full-width → half-width (NFKC), empty → null, dates to ISO 8601, ID letters upper-case.

    NFKC and the multi-format date parse are the expensive steps; callers skip them when a cheap
    scan shows no full-width character in the file, or no date written other than as ISO 8601.
    """
    value = pl.col(item.name)
    if fullwidth:
        value = value.str.normalize("NFKC")
    if trim:
        value = value.str.strip_chars()
        value = pl.when(value.str.len_bytes() == 0).then(None).otherwise(value)
    if item.validator in ("id_number", "credit_code"):
        value = value.str.to_uppercase()
    if _is_date(item) and odd_dates:
        iso = parse_date(value).dt.to_string("%Y-%m-%d")
        value = pl.coalesce([iso, value])
    return value.alias(item.name)


def _typed_expr(item: InfoItem, value: pl.Expr) -> pl.Expr:
    if item.data_type == "integer":
        return value.cast(pl.Int64, strict=False)
    if item.data_type == "number":
        return value.cast(pl.Float64, strict=False)
    if item.data_type == "date":
        return iso_date(value)
    if item.data_type == "datetime":
        return parse_datetime(value)
    if item.data_type == "boolean":
        return value.str.to_lowercase().is_in(_TRUE)
    return value


# ---- the pipeline -----------------------------------------------------------------------------


def process(
    frame: pl.DataFrame,
    items: Sequence[InfoItem],
    *,
    first_row_number: int = 2,
    fullwidth: bool | None = None,
    trim: bool | None = None,
    progress: Progress | None = None,
) -> PipelineResult:
    """Normalise, validate, de-duplicate on the key fields; returns typed clean rows and the quarantine.

    Row numbers count from `first_row_number` (2 for a CSV with a header line), so a quarantined row
    can be found in the submitted file. `fullwidth` and `trim` may be set False by a caller that has
    checked the raw bytes (has_fullwidth, has_padding) and found nothing to change.
    """
    notify = progress or (lambda _p, _s: None)
    if len(items) == 0:
        raise IngestRefused("资源目录没有登记信息项，无法挂载数据")
    rows_in = frame.height
    names = [i.name for i in items]
    notify(0.3, "规范化")
    dates = [i.name for i in items if _is_date(i)]
    row_bytes = pl.sum_horizontal([pl.col(n).str.len_bytes().fill_null(0) for n in names])
    scans = [row_bytes.max().alias("_max_bytes"), row_bytes.arg_max().alias("_max_at")]
    scans += [
        (pl.col(n).str.contains_any(["/", ".", "年"]) | (pl.col(n).str.len_bytes() == 8)).any().alias(n) for n in dates
    ]
    if fullwidth is None:
        # U+FF01–FF5E all start with byte 0xEF in UTF-8, which ordinary Chinese text never uses:
        # a memchr for that byte is much cheaper than looking for each full-width character.
        lead = [pl.col(n).cast(pl.Binary).bin.contains(b"\xef").any() for n in names]
        scans.append(pl.any_horizontal(lead).alias("_fw"))
    if trim is None:
        padded = [
            (pl.col(n).str.starts_with(ch) | pl.col(n).str.ends_with(ch)).any()
            for n in names
            for ch in (" ", "\t", "\u3000")
        ]
        empty = [(pl.col(n).str.len_bytes() == 0).any() for n in names]  # "" cells (JSON, XLSX) become null too
        scans.append(pl.any_horizontal(padded + empty).alias("_pad"))
    flags_found = frame.select(scans).row(0, named=True)
    if (flags_found["_max_bytes"] or 0) > MAX_ROW_BYTES:
        raise IngestRefused(
            f"第 {flags_found['_max_at'] + first_row_number} 行超过 {MAX_ROW_BYTES // 1024} KB，"
            "疑似格式错误（如引号未闭合），整个文件未导入",
            details={"row": flags_found["_max_at"] + first_row_number},
        )
    fullwidth = bool(flags_found.get("_fw")) if fullwidth is None else fullwidth
    trim = bool(flags_found.get("_pad")) if trim is None else trim
    base = frame.lazy().with_row_index(ROW, offset=first_row_number)
    base = base.with_columns(
        [_normalise(i, fullwidth=fullwidth, odd_dates=bool(flags_found.get(i.name)), trim=trim) for i in items]
    )
    helpers = [
        pl.col(i.name).str.slice(0, 17).cast(pl.Int64, strict=False).alias(f"_id17_{i.name}")
        for i in items
        if i.validator == "id_number"
    ]
    helpers += [_typed_expr(i, pl.col(i.name)).alias(f"_t_{i.name}") for i in items if i.data_type != "string"]
    base = base.with_columns(helpers) if helpers else base
    checks: list[tuple[str, pl.Expr, str]] = []
    for item in items:
        helper = item.name if item.validator == "id_number" else None
        typed = pl.col(f"_t_{item.name}") if item.data_type != "string" else None
        for bad, reason in field_checks(item, pl.col(item.name), helper, typed):
            checks.append((item.name, bad, f"{item.label}：{reason}"))
    flags = [bad.fill_null(False).alias(f"_bad{n}") for n, (_name, bad, _r) in enumerate(checks)]
    staged = base.with_columns(flags)
    staged = staged.with_columns(pl.any_horizontal([pl.col(f"_bad{n}") for n in range(len(checks))]).alias("_bad"))
    # Reasons are spelled out only for the rows that failed (a few percent), after the filter.
    reason_parts = [pl.when(pl.col(f"_bad{n}")).then(pl.lit(reason)) for n, (_i, _b, reason) in enumerate(checks)]
    reasons_expr = pl.concat_str(reason_parts, separator="；", ignore_nulls=True).alias(REASONS)
    keys = [i.name for i in items if i.is_key]
    if keys:
        # The first valid row of each key is kept; later valid rows with the same key are duplicates.
        # is_first_distinct over the key of valid rows only (null for the others) is far cheaper than
        # a window over the key; the row each duplicate repeats is looked up afterwards, for the few.
        valid = ~pl.col("_bad") & pl.all_horizontal([pl.col(k).is_not_null() for k in keys])
        key = pl.col(keys[0]) if len(keys) == 1 else pl.struct(keys)
        staged = staged.with_columns((valid & ~pl.when(valid).then(key).is_first_distinct()).alias("_dup"))
    else:
        staged = staged.with_columns(pl.lit(False).alias("_dup"))
    per_field = []
    for item in items:
        own = [f"_bad{n}" for n, (name, _b, why) in enumerate(checks) if name == item.name and "必填项为空" not in why]
        invalid = pl.any_horizontal([pl.col(c) for c in own]) if own else pl.lit(False)
        per_field += [
            pl.col(item.name).is_not_null().sum().alias(f"present:{item.name}"),
            invalid.sum().alias(f"invalid:{item.name}"),
        ]
    notify(0.45, "校验")
    is_clean = ~pl.col("_bad") & ~pl.col("_dup")
    clean, quarantine, stats_frame = pl.collect_all(
        [
            staged.filter(is_clean).select(
                [ROW, *[pl.col(f"_t_{i.name}" if i.data_type != "string" else i.name).alias(i.name) for i in items]]
            ),
            staged.filter(~is_clean).select([ROW, *names, reasons_expr, "_dup"]),
            staged.select([*per_field, pl.col("_dup").sum().alias("duplicates")]),
        ]
    )
    notify(0.7, "去重与隔离")
    stats = stats_frame.row(0, named=True)
    if stats["duplicates"]:
        quarantine = _explain_duplicates(quarantine, clean, keys)
    clean = clean.drop(ROW)
    quarantine = quarantine.drop("_dup")
    reasons = (
        quarantine.lazy()
        .select(pl.col(REASONS).str.split("；").explode().alias("reason"))
        .group_by("reason")
        .len()
        .sort("len", descending=True)
        .head(30)
        .collect()
    )
    fields = {}
    for item in items:
        present = stats[f"present:{item.name}"]
        invalid = stats[f"invalid:{item.name}"]
        fields[item.name] = {
            "label": item.label,
            "completeness": round(present / rows_in, 4) if rows_in else 0.0,
            "validity": round((present - invalid) / present, 4) if present else 1.0,
            "invalid": invalid,
            "empty": rows_in - present,
        }
    report = {
        "rows_in": rows_in,
        "rows_out": clean.height,
        "rows_quarantined": quarantine.height,
        "duplicates": int(stats["duplicates"]),
        "fields": fields,
        "reasons": {r["reason"]: r["len"] for r in reasons.iter_rows(named=True)},
        "key": keys,
    }
    return PipelineResult(clean=clean, quarantine=quarantine, report=report)


def _explain_duplicates(quarantine: pl.DataFrame, clean: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Give each duplicate the reason '主键重复：与第 N 行相同', N being the row that was kept."""
    typed_keys = [pl.col(k).cast(clean.schema[k], strict=False) for k in keys]
    duplicates = quarantine.filter(pl.col("_dup")).select([pl.col(ROW), *typed_keys])
    key = pl.col(keys[0]) if len(keys) == 1 else pl.struct(keys)
    wanted = duplicates.select(key.alias("_k")).get_column("_k").unique()
    kept = clean.filter(key.is_in(wanted.implode())).select([pl.col(ROW).alias("_first"), *keys])
    why = duplicates.join(kept, on=keys, how="left").select(
        ROW,
        pl.concat_str([pl.lit("主键重复：与第 "), pl.col("_first").cast(pl.String), pl.lit(" 行相同")]).alias("_why"),
    )
    return (
        quarantine.join(why, on=ROW, how="left", maintain_order="left")
        .with_columns(pl.coalesce(["_why", REASONS]).alias(REASONS))
        .drop("_why")
    )


# ---- de-identification ------------------------------------------------------------------------


def _keep(col: pl.Expr, head: int, tail: int) -> pl.Expr:
    length = col.str.len_chars()
    middle = col.str.slice(head, pl.max_horizontal(length - head - tail, 0)).str.replace_all(".", "*")
    masked = pl.concat_str([col.str.slice(0, head), middle, col.str.slice(-tail) if tail else pl.lit("")])
    return pl.when(length <= head + tail).then(col.str.replace_all(".", "*")).otherwise(masked)


def _birth_year(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype in (pl.Date,) or isinstance(dtype, pl.Datetime):
        return col.dt.year()
    text = col.cast(pl.String)
    from_id = text.str.slice(6, 4).cast(pl.Int32, strict=False)
    from_date = text.str.slice(0, 4).cast(pl.Int32, strict=False)
    return pl.when(text.str.len_chars() == 18).then(from_id).otherwise(from_date)


def masking_expr(
    name: str, method: str, dtype: pl.DataType, pseudonyms: dict[str, str] | None = None
) -> pl.Expr | None:
    """The expression for one column under one method; None means the column is dropped."""
    col = pl.col(name)
    text = col.cast(pl.String)
    if method == "none":
        return col
    if method == "suppress":
        return None
    if method == "name":
        return pl.concat_str([text.str.slice(0, 1), text.str.slice(1).str.replace_all(".", "*")]).alias(name)
    if method == "id_number":
        return _keep(text, 6, 4).alias(name)
    if method == "mobile":
        return _keep(text, 3, 4).alias(name)
    if method == "bank_card":
        return _keep(text, 6, 4).alias(name)
    if method == "email":
        local = text.str.extract(r"^([^@]?)[^@]*@", 1)
        domain = text.str.extract(r"@(.*)$", 1)
        return (
            pl.when(domain.is_null()).then(text).otherwise(pl.concat_str([local, pl.lit("***@"), domain])).alias(name)
        )
    if method == "address" or method == "pseudonym":
        return text.replace_strict(pseudonyms or {}, default=None, return_dtype=pl.String).alias(name)
    if method == "year":
        return _birth_year(col, dtype).cast(pl.String).alias(name)
    if method == "age_band":
        age = local_today().year - _birth_year(col, dtype)
        low = (age // 10) * 10
        return pl.concat_str([low.cast(pl.String), pl.lit("-"), (low + 9).cast(pl.String), pl.lit("岁")]).alias(name)
    raise ValueError(f"unknown masking method {method}")


def deidentify(frame: pl.DataFrame, methods: dict[str, str], pseudonym: Callable[[str, str], str]) -> pl.DataFrame:
    """Apply a method per column (columns not named are kept as they are); suppressed columns are dropped.

    `pseudonym(value, namespace)` is the platform's keyed hash (runtime.cipher.pseudonym); it is called
    once per distinct value, not per row.
    """
    exprs: list[pl.Expr] = []
    for name in frame.columns:
        method = methods.get(name, "none")
        lookup = None
        if method in ("pseudonym", "address"):
            distinct = frame.get_column(name).cast(pl.String).drop_nulls().unique().to_list()
            if method == "pseudonym":
                lookup = {v: pseudonym(v, name) for v in distinct}
            else:
                lookup = {v: mask_address(v) or "" for v in distinct}
        expr = masking_expr(name, method, frame.schema[name], lookup)
        if expr is not None:
            exprs.append(expr)
    return frame.select(exprs)
