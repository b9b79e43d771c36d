"""What an application asks for: the (merged) form and its checks, pre-filled values, how each material is met."""

import json
import re
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from yiwang.certs import service as certs_service
from yiwang.core.crypto import FieldCipher
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.identifiers import IdentifierError, is_mobile, validate_credit_code, validate_id_number
from yiwang.core.security import Principal
from yiwang.onestop import personal, service_items
from yiwang.onestop.models import (
    Application,
    Bundle,
    ServiceItem,
)
from yiwang.onestop.schemas import (
    DATABASE_NAMES,
    FormField,
    ItemRead,
    MergedMaterial,
    PrefillRead,
)
from yiwang.org import service as org_service

DATABASE_KINDS = {
    "population": {"citizen"},
    "legal_person": {"enterprise"},
    "credit": {"enterprise", "citizen"},
    "real_estate": {"citizen", "enterprise"},
}


def _field_error(field: FormField, value: Any) -> tuple[Any, str | None]:
    """The cleaned value of one field, or an error message (Chinese)."""
    if field.type == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None, "应为数字"
        if field.min is not None and number < field.min:
            return None, f"不能小于 {field.min:g}"
        if field.max is not None and number > field.max:
            return None, f"不能大于 {field.max:g}"
        return (int(number) if number.is_integer() else number), None
    if not isinstance(value, str):
        return None, "应为文本"
    text = value.strip()
    if field.type == "date":
        try:
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, "应为日期（YYYY-MM-DD）"
    if field.type == "select" and text not in field.options:
        return None, f"应为以下之一：{'、'.join(field.options)}"
    try:
        if field.type == "id_number":
            text = validate_id_number(text)
        elif field.type == "credit_code":
            text = validate_credit_code(text)
    except IdentifierError as exc:
        return None, str(exc)
    if field.type == "phone" and not is_mobile(text):
        return None, "应为11位手机号码"
    if field.min_length is not None and len(text) < field.min_length:
        return None, f"至少 {field.min_length} 个字"
    if len(text) > (field.max_length or 2000):
        return None, f"不能超过 {field.max_length or 2000} 个字"
    if field.pattern and not re.fullmatch(field.pattern, text):
        return None, "格式不正确"
    return text, None


def validate_form(fields: list[FormField], values: dict[str, Any]) -> dict[str, Any]:
    """Cleaned values, or ValidationFailed listing every field that is wrong (nothing silently dropped)."""
    known = {f.name: f for f in fields}
    errors = [{"field": name, "label": name, "message": "表单中没有这个字段"} for name in values if name not in known]
    cleaned: dict[str, Any] = {}
    for field in fields:
        value = values.get(field.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if field.required:
                errors.append({"field": field.name, "label": field.label, "message": "必填"})
            continue
        result, error = _field_error(field, value)
        if error:
            errors.append({"field": field.name, "label": field.label, "message": error})
        else:
            cleaned[field.name] = result
    if errors:
        summary = "；".join(f"{e['label']}：{e['message']}" for e in errors[:5])
        raise ValidationFailed(f"表单填写有误：{summary}", code="form_invalid", details=errors)
    return cleaned


def profile_values(
    db: Session, actor: Principal, cipher: FieldCipher | None, fields: list[FormField]
) -> dict[str, Any]:
    """Values to pre-fill from the applicant's own account; clear personal fields are an audited read."""
    assert actor.user_id is not None
    account = org_service.get_account(db, user_id=actor.user_id)
    values: dict[str, Any] = {
        "display_name": account.display_name,
        "username": account.username,
        "credit_code": account.credit_code,
    }
    if cipher is not None and any(f.prefill in ("id_number", "phone") for f in fields):
        own = org_service.read_personal_fields(
            db, actor=actor, user_id=actor.user_id, cipher=cipher, reason="在线办事表单预填"
        )
        values |= {"id_number": own.id_number, "phone": own.phone}
    return {f.name: values.get(f.prefill) for f in fields if f.prefill and values.get(f.prefill)}


def resolve_target(
    db: Session, *, item_code: str | None, bundle_code: str | None
) -> tuple[str, Bundle | None, list[ServiceItem]]:
    if bundle_code:
        bundle = service_items.bundle_row(db, bundle_code)
        if not bundle.active:
            raise NotFound("该一件事已停用")
        return bundle.name, bundle, service_items.bundle_items(db, bundle)
    item = service_items.item_row(db, item_code or "")
    if not item.active:
        raise NotFound("该事项已停用")
    if not item.online:
        raise ValidationFailed("该事项暂不支持网上办理，请到政务服务中心窗口办理", code="not_online")
    return item.name, None, [item]


def definitions(
    db: Session, bundle: Bundle | None, rows: list[ServiceItem]
) -> tuple[list[ItemRead], list[FormField], list[MergedMaterial]]:
    materials = service_items.materials_of(db, [r.id for r in rows])
    items = [service_items.to_read(db, r, materials[r.id]) for r in rows]
    in_bundle = bundle is not None
    return items, service_items.merge_forms(items), service_items.merge_materials(items, in_bundle=in_bundle)


def availability(
    db: Session, actor: Principal, materials: list[MergedMaterial]
) -> dict[str, tuple[str, str | None, str]]:
    """For each material: how it could be satisfied without upload (source, reference, note)."""
    assert actor.user_id is not None
    wanted = [m.cert_type_code for m in materials if m.source == "certificate" and m.cert_type_code]
    held = certs_service.usable_certificates(db, holder_user_id=actor.user_id, type_codes=wanted)
    found: dict[str, tuple[str, str | None, str]] = {}
    for m in materials:
        if m.source == "certificate" and m.cert_type_code in held:
            cert = held[m.cert_type_code]
            found[m.key] = ("certificate", cert.identifier, f"电子证照：{cert.type_name}")
        elif m.source == "database" and m.database and actor.kind in DATABASE_KINDS[m.database]:
            found[m.key] = ("database", m.database, f"{DATABASE_NAMES[m.database]}在线核验")
        elif m.source == "bundle_item":
            found[m.key] = ("bundle_item", m.produced_by, f"由本件事中的事项 {m.produced_by} 办结后产生")
    return found


def prefill(
    db: Session,
    *,
    actor: Principal,
    cipher: FieldCipher | None,
    item_code: str | None = None,
    bundle_code: str | None = None,
) -> PrefillRead:
    """The (merged) form with values from the applicant's profile, and how each material can be met."""
    _, bundle, rows = resolve_target(db, item_code=item_code, bundle_code=bundle_code)
    _, fields, materials = definitions(db, bundle, rows)
    available = availability(db, actor, materials)
    return PrefillRead(
        form=fields,
        values=profile_values(db, actor, cipher, fields),
        materials=[
            m.model_dump()
            | {
                "available": available.get(m.key, ("upload", None, "需上传"))[0],
                "reference": available.get(m.key, ("upload", None, ""))[1],
                "note": available.get(m.key, ("upload", None, "需上传"))[2],
            }
            for m in materials
        ],
    )


def material_page_limit(db: Session, *, material_key: str, item_code: str | None, bundle_code: str | None) -> int:
    """The page limit of a material as the item or bundle defines it."""
    _, bundle, rows = resolve_target(db, item_code=item_code, bundle_code=bundle_code)
    for m in definitions(db, bundle, rows)[2]:
        if m.key == material_key:
            return m.max_pages
    raise ValidationFailed(f"该办件不需要材料 {material_key}", code="unknown_material")


def _form_fields(db: Session, application: Application) -> list[FormField]:
    """The (merged) form the application was made with."""
    if application.bundle_id:
        bundle = db.get(Bundle, application.bundle_id)
        assert bundle is not None
        return definitions(db, bundle, service_items.bundle_items(db, bundle))[1]
    item = db.get(ServiceItem, application.item_id)
    assert item is not None
    return definitions(db, None, [item])[1]


def amend_form(db: Session, application: Application, values: dict[str, Any], cipher: FieldCipher) -> None:
    """Corrected form values from a supplement: checked like the form, personal ones sealed again."""
    fields = _form_fields(db, application)
    cleaned = validate_form([f for f in fields if f.name in values], values)
    amended = personal.split(fields, cleaned)
    application.form_data = json.dumps(json.loads(application.form_data) | amended.stored, ensure_ascii=False)
    if amended.personal:
        held = personal.unseal(cipher, application.number, application.personal_data)
        application.personal_data = personal.seal(cipher, application.number, held | amended.personal)
