"""Applying: pre-fill, consent and the certificate use log, upload checks, form errors."""

from tests.conftest import bearer
from tests.onestop.conftest import ShopBundle, apply_bundle, pdf, upload


def test_prefill_from_profile_and_material_sources(client, bundle: ShopBundle):
    body = client.get("/api/onestop/prefill", headers=bearer(client, "zhangsan"), params={"bundle": bundle.code}).json()
    assert body["values"] == {"applicant_name": "张三"}
    sources = {m["key"]: m["available"] for m in body["materials"]}
    assert sources == {"id_card": "certificate", "floor_plan": "upload", "licence": "bundle_item"}


def test_consent_lets_certificates_replace_uploads_and_each_use_is_logged(client, bundle: ShopBundle):
    headers, response = apply_bundle(client, bundle)
    assert response.status_code == 201, response.text
    application = response.json()
    claims = {c["material_key"]: c for c in application["claims"]}
    assert claims["id_card"]["satisfied_by"] == "certificate" and claims["id_card"]["reference"].startswith(
        "1.2.156.3005.2."
    )
    assert claims["licence"]["satisfied_by"] == "bundle_item"
    assert claims["floor_plan"]["satisfied_by"] == "upload"
    assert application["consent_given"] is True
    assert application["form"]["applicant_name"] == "张三"  # pre-filled from the profile
    uses = client.get("/api/certs/uses", headers=headers).json()
    mine = [u for u in uses if u["reference"] == application["number"]]
    assert len(mine) == 1 and mine[0]["identifier"] == claims["id_card"]["reference"]
    assert mine[0]["type_name"] == "居民身份证" and "免于提交" in mine[0]["purpose"]
    # the holder sees it; nobody else's log shows it
    assert all(
        u["reference"] != application["number"]
        for u in client.get("/api/certs/uses", headers=bearer(client, "lisi")).json()
    )


def test_without_consent_the_certificate_material_must_be_uploaded(client, bundle: ShopBundle):
    _, response = apply_bundle(client, bundle, consent=False)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "materials_missing"
    assert [d["material"] for d in error["details"]] == ["id_card"]
    assert "同意授权" in error["details"][0]["message"]


def test_bad_uploads_give_clear_errors(client, bundle: ShopBundle):
    headers = bearer(client, "zhangsan")
    cases = [
        (b"", "upload_empty"),
        (b"hello, plain text", "upload_bad_type"),
        (b"%PDF-1.4\nthis is not really a pdf", "upload_bad_pdf"),
        (pdf(3), "upload_too_many_pages"),  # the floor plan allows 2 pages
        (b"%PDF-" + b"0" * (10 * 1024 * 1024 + 1), "upload_too_large"),
    ]
    for content, code in cases:
        response = upload(client, headers, "floor_plan", content, bundle=bundle.code)
        assert response.status_code == 422, (code, response.text)
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["message"]
    ok = upload(client, headers, "floor_plan", pdf(2), bundle=bundle.code)
    assert ok.status_code == 201 and ok.json()["pages"] == 2
    png = upload(
        client, headers, "floor_plan", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="p.png", bundle=bundle.code
    )
    assert png.status_code == 201 and png.json()["content_type"] == "image/png"


def test_uploaded_files_are_stored_under_files_dir(client, runtime, bundle: ShopBundle):
    content = pdf(1)
    response = upload(client, bearer(client, "zhangsan"), "floor_plan", content, bundle=bundle.code)
    from yiwang.core.crypto import suite_for_hash

    algorithm = response.json()["digest_algorithm"]
    digest = response.json()["digest"]
    assert digest == suite_for_hash(algorithm).hexdigest(content)
    stored = list((runtime.settings.files_dir / "onestop").rglob(f"{digest[:16]}-*"))
    assert stored and stored[0].read_bytes() == content


def test_bad_forms_list_every_problem(client, bundle: ShopBundle):
    headers = bearer(client, "zhangsan")
    attachment = upload(client, headers, "floor_plan", pdf(1), bundle=bundle.code).json()["id"]
    response = client.post(
        "/api/onestop/applications",
        headers=headers,
        json={
            "bundle_code": bundle.code,
            "consent": True,
            "attachments": {"floor_plan": attachment},
            "form": {"contact_phone": "12345", "sign_area": 100, "nickname": "x"},
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "form_invalid"
    problems = {d["field"]: d["message"] for d in error["details"]}
    assert problems.keys() == {"nickname", "contact_phone", "shop_name", "sign_area"}
    assert (
        problems["shop_name"] == "必填" and "手机" in problems["contact_phone"] and "不能大于" in problems["sign_area"]
    )
    both = client.post(
        "/api/onestop/applications", headers=headers, json={"bundle_code": bundle.code, "item_code": bundle.shop_item}
    )
    assert both.status_code == 422


def test_attachments_cannot_be_reused_or_borrowed(client, bundle: ShopBundle):
    headers, response = apply_bundle(client, bundle)
    assert response.status_code == 201
    used = next(c for c in response.json()["claims"] if c["material_key"] == "floor_plan")["reference"]
    again = client.post(
        "/api/onestop/applications",
        headers=headers,
        json={
            "bundle_code": bundle.code,
            "consent": True,
            "form": {"shop_name": "x", "sign_area": 3},
            "attachments": {"floor_plan": int(used)},
        },
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "attachments_invalid"
    other = client.post(
        "/api/onestop/applications",
        headers=bearer(client, "lisi"),
        json={
            "bundle_code": bundle.code,
            "consent": True,
            "form": {"shop_name": "x", "sign_area": 3},
            "attachments": {"floor_plan": int(used)},
        },
    )
    assert other.status_code == 422


def test_staff_cannot_apply(client, bundle: ShopBundle):
    response = client.post(
        "/api/onestop/applications", headers=bearer(client, "spj_handler"), json={"bundle_code": bundle.code}
    )
    assert response.status_code == 403


def test_applying_through_the_page(client, bundle: ShopBundle):
    from tests.conftest import page_login

    csrf = page_login(client, "zhangsan")
    page = client.get("/onestop/apply", params={"bundle": bundle.code}, headers={"accept": "text/html"})
    assert page.status_code == 200 and 'value="张三"' in page.text and "免提交" in page.text
    bad = client.post(
        "/onestop/apply",
        headers={"accept": "text/html"},
        data={
            "csrf_token": csrf,
            "bundle": bundle.code,
            "consent": "yes",
            "f_shop_name": "虞山面馆",
            "f_sign_area": "3",
        },
        files={"m_floor_plan": ("plan.txt", b"not a pdf", "text/plain")},
    )
    assert bad.status_code == 422 and "文件类型不支持" in bad.text
    response = client.post(
        "/onestop/apply",
        headers={"accept": "text/html"},
        follow_redirects=False,
        data={
            "csrf_token": csrf,
            "bundle": bundle.code,
            "consent": "yes",
            "f_shop_name": "虞山面馆",
            "f_sign_area": "3",
        },
        files={"m_floor_plan": ("plan.pdf", pdf(1), "application/pdf")},
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/onestop/applications/BJ-")
    progress = client.get(response.headers["location"], headers={"accept": "text/html"})
    assert "测试开店一件事" in progress.text and "待受理" in progress.text
    me = client.get("/onestop/me", headers={"accept": "text/html"})
    assert me.status_code == 200 and "城市服务总入口" in me.text and "测试开店一件事" in me.text


def test_nul_characters_are_a_4xx_everywhere(client, bundle: ShopBundle, admin_headers):
    headers = bearer(client, "zhangsan")
    assert client.get("/api/onestop/items", params={"q": "a\x00b"}).status_code == 422
    assert client.get("/api/onestop/items/X%00Y").status_code == 422
    assert client.get("/api/onestop/applications/BJ%00", headers=headers).status_code == 422
    response = client.post(
        "/api/onestop/applications", headers=headers, json={"bundle_code": bundle.code, "form": {"shop_name": "a\x00"}}
    )
    assert response.status_code == 422
    assert client.get("/api/certs/1.2.%00", headers=admin_headers).status_code == 422


def test_applications_since_counts_submissions_for_the_city_signs(runtime):
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from yiwang.onestop import service as onestop_service
    from yiwang.onestop.models import Application

    with runtime.db.unit_of_work() as db:
        everything = db.execute(select(func.count(Application.id))).scalar_one()
        assert everything > 0  # the demo submits applications
        assert onestop_service.applications_since(db, since=datetime(2000, 1, 1, tzinfo=UTC)) == everything
        assert onestop_service.applications_since(db, since=datetime(2999, 1, 1, tzinfo=UTC)) == 0
