"""The registries the platform keeps for indicators it cannot compute from its own records:
government information systems (1–3), citizen-card scenarios (10), ecosystem enterprises (16) and
upstream Suzhou integrations (17–20). Maintenance, XLSX import (bad rows quarantined with reasons)
and export."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.brain import models as m
from yiwang.brain.schemas import (
    CardScenarioIn,
    EcosystemEnterpriseIn,
    GovSystemIn,
    ImportReport,
    UpstreamIntegrationIn,
)
from yiwang.core import audit
from yiwang.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.security import Principal
from yiwang.core.spreadsheets import SheetData, open_workbook, sheet_rows, xlsx_bytes
from yiwang.core.timeutil import local_today, utcnow
from yiwang.org import service as org_service

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 5000


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    kind: str = "text"  # text | bool | date | int | choice
    choices: tuple[tuple[str, str], ...] = ()  # (stored value, Chinese label)

    def label_of(self, value: Any) -> str:
        if value is None:
            return ""
        if self.kind == "bool":
            return "是" if value else "否"
        if self.kind == "choice":
            return dict(self.choices).get(value, str(value))
        if isinstance(value, date):
            return value.isoformat()
        return str(value)


# The registry tables: each has a code, a department and the time of its last change.
RegistryRow = m.GovSystem | m.CardScenario | m.EcosystemEnterprise | m.UpstreamIntegration
RegistryModel = type[RegistryRow]


@dataclass(frozen=True)
class RegistrySpec:
    key: str
    title: str
    indicators: tuple[int, ...]
    model: RegistryModel
    schema: type[BaseModel]
    columns: tuple[Column, ...]
    description: str

    def column(self, field: str) -> Column:
        return next(c for c in self.columns if c.field == field)


HOSTING = (("gov_cloud", "政务云"), ("own_room", "自建机房"))
NETWORK = (("extranet", "电子政务外网"), ("private", "部门专网"))
CARD_STATUS = (("live", "已上线"), ("pilot", "试点"), ("planned", "计划"))
ENTERPRISE_STATUS = (("settled", "已入驻"), ("negotiating", "洽谈中"), ("left", "已迁出"))
UPSTREAM_STATE = (("done", "已完成"), ("in_progress", "对接中"), ("not_started", "未启动"))
UPSTREAM_PLATFORMS = {
    17: "苏州市级政务信息资源共享平台",
    18: "苏州市级政务外网安全管理平台",
    19: "苏州市级政务云运维平台",
    20: "苏州市级项目管理平台",
}

_DEPT = Column("department_code", "部门代码")
SPECS: dict[str, RegistrySpec] = {
    spec.key: spec
    for spec in (
        RegistrySpec(
            "systems",
            "政务信息系统",
            (1, 2, 3),
            m.GovSystem,
            GovSystemIn,
            (
                Column("code", "系统编号"),
                Column("name", "系统名称"),
                _DEPT,
                Column("hosting", "部署位置", "choice", HOSTING),
                Column("network", "承载网络", "choice", NETWORK),
                Column("private_network", "原建专网"),
                Column("ipv6", "支持IPv6", "bool"),
                Column("note", "备注"),
            ),
            "各部门政务信息系统的部署（政务云/自建机房）、承载网络（电子政务外网/部门专网）与IPv6改造情况。"
            "“原建专网”填写系统原先所在的部门专网名称；承载网络已改为电子政务外网的即计为已整合。",
        ),
        RegistrySpec(
            "cards",
            "一卡通应用场景",
            (10,),
            m.CardScenario,
            CardScenarioIn,
            (
                Column("code", "场景编号"),
                Column("name", "场景名称"),
                _DEPT,
                Column("category", "类别"),
                Column("status", "状态", "choice", CARD_STATUS),
                Column("launched_on", "上线日期", "date"),
                Column("note", "备注"),
            ),
            "市民卡“一卡通”的应用场景；只有“已上线”的场景计入指标10。",
        ),
        RegistrySpec(
            "enterprises",
            "生态载体入驻企业",
            (16,),
            m.EcosystemEnterprise,
            EcosystemEnterpriseIn,
            (
                Column("code", "统一社会信用代码"),
                Column("name", "企业名称"),
                _DEPT,
                Column("field", "业务领域"),
                Column("status", "状态", "choice", ENTERPRISE_STATUS),
                Column("settled_on", "入驻日期", "date"),
                Column("note", "备注"),
            ),
            "大数据中心生态载体的企业；只有“已入驻”的企业计入指标16。",
        ),
        RegistrySpec(
            "upstream",
            "向上对接事项",
            (17, 18, 19, 20),
            m.UpstreamIntegration,
            UpstreamIntegrationIn,
            (
                Column("code", "事项编号"),
                Column("indicator_no", "指标序号", "int"),
                Column("name", "对接事项"),
                _DEPT,
                Column("state", "状态", "choice", UPSTREAM_STATE),
                Column("done_on", "完成日期", "date"),
                Column("note", "备注"),
            ),
            "与苏州市级平台的对接工作事项，备查。指标17–20不再由本台账计算，而由向上对接的消息记录计算"
            "（向上对接页面：登记为上级节点的各平台必须交换的消息是否已送达并经确认）。",
        ),
    )
}


def spec_for(key: str) -> RegistrySpec:
    try:
        return SPECS[key]
    except KeyError:
        raise NotFound("没有这个台账") from None


def _row_dict(spec: RegistrySpec, row: Any) -> dict[str, Any]:
    data = {c.field: getattr(row, c.field) for c in spec.columns}
    data["id"] = row.id
    data["updated_at"] = row.updated_at
    return data


def list_rows(db: Session, *, key: str, department_codes: set[str] | None = None) -> list[dict[str, Any]]:
    """Every row of a registry (or only those of the given departments), ordered by code."""
    spec = spec_for(key)
    query = select(spec.model).order_by(spec.model.code)
    if department_codes is not None:
        query = query.where(spec.model.department_code.in_(department_codes))
    return [_row_dict(spec, r) for r in db.execute(query).scalars()]


def get_row(db: Session, *, key: str, code: str) -> dict[str, Any]:
    spec = spec_for(key)
    row = _find(db, spec, code)
    if row is None:
        raise NotFound("台账记录不存在")
    return _row_dict(spec, row)


def _find(db: Session, spec: RegistrySpec, code: str) -> RegistryRow | None:
    row = db.execute(select(spec.model).where(spec.model.code == code)).scalar_one_or_none()
    return cast(RegistryRow | None, row)  # selecting one of several models is typed as their common base


def _department_codes(db: Session) -> dict[str, int]:
    return {d.code: d.id for d in org_service.list_departments(db, include_inactive=True)}


def _check_scope(actor: Principal, department_id: int | None) -> None:
    if not actor.has(SCOPE_ALL_DEPARTMENTS) and (
        department_id is None or department_id not in actor.scope_department_ids
    ):
        raise PermissionDenied("只能维护本部门的台账记录", code="department_scope")


def _save(db: Session, spec: RegistrySpec, data: BaseModel) -> tuple[Any, bool]:
    values = data.model_dump()
    row = _find(db, spec, values["code"])
    created = row is None
    if row is None:
        row = spec.model()
        db.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    db.flush()
    return row, created


def _check_rules(spec: RegistrySpec, data: BaseModel, departments: dict[str, int]) -> list[str]:
    """Rules beyond the field types: a known department, and dates consistent with states."""
    problems = []
    values = data.model_dump()
    if values["department_code"] not in departments:
        problems.append(f"部门代码 {values['department_code']} 不存在")
    if spec.key == "upstream" and values["state"] == "done" and values["done_on"] is None:
        problems.append("状态为“已完成”时须填写完成日期")
    if spec.key == "cards" and values["status"] == "live" and values["launched_on"] is None:
        problems.append("状态为“已上线”时须填写上线日期")
    if spec.key == "enterprises" and values["status"] == "settled" and values["settled_on"] is None:
        problems.append("状态为“已入驻”时须填写入驻日期")
    for name in ("launched_on", "done_on", "settled_on"):
        if values.get(name) and values[name] > local_today():
            problems.append("日期不能晚于今天")
    if spec.key == "systems" and values["network"] == "private" and not values["private_network"]:
        problems.append("承载网络为部门专网时须填写专网名称")
    return problems


def save_row(db: Session, *, actor: Principal, key: str, data: BaseModel) -> dict[str, Any]:
    """Create or update one registry row (by its code)."""
    spec = spec_for(key)
    if not isinstance(data, spec.schema):
        raise ValidationFailed("台账记录格式不对")
    departments = _department_codes(db)
    problems = _check_rules(spec, data, departments)
    if problems:
        raise ValidationFailed("；".join(problems), details={"reasons": problems})
    _check_scope(actor, departments[data.department_code])  # type: ignore[attr-defined]
    row, created = _save(db, spec, data)
    audit.record(
        db,
        actor=actor,
        action=f"brain.registry.{'create' if created else 'update'}",
        target_type=f"brain_{key}",
        target_id=row.code,
        details=data.model_dump(mode="json"),
    )
    return _row_dict(spec, row)


def delete_row(db: Session, *, actor: Principal, key: str, code: str) -> None:
    spec = spec_for(key)
    row = _find(db, spec, code)
    if row is None:
        raise NotFound("台账记录不存在")
    _check_scope(actor, _department_codes(db).get(row.department_code))
    db.delete(row)
    db.flush()
    audit.record(db, actor=actor, action="brain.registry.delete", target_type=f"brain_{key}", target_id=code)


# --- XLSX -----------------------------------------------------------------------------------------


def export_xlsx(db: Session, *, key: str, department_codes: set[str] | None = None) -> bytes:
    """The registry as an XLSX workbook with Chinese headers and labels, re-importable as is."""
    spec = spec_for(key)
    rows = (
        [spec.column(c.field).label_of(row[c.field]) for c in spec.columns]
        for row in list_rows(db, key=key, department_codes=department_codes)
    )
    return xlsx_bytes(
        SheetData(
            spec.title,
            [c.header for c in spec.columns],
            rows,
            widths=[max(12, len(c.header) * 2 + 4) for c in spec.columns],
        )
    )


def _parse_cell(column: Column, raw: Any) -> Any:
    """A cell as the schema expects it; labels and codes are both accepted for choices."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if column.kind == "date":
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        text = str(raw).strip().replace("/", "-").replace(".", "-")
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"“{column.header}”不是有效日期：{raw}") from None
    if column.kind == "bool":
        text = str(raw).strip().lower()
        if text in ("是", "y", "yes", "true", "1", "支持"):
            return True
        if text in ("否", "n", "no", "false", "0", "不支持"):
            return False
        raise ValueError(f"“{column.header}”应为“是”或“否”：{raw}")
    if column.kind == "int":
        try:
            return int(float(raw))
        except (TypeError, ValueError):
            raise ValueError(f"“{column.header}”应为整数：{raw}") from None
    text = str(raw).strip()
    if column.kind == "choice":
        by_label = {label: value for value, label in column.choices}
        if text in by_label:
            return by_label[text]
        if text in dict(column.choices):
            return text
        allowed = "、".join(label for _, label in column.choices)
        raise ValueError(f"“{column.header}”应为 {allowed} 之一：{raw}")
    return text


def _pydantic_reasons(spec: RegistrySpec, exc: ValidationError) -> list[str]:
    headers = {c.field: c.header for c in spec.columns}
    reasons = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "必填"
        reasons.append(f"“{headers.get(field, field)}”{message}")
    return reasons


def import_xlsx(db: Session, *, actor: Principal, key: str, content: bytes, filename: str = "") -> ImportReport:
    """Save every valid row; keep every rejected row with its reasons in the import report."""
    spec = spec_for(key)
    if not content:
        raise ValidationFailed("上传的文件是空的")
    if len(content) > MAX_IMPORT_BYTES:
        raise ValidationFailed("文件过大（上限 5 MB）")
    raw_header, rows = sheet_rows(open_workbook(content))
    header = [str(h).strip() if h is not None else "" for h in raw_header]
    by_header = {c.header: c for c in spec.columns} | {c.field: c for c in spec.columns}
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in by_header:
            positions[by_header[name].field] = index
    missing = [c.header for c in spec.columns if c.field not in positions and c.field in _required(spec)]
    if missing:
        raise ValidationFailed(f"表头缺少列：{'、'.join(missing)}", details={"missing": missing})
    departments = _department_codes(db)
    saved, rejects, total, seen = 0, [], 0, set()
    for row_no, values in rows:
        total += 1
        if total > MAX_IMPORT_ROWS:
            raise ValidationFailed(f"行数过多（上限 {MAX_IMPORT_ROWS} 行）")
        raw = {f: (values[i] if i < len(values) else None) for f, i in positions.items()}
        shown = {spec.column(f).header: ("" if v is None else str(v)) for f, v in raw.items()}
        reasons: list[str] = []
        parsed: dict[str, Any] = {}
        for field_name, value in raw.items():
            try:
                cell = _parse_cell(spec.column(field_name), value)
            except ValueError as exc:
                reasons.append(str(exc))
                continue
            if cell is not None:
                parsed[field_name] = cell
        data = None
        if not reasons:
            try:
                data = spec.schema(**parsed)
            except ValidationError as exc:
                reasons.extend(_pydantic_reasons(spec, exc))
        if data is not None:
            reasons.extend(_check_rules(spec, data, departments))
            code = data.code  # type: ignore[attr-defined]
            if code in seen:
                reasons.append(f"编号 {code} 在文件中重复")
            elif not reasons and not _in_scope(actor, departments.get(data.department_code)):  # type: ignore[attr-defined]
                reasons.append("只能导入本部门的台账记录")
        if reasons:
            rejects.append({"row": row_no, "values": shown, "reasons": reasons})
            continue
        assert data is not None
        seen.add(data.code)  # type: ignore[attr-defined]
        _save(db, spec, data)
        saved += 1
    record = m.RegistryImport(
        registry_key=key,
        filename=filename[:200],
        actor=actor.username,
        rows_total=total,
        rows_saved=saved,
        rows_rejected=len(rejects),
        rejects=json.dumps(rejects, ensure_ascii=False),
        created_at=utcnow(),
    )
    db.add(record)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="brain.registry.import",
        target_type=f"brain_{key}",
        target_id=record.id,
        details={"filename": filename, "rows": total, "saved": saved, "rejected": len(rejects)},
    )
    return ImportReport(
        id=record.id, registry=key, rows_total=total, rows_saved=saved, rows_rejected=len(rejects), rejects=rejects
    )


def _in_scope(actor: Principal, department_id: int | None) -> bool:
    return actor.has(SCOPE_ALL_DEPARTMENTS) or (
        department_id is not None and department_id in actor.scope_department_ids
    )


def _required(spec: RegistrySpec) -> set[str]:
    return {name for name, info in spec.schema.model_fields.items() if info.is_required()}


def get_import(db: Session, *, import_id: int) -> ImportReport:
    record = db.get(m.RegistryImport, import_id)
    if record is None:
        raise NotFound("导入记录不存在")
    return ImportReport(
        id=record.id,
        registry=record.registry_key,
        rows_total=record.rows_total,
        rows_saved=record.rows_saved,
        rows_rejected=record.rows_rejected,
        rejects=json.loads(record.rejects),
    )


def recent_imports(db: Session, *, key: str, limit: int = 5) -> list[m.RegistryImport]:
    query = select(m.RegistryImport).where(m.RegistryImport.registry_key == key)
    return list(db.execute(query.order_by(m.RegistryImport.id.desc()).limit(limit)).scalars())


# --- the indicators the registries answer --------------------------------------------------------


@dataclass
class RegistryMeasure:
    value: float | None
    numerator: float | None
    denominator: float | None
    records: list[dict[str, Any]]
    columns: list[tuple[str, str]]
    reason: str = ""


def _ratio(counted: int, total: int) -> float | None:
    return round(100.0 * counted / total, 2) if total else None


def _systems(db: Session) -> list[m.GovSystem]:
    return list(db.execute(select(m.GovSystem).order_by(m.GovSystem.code)).scalars())


SYSTEM_COLUMNS = [("code", "系统编号"), ("name", "系统名称"), ("department_code", "部门"), ("detail", "情况")]


def _system_records(
    systems: list[m.GovSystem], counts: Callable[[m.GovSystem], bool], detail: Callable[[m.GovSystem], str]
) -> list[dict[str, Any]]:
    return [
        {
            "code": s.code,
            "name": s.name,
            "department_code": s.department_code,
            "detail": detail(s),
            "counted": counts(s),
        }
        for s in systems
    ]


def measure(db: Session, no: int) -> RegistryMeasure:
    """The value of a registry-based indicator and the rows behind it ("counted" marks those that count)."""
    if no in (1, 2, 3):
        systems = _systems(db)
        if no == 1:
            pool = systems
            counts: Callable[[m.GovSystem], bool] = lambda s: s.hosting == "gov_cloud"  # noqa: E731
            detail: Callable[[m.GovSystem], str] = lambda s: dict(HOSTING)[s.hosting]  # noqa: E731
        elif no == 2:
            pool = [s for s in systems if s.private_network]
            counts = lambda s: s.network == "extranet"  # noqa: E731
            detail = lambda s: f"{s.private_network} → {dict(NETWORK)[s.network]}"  # noqa: E731
        else:
            pool = systems
            counts = lambda s: s.ipv6  # noqa: E731
            detail = lambda s: "已支持IPv6" if s.ipv6 else "未支持IPv6"  # noqa: E731
        records = _system_records(pool, counts, detail)
        counted = sum(r["counted"] for r in records)
        reason = "" if pool else "台账中没有记录"
        return RegistryMeasure(_ratio(counted, len(pool)), counted, len(pool), records, SYSTEM_COLUMNS, reason)
    if no == 10:
        rows = list(db.execute(select(m.CardScenario).order_by(m.CardScenario.code)).scalars())
        records = [
            {
                "code": r.code,
                "name": r.name,
                "department_code": r.department_code,
                "detail": dict(CARD_STATUS)[r.status] + (f"（{r.launched_on}）" if r.launched_on else ""),
                "counted": r.status == "live",
            }
            for r in rows
        ]
        counted = sum(r["counted"] for r in records)
        columns = [("code", "场景编号"), ("name", "场景"), ("department_code", "部门"), ("detail", "状态")]
        return RegistryMeasure(
            float(counted) if rows else None, counted, None, records, columns, "" if rows else "台账中没有记录"
        )
    if no == 16:
        enterprises = list(db.execute(select(m.EcosystemEnterprise).order_by(m.EcosystemEnterprise.code)).scalars())
        records = [
            {
                "code": r.code,
                "name": r.name,
                "department_code": r.department_code,
                "detail": dict(ENTERPRISE_STATUS)[r.status] + (f"（{r.settled_on}）" if r.settled_on else ""),
                "counted": r.status == "settled",
            }
            for r in enterprises
        ]
        counted = sum(r["counted"] for r in records)
        columns = [("code", "统一社会信用代码"), ("name", "企业"), ("field", "领域"), ("detail", "状态")]
        for record, row in zip(records, enterprises, strict=True):
            record["field"] = row.field
        return RegistryMeasure(
            float(counted) if enterprises else None,
            counted,
            None,
            records,
            columns,
            "" if enterprises else "台账中没有记录",
        )
    raise KeyError(no)
