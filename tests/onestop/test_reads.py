"""The read model other domains use: active items with the applications that actually waived a material
(indicator 6), and active bundles — aggregated in SQL, typed."""

from tests.conftest import bearer
from tests.onestop.conftest import ShopBundle, apply_bundle, pdf, upload
from yiwang.onestop import service
from yiwang.onestop.schemas import BundleSummary, ItemSummary


def _items(runtime) -> dict[str, ItemSummary]:
    with runtime.db.read_only() as db:
        return {i.code: i for i in service.active_item_summaries(db)}


def test_items_count_the_applications_that_took_a_material_from_a_certificate(client, runtime, bundle: ShopBundle):
    items = _items(runtime)
    shop, sign = items[bundle.shop_item], items[bundle.sign_item]
    assert all(isinstance(i, ItemSummary) for i in items.values())
    # both ask for the ID card from e-certificates; the licence comes from the shop item, not a waiver
    assert (shop.materials, shop.exempt_materials, shop.waived_applications) == (2, 1, 0)
    assert (sign.materials, sign.exempt_materials, sign.waived_applications) == (3, 1, 0)
    assert shop.produces_type_code and shop.department_code == "SPJ" and not sign.produces_type_code

    _, response = apply_bundle(client, bundle)  # the bundle asks for the ID card once, for both items
    assert response.status_code == 201, response.text
    items = _items(runtime)
    assert (items[bundle.shop_item].waived_applications, items[bundle.sign_item].waived_applications) == (1, 1)

    headers = bearer(client, "zhangsan")  # the shop item alone, the ID card uploaded instead
    plan = upload(client, headers, "floor_plan", pdf(1), item=bundle.shop_item).json()["id"]
    card = upload(client, headers, "id_card", pdf(1), item=bundle.shop_item).json()["id"]
    alone = client.post(
        "/api/onestop/applications",
        headers=headers,
        json={
            "item_code": bundle.shop_item,
            "form": {"shop_name": "虞山面馆"},
            "attachments": {"floor_plan": plan, "id_card": card},
        },
    )
    assert alone.status_code == 201, alone.text
    assert _items(runtime)[bundle.shop_item].waived_applications == 1


def test_bundles_with_their_items(runtime, bundle: ShopBundle):
    with runtime.db.read_only() as db:
        bundles = {b.code: b for b in service.active_bundle_summaries(db)}
        figures = service.indicator_figures(db)
    assert all(isinstance(b, BundleSummary) for b in bundles.values())
    assert (bundles[bundle.code].items, bundles[bundle.code].lead_department_code) == (2, "SPJ")
    assert bundles[bundle.code].entry_point
    assert len(bundles) == figures.bundle_count
