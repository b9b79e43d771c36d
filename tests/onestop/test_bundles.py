"""一件事: one merged form, one set of materials, and savings computed from the definitions."""

from tests.onestop.conftest import ShopBundle


def test_merged_form_asks_each_field_once(client, bundle: ShopBundle):
    body = client.get(f"/api/onestop/bundles/{bundle.code}").json()
    names = [f["name"] for f in body["form"]]
    assert names == ["applicant_name", "contact_phone", "shop_name", "sign_area"]
    assert len(names) == len(set(names))


def test_shared_materials_are_submitted_once_and_bundle_products_not_at_all(client, bundle: ShopBundle):
    body = client.get(f"/api/onestop/bundles/{bundle.code}").json()
    materials = {m["key"]: m for m in body["materials"]}
    assert set(materials) == {"id_card", "floor_plan", "licence"}
    assert materials["floor_plan"]["items"] == [bundle.shop_item, bundle.sign_item]
    assert materials["id_card"]["source"] == "certificate"
    assert materials["licence"]["source"] == "bundle_item" and materials["licence"]["produced_by"] == bundle.shop_item
    # the same licence is an ordinary upload when the sign item is applied for alone
    from tests.conftest import bearer

    alone = client.get("/api/onestop/prefill", headers=bearer(client, "zhangsan"), params={"item": bundle.sign_item})
    assert {m["key"]: m["available"] for m in alone.json()["materials"]}["licence"] == "upload"


def test_savings_against_item_by_item(client, bundle: ShopBundle):
    savings = client.get(f"/api/onestop/bundles/{bundle.code}").json()["savings"]
    assert savings["items"] == 2 and savings["departments"] == 2
    # separately: 2 + 3 documents; in the bundle only the floor plan is uploaded (id card from the wallet,
    # licence produced inside the bundle)
    assert (savings["documents_separate"], savings["documents_bundle"], savings["documents_saved_pct"]) == (5, 1, 80.0)
    assert (savings["fields_separate"], savings["fields_bundle"]) == (6, 4)
    assert (savings["steps_separate"], savings["steps_bundle"]) == (9, 5)
    assert (savings["visits_separate"], savings["visits_bundle"]) == (1, 1)
    assert (savings["days_separate"], savings["days_bundle"], savings["time_saved_pct"]) == (8, 5, 37.5)


def test_the_six_named_demo_bundles_exist_with_savings(client):
    bundles = {b["name"]: b for b in client.get("/api/onestop/bundles").json()}
    for name in ("开办企业", "新生儿出生", "开餐馆", "二手房转移登记", "就业登记", "身后事"):
        assert name in bundles
        assert bundles[name]["savings"]["documents_bundle"] < bundles[name]["savings"]["documents_separate"]
    assert bundles["开办企业"]["savings"]["items"] == 6
    assert len({i["department_code"] for i in bundles["新生儿出生"]["items"]}) == 4


def test_catalog_search_by_event_and_department(client):
    births = client.get("/api/onestop/items", params={"life_event": "出生"}).json()
    assert births["total"] >= 4 and all(i["life_event"] == "出生" for i in births["items"])
    spj = client.get("/api/onestop/items", params={"department": "SPJ", "size": 200}).json()
    assert spj["total"] >= 4 and {i["department_code"] for i in spj["items"]} == {"SPJ"}
    ent = client.get("/api/onestop/items", params={"enterprise_event": "开办餐饮"}).json()
    assert ent["total"] >= 1


def test_public_catalog_pages(anon, bundle: ShopBundle):
    page = anon.get("/onestop", headers={"accept": "text/html"}, params={"q": "测试开店"})
    assert page.status_code == 200 and "测试开店登记" in page.text
    detail = anon.get(f"/onestop/bundles/{bundle.code}", headers={"accept": "text/html"})
    assert detail.status_code == 200 and "80.0%" in detail.text


def test_item_definitions_are_validated(client, admin_headers):
    bad = {
        "code": "BAD-0001",
        "basic_code": "BAD-0001",
        "department_code": "SPJ",
        "name": "坏事项",
        "legal_days": 5,
        "promised_days": 10,
        "materials": [{"key": "x", "name": "证照", "source": "certificate"}],
    }
    response = client.post("/api/onestop/items", headers=admin_headers, json=bad)
    assert response.status_code == 422
    text = str(response.json()["error"]["details"])
    assert "承诺办结时限" in text or "证照类型" in text


def test_department_admin_edits_only_own_items(client, bundle: ShopBundle):
    from tests.conftest import bearer

    headers = bearer(client, "cgj_admin")
    assert (
        client.patch(f"/api/onestop/items/{bundle.sign_item}", headers=headers, json={"visits": 0}).status_code == 200
    )
    assert (
        client.patch(f"/api/onestop/items/{bundle.shop_item}", headers=headers, json={"visits": 0}).status_code == 403
    )


def test_xlsx_export_and_import_round_trip(client, admin_headers, bundle: ShopBundle):
    export = client.get("/api/onestop/items.xlsx", headers=admin_headers, params={"department": "CGJ"})
    assert export.status_code == 200 and export.content[:2] == b"PK"
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(export.content))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    code_col, name_col = header.index("实施编码"), header.index("事项名称")
    row = next(r for r in sheet.iter_rows(min_row=2) if r[code_col].value == bundle.sign_item)
    row[name_col].value = "测试店招审批（已改名）"
    sheet.append(["BADROW"])  # a broken row is reported, not dropped silently
    buffer = BytesIO()
    book.save(buffer)
    result = client.post(
        "/api/onestop/items/import",
        headers=admin_headers,
        files={"file": ("items.xlsx", buffer.getvalue(), "application/octet-stream")},
    ).json()
    assert result["updated"] >= 1 and len(result["rejected"]) == 1 and result["rejected"][0]["row"] == sheet.max_row
    assert client.get(f"/api/onestop/items/{bundle.sign_item}").json()["name"] == "测试店招审批（已改名）"
    garbage = client.post(
        "/api/onestop/items/import", headers=admin_headers, files={"file": ("x.xlsx", b"nope", "a/b")}
    )
    assert garbage.status_code == 422


def test_item_admin_and_log_pages_render(client, anon, bundle: ShopBundle):
    from tests.conftest import page_login

    html = {"accept": "text/html"}
    item = anon.get(f"/onestop/items/{bundle.sign_item}", headers=html)
    assert item.status_code == 200 and "承诺办结时限" in item.text and "由事项" in item.text
    assert "最新检查点" in anon.get("/certs/log", headers=html).text
    assert anon.get("/certs/verify", headers=html).status_code == 200
    assert anon.get("/onestop/admin/items", headers=html, follow_redirects=False).status_code == 303
    csrf = page_login(client, "cgj_admin")
    admin = client.get("/onestop/admin/items", headers=html)
    assert admin.status_code == 200 and bundle.sign_item in admin.text and bundle.shop_item not in admin.text
    saved = client.post(
        f"/onestop/admin/items/{bundle.sign_item}",
        headers=html,
        follow_redirects=False,
        data={
            "csrf_token": csrf,
            "name": "测试店招审批",
            "legal_days": 10,
            "promised_days": 4,
            "visits": 0,
            "online": "yes",
        },
    )
    assert saved.status_code == 303
    assert client.get(f"/api/onestop/items/{bundle.sign_item}").json()["promised_days"] == 4
    bad = client.post(
        f"/onestop/admin/items/{bundle.sign_item}",
        headers=html,
        data={"csrf_token": csrf, "name": "x", "legal_days": 1, "promised_days": 4, "visits": 0},
    )
    assert bad.status_code == 422 and "承诺办结时限" in bad.text
