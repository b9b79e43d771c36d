"""The resource catalog: drafting, review and publication, versions, search with facets, XLSX."""

import io

from openpyxl import load_workbook

from tests.catalog.helpers import PERSON_ITEMS, publish_entry
from tests.conftest import bearer, unique


def test_a_steward_drafts_and_the_bureau_publishes_with_versions_kept(client):
    entry = publish_entry(client, name=f"河道巡查记录{unique()}")
    assert entry["status"] == "published" and entry["version"] == 1
    code = entry["code"]
    assert code.startswith("HBJ-")
    steward = bearer(client, "hbj_steward")
    changed = {k: v for k, v in entry.items() if k in ("name", "items", "sharing_type", "open_type", "update_cycle")}
    changed |= {"summary": "修改后的摘要，说明第二版的变化。", "note": "补充摘要"}
    updated = client.put(f"/api/catalog/entries/{code}", json=changed, headers=steward)
    assert updated.status_code == 200
    # The published version stays live until the bureau publishes the change.
    assert updated.json()["status"] == "published" and updated.json()["has_draft"]
    assert updated.json()["summary"] == entry["summary"]
    client.post(f"/api/catalog/entries/{code}/submit", headers=steward)
    admin = bearer(client, "admin")
    published = client.post(f"/api/catalog/entries/{code}/review", json={"approve": True}, headers=admin).json()
    assert published["version"] == 2 and published["summary"].startswith("修改后")
    versions = client.get(f"/api/catalog/entries/{code}/versions", headers=steward).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["snapshot"]["summary"] == entry["summary"]


def test_only_the_bureau_publishes_and_a_return_needs_reasons(client):
    steward = bearer(client, "hbj_steward")
    code = client.post(
        "/api/catalog/entries", json={"name": f"测试{unique()}", "items": PERSON_ITEMS}, headers=steward
    ).json()["code"]
    client.post(f"/api/catalog/entries/{code}/submit", headers=steward)
    # hbj_steward holds the review permission as a steward, but is not the big-data bureau.
    denied = client.post(f"/api/catalog/entries/{code}/review", json={"approve": True}, headers=steward)
    assert denied.status_code == 403
    dsj = bearer(client, "dsj_steward")
    assert client.post(f"/api/catalog/entries/{code}/review", json={"approve": False}, headers=dsj).status_code == 422
    returned = client.post(
        f"/api/catalog/entries/{code}/review", json={"approve": False, "note": "摘要过短"}, headers=dsj
    )
    assert returned.status_code == 200 and returned.json()["status"] == "draft"
    assert returned.json()["review_note"] == "摘要过短"


def test_important_and_core_data_are_never_opened_nor_shared_unconditionally(client):
    steward = bearer(client, "hbj_steward")
    body = {"name": f"重要{unique()}", "items": PERSON_ITEMS, "data_grade": "重要", "open_type": "无条件开放"}
    assert client.post("/api/catalog/entries", json=body, headers=steward).status_code == 422
    body |= {"open_type": "不予开放", "sharing_type": "无条件共享", "data_grade": "核心"}
    assert client.post("/api/catalog/entries", json=body, headers=steward).status_code == 422
    body |= {"sharing_type": "有条件共享"}
    assert client.post("/api/catalog/entries", json=body, headers=steward).status_code == 201


def test_stewards_cannot_edit_another_departments_entries(client):
    entry = publish_entry(client)
    other = bearer(client, "dsj_steward")  # the bureau may; a steward elsewhere may not
    cgj = bearer(client, "cgj_admin")
    body = {"name": entry["name"], "items": entry["items"]}
    assert client.put(f"/api/catalog/entries/{entry['code']}", json=body, headers=cgj).status_code == 403
    assert client.put(f"/api/catalog/entries/{entry['code']}", json=body, headers=other).status_code == 200


def test_chinese_substring_search_finds_names_summaries_and_items_with_facets(client):
    headers = bearer(client, "cgj_handler")
    found = client.get("/api/catalog/entries", params={"q": "空气"}, headers=headers).json()
    assert "环境空气质量监测数据" in [i["name"] for i in found["items"]]
    assert found["facets"]["department"].get("HBJ", 0) >= 1
    assert set(found["facets"]) == {"department", "category", "sharing_type", "open_type"}
    marker = unique("字段")
    items = [*PERSON_ITEMS, {"name": "marker_field", "label": marker}]
    publish_entry(client, items=items)
    by_item = client.get("/api/catalog/entries", params={"q": marker}, headers=headers).json()
    assert by_item["total"] == 1
    narrowed = client.get("/api/catalog/entries", params={"q": "空气", "department": "GAJ"}, headers=headers).json()
    assert all(i["department_code"] == "GAJ" for i in narrowed["items"])
    assert client.get("/api/catalog/entries", params={"q": "%"}, headers=headers).status_code == 200


def test_drafts_are_visible_only_to_their_department_and_the_bureau(client):
    steward = bearer(client, "hbj_steward")
    name = f"草稿{unique()}"
    code = client.post("/api/catalog/entries", json={"name": name, "items": PERSON_ITEMS}, headers=steward).json()[
        "code"
    ]
    cgj = bearer(client, "cgj_handler")
    assert client.get(f"/api/catalog/entries/{code}", headers=cgj).status_code == 404
    assert client.get("/api/catalog/entries", params={"q": name, "status": "draft"}, headers=cgj).json()["total"] == 0
    assert client.get(f"/api/catalog/entries/{code}", headers=bearer(client, "admin")).status_code == 200


def test_xlsx_export_then_import_with_a_bad_code_refused_and_a_good_one_created(client):
    steward = bearer(client, "hbj_steward")
    exported = client.get("/api/catalog/export.xlsx", headers=steward)
    assert exported.status_code == 200
    workbook = load_workbook(io.BytesIO(exported.content))
    assert workbook.sheetnames == ["目录", "信息项"]
    entries = workbook["目录"]
    header = [c.value for c in entries[1]]
    assert "信息资源代码" in header and "共享类型" in header
    # Keep the header and one new entry (code left empty) with two items, then import it.
    name = f"导入资源{unique()}"
    for row in list(entries.iter_rows(min_row=2)):
        for cell in row:
            cell.value = None
    values = dict.fromkeys(header)
    values.update(
        {
            "信息资源名称": name,
            "提供方代码": "HBJ",
            "共享类型": "有条件共享",
            "开放属性": "不予开放",
            "更新周期": "每月",
            "数据分级": "2",
            "信息资源分类": "部门信息资源",
            "信息资源代码": "IMPORT-1",
        }
    )
    entries.append([values[h] for h in header])
    items = workbook["信息项"]
    for row in list(items.iter_rows(min_row=2)):
        for cell in row:
            cell.value = None
    items.append(["IMPORT-1", "site", "站点", "string", None, "是", "none", "", 1, "none", "是"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    bad = client.post("/api/catalog/import", files={"file": ("c.xlsx", buffer.getvalue())}, headers=steward)
    assert bad.status_code == 422  # IMPORT-1 is not a valid resource code
    entries.cell(row=entries.max_row, column=header.index("信息资源代码") + 1).value = None
    items.cell(row=items.max_row, column=1).value = None
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = client.post("/api/catalog/import", files={"file": ("c.xlsx", buffer.getvalue())}, headers=steward)
    assert response.status_code == 200, response.text  # a code left empty is assigned on import
    assert response.json()["created"] == 1
    found = client.get("/api/catalog/entries", params={"q": name, "status": "draft"}, headers=steward).json()
    assert found["total"] == 1
    entry = client.get(f"/api/catalog/entries/{found['items'][0]['code']}", headers=steward).json()
    assert [i["name"] for i in entry["items"]] == ["site"]


def test_xlsx_import_creates_entries_and_refuses_junk(client):
    from openpyxl import Workbook

    from yiwang.catalog.workbook import ENTRY_COLUMNS, ITEM_COLUMNS

    steward = bearer(client, "hbj_steward")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "目录"
    sheet.append([label for _, label in ENTRY_COLUMNS])
    name = f"导入{unique()}"
    row = dict.fromkeys(n for n, _ in ENTRY_COLUMNS)
    row.update({"code": "HBJ-90001", "name": name, "department_code": "HBJ", "summary": "导入测试", "tags": "a,b"})
    sheet.append([row[n] for n, _ in ENTRY_COLUMNS])
    items = workbook.create_sheet("信息项")
    items.append([label for _, label in ITEM_COLUMNS])
    items.append(["HBJ-90001", "site", "站点", "string", 20, "是", "none", "", 1, "none", "是"])
    items.append(["HBJ-90001", "pm25", "PM2.5", "number", None, "否", "range", "0,1000", 1, "none", "否"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = client.post("/api/catalog/import", files={"file": ("c.xlsx", buffer.getvalue())}, headers=steward)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    entry = client.get("/api/catalog/entries/HBJ-90001", headers=steward).json()
    assert [i["name"] for i in entry["items"]] == ["site", "pm25"] and entry["tags"] == ["a", "b"]
    junk = client.post("/api/catalog/import", files={"file": ("c.xlsx", b"\x00\x01not a workbook")}, headers=steward)
    assert junk.status_code == 422 and "XLSX" in junk.json()["error"]["message"]


def test_catalog_pages_render(client):
    from tests.conftest import page_login

    page_login(client, "hbj_steward")
    html = {"accept": "text/html"}
    page = client.get("/catalog?q=空气", headers=html)
    assert page.status_code == 200 and "环境空气质量监测数据" in page.text
    assert client.get("/catalog/HBJ-00001", headers=html).status_code == 200
    assert client.get("/catalog/new", headers=html).status_code == 200
    assert client.get("/catalog/export.xlsx").status_code == 200


def test_nul_characters_are_refused_not_stored(client):
    steward = bearer(client, "hbj_steward")
    response = client.post("/api/catalog/entries", json={"name": "坏\x00名字", "items": PERSON_ITEMS}, headers=steward)
    assert response.status_code == 422
