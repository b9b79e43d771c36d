"""Workbooks are written and read in one place: sheets, widths, row numbers, blank rows, junk uploads."""

import gc
from datetime import date, datetime

import pytest

from yiwang.core.errors import ValidationFailed
from yiwang.core.spreadsheets import (
    UNREADABLE_WORKBOOK,
    SheetData,
    UnreadableWorkbook,
    cell_text,
    open_workbook,
    sheet_rows,
    xlsx_bytes,
)


def test_a_written_workbook_reads_back_with_its_row_numbers_and_without_blank_rows():
    content = xlsx_bytes(
        SheetData("甲", ["代码", "名称"], [["A1", "=1+1"], [None, "  "], ["A3", 3.0]], widths=[20, 30]),
        SheetData("乙" * 40, ["x"], iter([[date(2026, 2, 14)]])),
    )
    workbook = open_workbook(content)
    assert workbook.sheetnames == ["甲", "乙" * 31]
    header, rows = sheet_rows(workbook, "甲")
    assert header == ("代码", "名称")
    assert list(rows) == [(2, ("A1", "=1+1")), (4, ("A3", 3))]
    header, rows = sheet_rows(workbook, "乙" * 31)
    assert header == ("x",) and [cell_text(v) for _, (v,) in rows] == ["2026-02-14"]


def test_a_missing_sheet_and_a_file_that_is_no_workbook_are_4xx():
    with pytest.raises(ValidationFailed, match="缺少工作表“丙”"):
        sheet_rows(open_workbook(xlsx_bytes(SheetData("甲", ["x"], []))), "丙")
    with pytest.raises(UnreadableWorkbook) as raised:
        open_workbook(b"\x00\x01not a workbook")
    assert raised.value.status_code == 422 and raised.value.message == UNREADABLE_WORKBOOK


def test_rows_that_fail_half_way_leave_nothing_open():
    def rows():
        yield ["A1"]
        raise ValidationFailed("参数包含非法字符")

    with pytest.raises(ValidationFailed):
        xlsx_bytes(SheetData("甲", ["x"], []), SheetData("乙", ["x"], rows()))
    gc.collect()  # an unfinished sheet would now write to its closed file, which pytest reports


def test_cells_as_text():
    # Spreadsheet cells hold times without a zone, and so does what openpyxl reads from them.
    midnight, morning = datetime(2026, 2, 14), datetime(2026, 2, 14, 8, 30)  # noqa: DTZ001
    assert cell_text(None) is None
    assert cell_text(midnight) == "2026-02-14"
    assert cell_text(morning) == "2026-02-14T08:30:00"
    assert cell_text(12.0) == "12" and cell_text(12.5) == "12.5" and cell_text("  x ") == "  x "
