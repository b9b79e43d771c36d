"""Fixtures of the onestop tests: a small two-department bundle (SPJ and CGJ) defined through the API."""

import io
from dataclasses import dataclass

import pytest
from pypdf import PdfWriter

from tests.conftest import bearer, unique


def pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@dataclass
class ShopBundle:
    code: str
    shop_item: str  # SPJ, produces 营业执照
    sign_item: str  # CGJ, needs the licence the shop item produces


@pytest.fixture
def types(client, admin_headers):
    return {t["name"]: t["code"] for t in client.get("/api/certs/types", headers=admin_headers).json()}


@pytest.fixture
def bundle(client, admin_headers, types) -> ShopBundle:
    tag = unique("T").upper()
    shop, sign = f"{tag}-SHOP", f"{tag}-SIGN"
    id_card = {"key": "id_card", "name": "居民身份证", "source": "certificate", "cert_type_code": types["居民身份证"]}
    plan = {"key": "floor_plan", "name": "平面图", "max_pages": 2}
    name = {"name": "applicant_name", "label": "申请人姓名", "prefill": "display_name"}
    shop_name = {"name": "shop_name", "label": "店名", "max_length": 30}
    items = [
        {
            "code": shop,
            "basic_code": shop,
            "department_code": "SPJ",
            "name": "测试开店登记",
            "promised_days": 3,
            "legal_days": 10,
            "process": ["申请", "受理", "审查", "办结"],
            "produces_type_code": types["营业执照"],
            "form": [name, {"name": "contact_phone", "label": "电话", "type": "phone", "required": False}, shop_name],
            "materials": [id_card, plan],
        },
        {
            "code": sign,
            "basic_code": sign,
            "department_code": "CGJ",
            "name": "测试店招审批",
            "promised_days": 5,
            "legal_days": 10,
            "visits": 1,
            "process": ["申请", "受理", "审查", "决定", "办结"],
            "form": [name, shop_name, {"name": "sign_area", "label": "面积", "type": "number", "min": 0.5, "max": 20}],
            "materials": [
                id_card,
                {"key": "licence", "name": "营业执照", "source": "bundle_item", "produced_by": shop},
                plan,
            ],
        },
    ]
    for item in items:
        response = client.post("/api/onestop/items", headers=admin_headers, json=item)
        assert response.status_code == 201, response.text
    code = f"{tag}-B"
    response = client.post(
        "/api/onestop/bundles",
        headers=admin_headers,
        json={"code": code, "name": "测试开店一件事", "lead_department_code": "SPJ", "item_codes": [shop, sign]},
    )
    assert response.status_code == 201, response.text
    return ShopBundle(code, shop, sign)


def upload(client, headers, material: str, content: bytes, filename: str = "a.pdf", **target: str):
    return client.post(
        "/api/onestop/attachments",
        headers=headers,
        data={"material": material, **target},
        files={"file": (filename, content, "application/pdf")},
    )


def apply_bundle(client, bundle: ShopBundle, username: str = "zhangsan", consent: bool = True):
    headers = bearer(client, username)
    attachment = upload(client, headers, "floor_plan", pdf(1), bundle=bundle.code)
    assert attachment.status_code == 201, attachment.text
    response = client.post(
        "/api/onestop/applications",
        headers=headers,
        json={
            "bundle_code": bundle.code,
            "form": {"shop_name": "虞山面馆", "sign_area": 3},
            "consent": consent,
            "attachments": {"floor_plan": attachment.json()["id"]},
        },
    )
    return headers, response
