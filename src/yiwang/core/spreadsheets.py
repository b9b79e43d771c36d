"""Spreadsheet exports (XLSX and CSV) that never turn data into live formulas.

A text value starting with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by
spreadsheet programs (CSV injection, OWASP). Exports neutralise such text here, in one place:
XLSX cells keep the exact text but are written as text with Excel's quote-prefix flag; CSV cells
get a leading single quote. Numbers stay numbers, and a text that is just a number ("-3.5", "+86")
is left alone, since it cannot run anything.
"""

import re
from collections.abc import Iterable
from typing import Any

import polars as pl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

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
