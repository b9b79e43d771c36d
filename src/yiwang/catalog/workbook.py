"""The catalog as an XLSX workbook (sheets 目录 and 信息项): export what the caller can see, and import
with every row checked first, all rows or none.
"""

import io
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.catalog import permissions as perm
from yiwang.catalog.models import CatalogEntry
from yiwang.catalog.schemas import (
    ENTRY_CODE,
    EntryUpdate,
    ImportReport,
    InfoItem,
)
from yiwang.catalog.service import create_entry, is_bureau, update_entry
from yiwang.core import audit
from yiwang.core.errors import ValidationFailed
from yiwang.core.security import Principal, check
from yiwang.core.spreadsheets import append_row

ENTRY_COLUMNS = [
    ("code", "信息资源代码"),
    ("name", "信息资源名称"),
    ("category", "信息资源分类"),
    ("subject", "分类项目"),
    ("department_code", "提供方代码"),
    ("summary", "信息资源摘要"),
    ("format", "信息资源格式"),
    ("sharing_type", "共享类型"),
    ("sharing_condition", "共享条件"),
    ("sharing_method", "共享方式"),
    ("open_type", "开放属性"),
    ("update_cycle", "更新周期"),
    ("release_date", "发布日期"),
    ("related_codes", "关联资源代码"),
    ("data_grade", "数据分级"),
    ("tags", "标签"),
    ("licence", "开放许可"),
    ("status", "状态"),
]


ITEM_COLUMNS = [
    ("code", "信息资源代码"),
    ("name", "字段名"),
    ("label", "信息项名称"),
    ("data_type", "数据类型"),
    ("length", "长度"),
    ("required", "必填"),
    ("validator", "校验规则"),
    ("validator_arg", "校验参数"),
    ("sensitivity", "敏感级别"),
    ("masking", "脱敏规则"),
    ("is_key", "主键"),
]


def export_xlsx(db: Session, *, actor: Principal) -> bytes:
    """The catalog the caller can see, as an XLSX workbook with sheets 目录 and 信息项."""
    from openpyxl import Workbook

    check(actor, perm.ENTRY_READ)
    bureau = is_bureau(db, actor)
    workbook = Workbook(write_only=True)
    entries_sheet = workbook.create_sheet("目录")
    items_sheet = workbook.create_sheet("信息项")
    append_row(entries_sheet, [label for _, label in ENTRY_COLUMNS])
    append_row(items_sheet, [label for _, label in ITEM_COLUMNS])
    stmt = select(CatalogEntry).order_by(CatalogEntry.code)
    if not bureau:
        stmt = stmt.where(
            (CatalogEntry.status == "published") | CatalogEntry.department_id.in_(list(actor.scope_department_ids))
        )
    count = 0
    for entry in db.execute(stmt).scalars():
        row = []
        for name, _ in ENTRY_COLUMNS:
            value = getattr(entry, name)
            if isinstance(value, list):
                value = ",".join(value)
            elif isinstance(value, date):
                value = value.isoformat()
            row.append(value)
        append_row(entries_sheet, row)
        for item in entry.items:
            append_row(
                items_sheet,
                (
                    entry.code,
                    item.name,
                    item.label,
                    item.data_type,
                    item.length,
                    "是" if item.required else "否",
                    item.validator,
                    item.validator_arg,
                    item.sensitivity,
                    item.masking,
                    "是" if item.is_key else "否",
                ),
            )
        count += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    audit.record(db, actor=actor, action="catalog.export", target_type="catalog", details={"entries": count})
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _sheet_rows(workbook: Any, title: str, columns: list[tuple[str, str]]) -> list[tuple[int, dict[str, str]]]:
    if title not in workbook.sheetnames:
        raise ValidationFailed(f"工作簿缺少工作表“{title}”")
    rows = workbook[title].iter_rows(values_only=True)
    header = [_cell(c) for c in next(rows, ())]
    by_label = {label: name for name, label in columns}
    missing = [label for name, label in columns if label not in header and name not in ("status",)]
    if missing:
        raise ValidationFailed(f"工作表“{title}”缺少列", details={"missing": missing})
    found = []
    for number, values in enumerate(rows, start=2):
        if values is None or all(v is None or _cell(v) == "" for v in values):
            continue
        record = {by_label[h]: _cell(v) for h, v in zip(header, values, strict=False) if h in by_label}
        found.append((number, record))
    return found


def _yes(value: str) -> bool:
    return value in ("是", "Y", "y", "true", "True", "1", "TRUE")


def import_xlsx(db: Session, *, actor: Principal, content: bytes) -> ImportReport:
    """Create or update entries from a workbook laid out like export_xlsx; all rows or none.

    Every row is checked first; if any row fails, nothing is written and every problem is reported
    with its sheet and row number. Updates of published entries become pending drafts.
    """
    from openpyxl import load_workbook

    check(actor, perm.ENTRY_WRITE)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ValidationFailed("无法读取 XLSX 文件，请确认是 Excel 2007 及以上格式（.xlsx）") from exc
    entry_rows = _sheet_rows(workbook, "目录", ENTRY_COLUMNS)
    item_rows = _sheet_rows(workbook, "信息项", ITEM_COLUMNS)
    items_by_code: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, record in item_rows:
        items_by_code.setdefault(record.get("code", ""), []).append((number, record))
    errors: list[dict] = []
    parsed: list[tuple[str, EntryUpdate]] = []
    for number, record in entry_rows:
        code = record.get("code", "")
        try:
            items = [
                InfoItem(
                    name=r.get("name", ""),
                    label=r.get("label", ""),
                    data_type=r.get("data_type") or "string",
                    length=int(r["length"]) if r.get("length") else None,
                    required=_yes(r.get("required", "")),
                    validator=r.get("validator") or "none",
                    validator_arg=r.get("validator_arg", ""),
                    sensitivity=int(r.get("sensitivity") or 1),
                    masking=r.get("masking") or "none",
                    is_key=_yes(r.get("is_key", "")),
                )
                for _, r in items_by_code.get(code, [])
            ]
            data = EntryUpdate(
                name=record.get("name", ""),
                category=record.get("category") or "部门信息资源",
                subject=record.get("subject", ""),
                department_code=record.get("department_code") or None,
                summary=record.get("summary", ""),
                format=record.get("format") or "数据库",
                items=items,
                sharing_type=record.get("sharing_type") or "有条件共享",
                sharing_condition=record.get("sharing_condition", ""),
                sharing_method=record.get("sharing_method") or "接口",
                open_type=record.get("open_type") or "不予开放",
                update_cycle=record.get("update_cycle") or "每月",
                release_date=date.fromisoformat(record["release_date"]) if record.get("release_date") else None,
                related_codes=[c for c in record.get("related_codes", "").split(",") if c],
                data_grade=record.get("data_grade") or "2",
                tags=[t for t in record.get("tags", "").split(",") if t],
                licence=record.get("licence", ""),
                note="XLSX 导入",
            )
        except (ValidationError, ValueError) as exc:
            message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            errors.append(
                {"sheet": "目录", "row": number, "code": code, "message": message.removeprefix("Value error, ")}
            )
            continue
        parsed.append((code, data))
    known = set(db.execute(select(CatalogEntry.code)).scalars())
    for code in items_by_code:
        if code and code not in {c for c, _ in parsed} and code not in known:
            number = items_by_code[code][0][0]
            errors.append(
                {"sheet": "信息项", "row": number, "code": code, "message": "信息项引用的资源代码不在目录表中"}
            )
    if errors:
        raise ValidationFailed(f"导入失败：{len(errors)} 行有误，未写入任何数据", details={"errors": errors[:200]})
    created = updated = 0
    for code, data in parsed:
        if code and code in known:
            update_entry(db, actor=actor, code=code, data=data)
            updated += 1
        else:
            if code and not _code_ok(code):
                raise ValidationFailed(f"资源代码 {code} 格式无效")
            create_entry(db, actor=actor, data=data, code=code or None)
            created += 1
    audit.record(
        db,
        actor=actor,
        action="catalog.import",
        target_type="catalog",
        details={"created": created, "updated": updated},
    )
    return ImportReport(created=created, updated=updated)


def _code_ok(code: str) -> bool:
    return bool(ENTRY_CODE.match(code))
