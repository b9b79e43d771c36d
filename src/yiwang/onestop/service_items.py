"""Service items and 一件事 bundles: the catalog, merged forms and materials, savings, XLSX in and out."""

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yiwang.certs import service as certs_service
from yiwang.core import audit
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.inputs import check_parameters
from yiwang.core.security import Principal, check_department_scope
from yiwang.core.spreadsheets import SheetData, open_workbook, sheet_rows, xlsx_bytes
from yiwang.core.timeutil import utcnow
from yiwang.onestop.models import Bundle, BundleItem, ItemMaterial, ServiceItem
from yiwang.onestop.schemas import (
    SOURCE_NAMES,
    BundleCreate,
    BundleRead,
    FormField,
    ItemCreate,
    ItemRead,
    ItemUpdate,
    MaterialDef,
    MergedMaterial,
    Savings,
)
from yiwang.org import service as org_service

_department_names: dict[str, str] = {}


def _department_name(db: Session, code: str) -> str:
    if code not in _department_names:
        try:
            _department_names[code] = org_service.get_department_by_code(db, code=code).short_name
        except NotFound:
            return code
    return _department_names[code]


def _materials(db: Session, item_ids: list[int]) -> dict[int, list[ItemMaterial]]:
    found: dict[int, list[ItemMaterial]] = {i: [] for i in item_ids}
    if item_ids:
        rows = db.execute(
            select(ItemMaterial)
            .where(ItemMaterial.item_id.in_(item_ids))
            .order_by(ItemMaterial.position, ItemMaterial.id)
        ).scalars()
        for row in rows:
            found[row.item_id].append(row)
    return found


def materials_of(db: Session, item_ids: list[int]) -> dict[int, list[ItemMaterial]]:
    """The materials of several items in one query."""
    return _materials(db, item_ids)


def _material_def(m: ItemMaterial) -> MaterialDef:
    return MaterialDef(
        key=m.key,
        name=m.name,
        required=m.required,
        form=m.form,
        copies=m.copies,
        source=m.source,
        cert_type_code=m.cert_type_code,
        database=m.database,
        produced_by=m.produced_by,
        max_pages=m.max_pages,
    )


def to_read(db: Session, item: ServiceItem, materials: list[ItemMaterial] | None = None) -> ItemRead:
    if materials is None:
        materials = _materials(db, [item.id])[item.id]
    return ItemRead.model_validate(
        {
            "code": item.code,
            "basic_code": item.basic_code,
            "department_code": item.department_code,
            "department_name": _department_name(db, item.department_code),
            "active": item.active,
            "name": item.name,
            "category": item.category,
            "audience": item.audience,
            "life_event": item.life_event,
            "enterprise_event": item.enterprise_event,
            "legal_basis": item.legal_basis,
            "conditions": item.conditions,
            "legal_days": item.legal_days,
            "promised_days": item.promised_days,
            "visits": item.visits,
            "fee": item.fee,
            "fee_note": item.fee_note,
            "process": json.loads(item.process),
            "online": item.online,
            "online_depth": item.online_depth,
            "entry_point": item.entry_point,
            "produces_type_code": item.produces_type_code,
            "form": json.loads(item.form),
            "materials": [_material_def(m).model_dump() for m in materials],
        }
    )


def item_row(db: Session, code: str) -> ServiceItem:
    check_parameters(code)
    item = db.execute(select(ServiceItem).where(ServiceItem.code == code)).scalar_one_or_none()
    if item is None:
        raise NotFound(f"事项 {code} 不存在")
    return item


def get_item(db: Session, *, code: str) -> ItemRead:
    return to_read(db, item_row(db, code))


def search_items(
    db: Session,
    *,
    q: str | None = None,
    department_code: str | None = None,
    life_event: str | None = None,
    enterprise_event: str | None = None,
    audience: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[ItemRead], int]:
    """Active items matching a search by text, department, life event or enterprise event."""
    check_parameters(q, department_code, life_event, enterprise_event, audience)
    stmt = select(ServiceItem).where(ServiceItem.active.is_(True))
    if q:
        stmt = stmt.where(or_(ServiceItem.name.contains(q), ServiceItem.code.contains(q)))
    if department_code:
        stmt = stmt.where(ServiceItem.department_code == department_code)
    if life_event:
        stmt = stmt.where(ServiceItem.life_event == life_event)
    if enterprise_event:
        stmt = stmt.where(ServiceItem.enterprise_event == enterprise_event)
    if audience:
        stmt = stmt.where(ServiceItem.audience.in_([audience, "both"]))
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    items = list(
        db.execute(stmt.order_by(ServiceItem.department_code, ServiceItem.code).offset(offset).limit(limit)).scalars()
    )
    materials = _materials(db, [i.id for i in items])
    return [to_read(db, i, materials[i.id]) for i in items], total


def event_names(db: Session) -> dict[str, list[str]]:
    """The life events and enterprise events items are filed under, for the catalog filters."""
    life = db.execute(select(ServiceItem.life_event).where(ServiceItem.life_event.is_not(None)).distinct()).scalars()
    ent = db.execute(
        select(ServiceItem.enterprise_event).where(ServiceItem.enterprise_event.is_not(None)).distinct()
    ).scalars()
    return {"life": sorted(x for x in life if x), "enterprise": sorted(x for x in ent if x)}


def _set_materials(db: Session, item: ServiceItem, materials: list[MaterialDef]) -> None:
    for old in db.execute(select(ItemMaterial).where(ItemMaterial.item_id == item.id)).scalars():
        db.delete(old)
    db.flush()
    for position, m in enumerate(materials):
        db.add(ItemMaterial(item_id=item.id, position=position, **m.model_dump()))


def produced_type_problem(db: Session, *, department_code: str, type_code: str | None) -> str | None:
    """Why an item of this department cannot produce this certificate type, or None when it can.

    A certificate is signed by its type's issuing department, so only that department's items may
    produce it."""
    if type_code is None:
        return None
    try:
        ctype = certs_service.get_type(db, code=type_code)
    except NotFound:
        return f"证照类型 {type_code} 不存在"
    if ctype.issuer_department_code != department_code:
        issuer = ctype.issuer_department_code or "（未指定）"
        return f"“{ctype.name}”由 {issuer} 颁发，{department_code} 的事项不能产生该证照"
    return None


def create_item(db: Session, *, actor: Principal, data: ItemCreate, audited: bool = True) -> ItemRead:
    """Add a service item of a department within the actor's scope."""
    department = org_service.get_department_by_code(db, code=data.department_code)
    check_department_scope(actor, department.id)
    problem = produced_type_problem(db, department_code=department.code, type_code=data.produces_type_code)
    if problem:
        raise ValidationFailed(problem, code="not_type_issuer")
    if db.execute(select(ServiceItem.id).where(ServiceItem.code == data.code)).first():
        raise Conflict(f"事项实施编码 {data.code} 已存在")
    item = ServiceItem(
        code=data.code,
        basic_code=data.basic_code,
        name=data.name,
        department_id=department.id,
        department_code=department.code,
        category=data.category,
        audience=data.audience,
        life_event=data.life_event,
        enterprise_event=data.enterprise_event,
        legal_basis=data.legal_basis,
        conditions=data.conditions,
        legal_days=data.legal_days,
        promised_days=data.promised_days,
        visits=data.visits,
        fee=data.fee,
        fee_note=data.fee_note,
        process=json.dumps(data.process, ensure_ascii=False),
        online=data.online,
        online_depth=data.online_depth,
        entry_point=data.entry_point,
        produces_type_code=data.produces_type_code,
        form=json.dumps([f.model_dump(exclude_defaults=True) for f in data.form], ensure_ascii=False),
        active=True,
        updated_at=utcnow(),
    )
    db.add(item)
    db.flush()
    _set_materials(db, item, data.materials)
    db.flush()
    if audited:
        audit.record(
            db,
            actor=actor,
            action="onestop.item.create",
            target_type="service_item",
            target_id=data.code,
            details={"name": data.name, "department": data.department_code},
        )
    return to_read(db, item)


def update_item(db: Session, *, actor: Principal, code: str, data: ItemUpdate) -> ItemRead:
    item = item_row(db, code)
    check_department_scope(actor, item.department_id)
    changes = data.model_dump(exclude_unset=True)
    legal = changes.get("legal_days", item.legal_days)
    promised = changes.get("promised_days", item.promised_days)
    if promised > legal:
        raise ValidationFailed("承诺办结时限不能超过法定办结时限")
    for name, value in changes.items():
        setattr(item, name, value)
    item.updated_at = utcnow()
    db.flush()
    audit.record(
        db, actor=actor, action="onestop.item.update", target_type="service_item", target_id=code, details=changes
    )
    return to_read(db, item)


# ---- bundles ---------------------------------------------------------------------------------


def create_bundle(db: Session, *, actor: Principal, data: BundleCreate) -> BundleRead:
    if db.execute(select(Bundle.id).where(Bundle.code == data.code)).first():
        raise Conflict(f"一件事 {data.code} 已存在")
    org_service.get_department_by_code(db, code=data.lead_department_code)
    items = [item_row(db, code) for code in data.item_codes]
    bundle = Bundle(
        code=data.code,
        name=data.name,
        description=data.description,
        audience=data.audience,
        lead_department_code=data.lead_department_code,
        entry_point=True,
        active=True,
    )
    db.add(bundle)
    db.flush()
    for position, item in enumerate(items):
        db.add(BundleItem(bundle_id=bundle.id, item_id=item.id, position=position))
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="onestop.bundle.create",
        target_type="bundle",
        target_id=data.code,
        details={"items": data.item_codes},
    )
    return get_bundle(db, code=data.code)


def bundle_row(db: Session, code: str) -> Bundle:
    check_parameters(code)
    bundle = db.execute(select(Bundle).where(Bundle.code == code)).scalar_one_or_none()
    if bundle is None:
        raise NotFound(f"一件事 {code} 不存在")
    return bundle


def bundle_items(db: Session, bundle: Bundle) -> list[ServiceItem]:
    return list(
        db.execute(
            select(ServiceItem)
            .join(BundleItem, BundleItem.item_id == ServiceItem.id)
            .where(BundleItem.bundle_id == bundle.id)
            .order_by(BundleItem.position)
        ).scalars()
    )


def merge_forms(items: list[ItemRead]) -> list[FormField]:
    """One form: a field asked by several items is asked once (required if any item requires it)."""
    merged: dict[str, FormField] = {}
    for item in items:
        for field in item.form:
            if field.name in merged:
                if field.required and not merged[field.name].required:
                    merged[field.name] = merged[field.name].model_copy(update={"required": True})
            else:
                merged[field.name] = field
    return list(merged.values())


def merge_materials(items: list[ItemRead], *, in_bundle: bool) -> list[MergedMaterial]:
    """One set of materials: a document needed by several items is submitted once.

    In a bundle, a material another item of the bundle produces is not submitted at all; outside a
    bundle it has to be uploaded like any other document.
    """
    codes = {i.code for i in items}
    merged: dict[str, MergedMaterial] = {}
    for item in items:
        for m in item.materials:
            source = m.source
            if source == "bundle_item" and not (in_bundle and m.produced_by in codes):
                source = "upload"
            if m.key in merged:
                current = merged[m.key]
                current.items.append(item.code)
                current.required = current.required or m.required
                current.max_pages = max(current.max_pages, m.max_pages)
                continue
            merged[m.key] = MergedMaterial(
                key=m.key,
                name=m.name,
                required=m.required,
                source=source,
                source_name=SOURCE_NAMES[source],
                cert_type_code=m.cert_type_code,
                database=m.database,
                produced_by=m.produced_by,
                max_pages=m.max_pages,
                items=[item.code],
                form=m.form,
                copies=m.copies,
            )
    return list(merged.values())


def _pct(saved: int, before: int) -> float:
    return round(100.0 * saved / before, 1) if before else 0.0


def compute_savings(items: list[ItemRead]) -> Savings:
    """What the bundle saves, from the definitions alone, against applying item by item.

    Separately every item asks for all its materials (a document another item produces must be
    fetched and handed in), its own form, its own steps and visits, one after another. In the bundle
    each distinct document is submitted once, documents produced inside the bundle or available as
    e-certificates or base-database records are not submitted, steps run in parallel.
    """
    merged = merge_materials(items, in_bundle=True)
    documents_separate = sum(len(i.materials) for i in items)
    documents_bundle = sum(1 for m in merged if m.source == "upload")
    fields_separate = sum(len(i.form) for i in items)
    fields_bundle = len(merge_forms(items))
    steps_separate = sum(len(i.process) for i in items)
    steps_bundle = max((len(i.process) for i in items), default=0)
    visits_separate = sum(i.visits for i in items)
    visits_bundle = max((i.visits for i in items), default=0)
    days_separate = sum(i.promised_days for i in items)
    days_bundle = max((i.promised_days for i in items), default=0)
    return Savings(
        items=len(items),
        departments=len({i.department_code for i in items}),
        documents_separate=documents_separate,
        documents_bundle=documents_bundle,
        documents_saved_pct=_pct(documents_separate - documents_bundle, documents_separate),
        fields_separate=fields_separate,
        fields_bundle=fields_bundle,
        steps_separate=steps_separate,
        steps_bundle=steps_bundle,
        visits_separate=visits_separate,
        visits_bundle=visits_bundle,
        days_separate=days_separate,
        days_bundle=days_bundle,
        time_saved_pct=_pct(days_separate - days_bundle, days_separate),
    )


def get_bundle(db: Session, *, code: str) -> BundleRead:
    bundle = bundle_row(db, code)
    rows = bundle_items(db, bundle)
    materials = _materials(db, [r.id for r in rows])
    items = [to_read(db, r, materials[r.id]) for r in rows]
    return BundleRead(
        code=bundle.code,
        name=bundle.name,
        description=bundle.description,
        audience=bundle.audience,
        lead_department_code=bundle.lead_department_code,
        items=items,
        form=merge_forms(items),
        materials=merge_materials(items, in_bundle=True),
        savings=compute_savings(items),
    )


def list_bundles(db: Session) -> list[BundleRead]:
    codes = db.execute(select(Bundle.code).where(Bundle.active.is_(True)).order_by(Bundle.id)).scalars()
    return [get_bundle(db, code=c) for c in codes]


# ---- XLSX ------------------------------------------------------------------------------------

XLSX_COLUMNS = [
    ("code", "实施编码"),
    ("basic_code", "基本编码"),
    ("name", "事项名称"),
    ("department_code", "实施主体代码"),
    ("category", "事项类型"),
    ("audience", "服务对象"),
    ("life_event", "个人生命周期"),
    ("enterprise_event", "企业生命周期"),
    ("legal_basis", "设定依据"),
    ("conditions", "受理条件"),
    ("legal_days", "法定办结时限"),
    ("promised_days", "承诺办结时限"),
    ("visits", "到办事现场次数"),
    ("fee", "是否收费"),
    ("online", "是否网办"),
    ("online_depth", "网上办理深度"),
    ("entry_point", "接入总入口"),
    ("produces_type_code", "产生证照类型"),
    ("process", "办理流程(JSON)"),
    ("form", "表单(JSON)"),
    ("materials", "申请材料(JSON)"),
]


def export_xlsx(db: Session, *, department_code: str | None = None) -> bytes:
    """Items (all or one department's) as an XLSX workbook, one row per item."""
    header = [label for _, label in XLSX_COLUMNS]
    return xlsx_bytes(SheetData("政务服务事项", header, _export_rows(db, department_code)))


def _export_rows(db: Session, department_code: str | None) -> Iterator[list[Any]]:
    offset = 0
    while True:
        items, _ = search_items(db, department_code=department_code, offset=offset, limit=200)
        if not items:
            return
        for item in items:
            data = item.model_dump()
            row = []
            for key, _ in XLSX_COLUMNS:
                value = data.get(key)
                if key in ("process", "form", "materials"):
                    value = json.dumps(value, ensure_ascii=False)
                elif isinstance(value, bool):
                    value = "是" if value else "否"
                row.append(value)
            yield row
        offset += 200


def _cell(value: Any, key: str) -> Any:
    if key in ("fee", "online", "entry_point"):
        return str(value).strip() in ("是", "true", "True", "1", "Y")
    if key in ("process", "form", "materials"):
        return json.loads(value) if value else []
    if value is None or value == "":
        return None
    return value


def import_xlsx(db: Session, *, actor: Principal, content: bytes) -> dict[str, Any]:
    """Create or update items from a workbook in the export layout; bad rows are reported, not dropped."""
    from pydantic import ValidationError

    header, rows = sheet_rows(open_workbook(content))
    if [str(c or "") for c in header[: len(XLSX_COLUMNS)]] != [label for _, label in XLSX_COLUMNS]:
        raise ValidationFailed("表头与导出模板不一致")
    created = updated = 0
    rejected: list[dict[str, Any]] = []
    for number, row in rows:
        raw = {key: _cell(row[i] if i < len(row) else None, key) for i, (key, _) in enumerate(XLSX_COLUMNS)}
        raw = {k: v for k, v in raw.items() if v is not None}
        try:
            data = ItemCreate.model_validate(raw)
        except (ValidationError, json.JSONDecodeError) as exc:
            rejected.append({"row": number, "reason": str(exc)[:300]})
            continue
        existing = db.execute(select(ServiceItem).where(ServiceItem.code == data.code)).scalar_one_or_none()
        department_code = existing.department_code if existing else data.department_code
        problem = produced_type_problem(db, department_code=department_code, type_code=data.produces_type_code)
        if problem:
            rejected.append({"row": number, "reason": problem})
            continue
        if existing is None:
            create_item(db, actor=actor, data=data)
            created += 1
            continue
        check_department_scope(actor, existing.department_id)
        for key in (
            "name",
            "category",
            "audience",
            "life_event",
            "enterprise_event",
            "legal_basis",
            "conditions",
            "legal_days",
            "promised_days",
            "visits",
            "fee",
            "online",
            "online_depth",
            "entry_point",
            "produces_type_code",
        ):
            setattr(existing, key, getattr(data, key))
        existing.process = json.dumps(data.process, ensure_ascii=False)
        existing.form = json.dumps([f.model_dump(exclude_defaults=True) for f in data.form], ensure_ascii=False)
        existing.updated_at = utcnow()
        _set_materials(db, existing, data.materials)
        db.flush()
        updated += 1
    audit.record(
        db,
        actor=actor,
        action="onestop.item.import",
        target_type="service_item",
        target_id=None,
        details={"created": created, "updated": updated, "rejected": len(rejected)},
    )
    return {"created": created, "updated": updated, "rejected": rejected}
