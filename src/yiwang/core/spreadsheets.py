"""Spreadsheets: XLSX workbooks read and written in one place, and exports (XLSX and CSV) that never
turn data into live formulas.

A text value starting with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by
spreadsheet programs (CSV injection, OWASP). Exports neutralise such text here, in one place:
XLSX cells keep the exact text but are written as text with Excel's quote-prefix flag; CSV cells
get a leading single quote. Numbers stay numbers, and a text that is just a number ("-3.5", "+86")
is left alone, since it cannot run anything.
"""

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any, NamedTuple

import polars as pl
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.utils import get_column_letter

from yiwang.core.errors import ValidationFailed

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
UNREADABLE_WORKBOOK = "无法读取 XLSX 文件，请确认是 Excel 2007 及以上格式（.xlsx）"

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_PLAIN_NUMBER_RE = re.compile(PLAIN_NUMBER)
# The same rule for Polars columns (Rust regex syntax).
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"
_NUMBER_PATTERN = rf"^{PLAIN_NUMBER}$"
CSV_BOM = b"\xef\xbb\xbf"


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet program would read the text as a formula."""
    return text.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER_RE.fullmatch(text)


def csv_text(text: str) -> str:
    """One CSV cell's text, with a single quote in front when it is formula-like."""
    return f"'{text}" if is_formula_like(text) else text


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """A value ready for `sheet.append`: control characters removed, formula-like text as a text cell."""
    if not isinstance(value, str):
        return value
    # Control characters cannot be stored in a worksheet (openpyxl refuses them).
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not is_formula_like(text):
        return text
    cell = Cell(sheet, row=1, column=1, value=text)  # append() moves it to its place
    cell.data_type = "s"  # openpyxl would otherwise store a leading "=" as a formula
    cell.quotePrefix = True  # what Excel records for a typed leading apostrophe: stays text when edited
    return cell


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """Append one row to a worksheet (normal or write-only) with every cell made safe."""
    sheet.append([xlsx_cell(sheet, value) for value in values])


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with formula-like text in its header and string columns prefixed by a single quote."""
    frame = frame.rename({name: csv_text(name) for name in frame.columns if is_formula_like(name)})
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text_columns:
        return frame
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_TRIGGER_PATTERN) & ~pl.col(name).str.contains(_NUMBER_PATTERN))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text_columns
    )


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The frame as UTF-8 CSV with a BOM (so Excel reads the Chinese), formula-like text neutralised."""
    return CSV_BOM + neutralise_frame(frame).write_csv().encode("utf-8")


# ---- XLSX workbooks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetData:
    """One worksheet to write: its title, header row, data rows and, if given, column widths."""

    title: str
    header: Sequence[str]
    rows: Iterable[Iterable[Any]]
    widths: Sequence[float] = ()


def xlsx_bytes(*sheets: SheetData) -> bytes:
    """A workbook holding the sheets in order, streamed (write-only), every cell made safe."""
    workbook = Workbook(write_only=True)
    try:
        for data in sheets:
            sheet = workbook.create_sheet(data.title[:31])  # Excel's limit on a sheet title
            for index, width in enumerate(data.widths, start=1):
                sheet.column_dimensions[get_column_letter(index)].width = width
            append_row(sheet, data.header)
            for row in data.rows:
                append_row(sheet, row)
    except BaseException:
        # Rows are produced lazily and may fail (a refused parameter, a lost connection): finish the
        # sheets' temporary files now, or collecting them later writes to files already closed.
        for sheet in workbook.worksheets:
            if not sheet.closed:
                sheet.close()
        raise
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class UnreadableWorkbook(ValidationFailed):
    """The upload is not an XLSX workbook (or is a damaged one)."""

    message = UNREADABLE_WORKBOOK


class SheetRows(NamedTuple):
    header: tuple[Any, ...]
    rows: Iterator[tuple[int, tuple[Any, ...]]]  # (row number as the spreadsheet shows it, cell values)


def open_workbook(content: bytes) -> Any:
    """An uploaded workbook, read-only with computed values rather than formulas."""
    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) for a file that is not one
        raise UnreadableWorkbook() from exc


def sheet_rows(workbook: Any, title: str | None = None) -> SheetRows:
    """The header row and the non-blank rows after it, of the named sheet or else the first one."""
    if not workbook.worksheets:
        raise ValidationFailed("XLSX 文件中没有工作表")
    if title is not None and title not in workbook.sheetnames:
        raise ValidationFailed(f"工作簿缺少工作表“{title}”")
    sheet = workbook[title] if title is not None else workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None) or ()
    return SheetRows(header, ((number, values) for number, values in enumerate(rows, start=2) if not _blank(values)))


def _blank(values: tuple[Any, ...] | None) -> bool:
    return values is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def cell_text(value: Any) -> str | None:
    """A cell as text: dates in ISO form (without a midnight time), whole numbers without ".0"."""
    if value is None:
        return None
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat().removesuffix("T00:00:00")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
