"""The read model other domains use: active items and bundles as the plan's indicators count them,
aggregated in SQL (never item or application rows)."""

from sqlalchemy import Subquery, case, func, select, union
from sqlalchemy.orm import Session

from yiwang.onestop.models import Application, Bundle, BundleItem, ItemMaterial, MaterialClaim, ServiceItem
from yiwang.onestop.schemas import BundleSummary, ItemSummary

EXEMPT_SOURCES = ("certificate", "database")  # 免于提交: the platform fetches the material itself


def _material_counts() -> Subquery:
    exempt = case((ItemMaterial.source.in_(EXEMPT_SOURCES), 1), else_=0)
    return (
        select(
            ItemMaterial.item_id,
            func.count(ItemMaterial.id).label("materials"),
            func.sum(exempt).label("exempt"),
        )
        .group_by(ItemMaterial.item_id)
        .subquery()
    )


def _waived_applications() -> Subquery:
    """Per item, the applications in which one of its materials was waived: the item's own
    applications, and those of the bundles it belongs to, for the materials the item asks."""
    waived = (
        select(MaterialClaim.application_id, MaterialClaim.material_key)
        .where(MaterialClaim.satisfied_by.in_(EXEMPT_SOURCES))
        .subquery()
    )
    matches = (waived.c.application_id == Application.id) & (waived.c.material_key == ItemMaterial.key)
    by_item = (
        select(ItemMaterial.item_id, Application.id.label("application_id"))
        .join(Application, Application.item_id == ItemMaterial.item_id)
        .join(waived, matches)
    )
    by_bundle = (
        select(ItemMaterial.item_id, Application.id.label("application_id"))
        .join(BundleItem, BundleItem.item_id == ItemMaterial.item_id)
        .join(Application, Application.bundle_id == BundleItem.bundle_id)
        .join(waived, matches)
    )
    pairs = union(by_item, by_bundle).subquery()  # an application counts once per item
    return (
        select(pairs.c.item_id, func.count(pairs.c.application_id).label("applications"))
        .group_by(pairs.c.item_id)
        .subquery()
    )


def waived_material_item_count(db: Session) -> int:
    """Active items for which at least one application had a material waived (indicator 6 as measured)."""
    waived = _waived_applications()
    return int(
        db.execute(
            select(func.count(ServiceItem.id))
            .join(waived, waived.c.item_id == ServiceItem.id)
            .where(ServiceItem.active.is_(True), waived.c.applications > 0)
        ).scalar_one()
    )


def active_item_summaries(db: Session) -> list[ItemSummary]:
    """Every active item, by department and code, with its materials and the applications that waived one."""
    materials, waived = _material_counts(), _waived_applications()
    rows = db.execute(
        select(
            ServiceItem.code,
            ServiceItem.name,
            ServiceItem.department_code,
            ServiceItem.online,
            ServiceItem.online_depth,
            ServiceItem.entry_point,
            ServiceItem.produces_type_code,
            func.coalesce(materials.c.materials, 0),
            func.coalesce(materials.c.exempt, 0),
            func.coalesce(waived.c.applications, 0),
        )
        .outerjoin(materials, materials.c.item_id == ServiceItem.id)
        .outerjoin(waived, waived.c.item_id == ServiceItem.id)
        .where(ServiceItem.active.is_(True))
        .order_by(ServiceItem.department_code, ServiceItem.code)
    ).all()
    return [
        ItemSummary(
            code=code,
            name=name,
            department_code=department,
            online=online,
            online_depth=depth,
            entry_point=entry_point,
            produces_type_code=produces,
            materials=int(count),
            exempt_materials=int(exempt),
            waived_applications=int(applications),
        )
        for code, name, department, online, depth, entry_point, produces, count, exempt, applications in rows
    ]


def active_bundle_summaries(db: Session) -> list[BundleSummary]:
    """Every active 一件事, oldest first, with how many items it joins."""
    rows = db.execute(
        select(Bundle.code, Bundle.name, Bundle.lead_department_code, Bundle.entry_point, func.count(BundleItem.id))
        .outerjoin(BundleItem, BundleItem.bundle_id == Bundle.id)
        .where(Bundle.active.is_(True))
        .group_by(Bundle.id, Bundle.code, Bundle.name, Bundle.lead_department_code, Bundle.entry_point)
        .order_by(Bundle.id)
    ).all()
    return [
        BundleSummary(code=code, name=name, lead_department_code=lead, entry_point=entry_point, items=items)
        for code, name, lead, entry_point, items in rows
    ]
