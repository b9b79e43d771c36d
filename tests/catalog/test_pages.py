"""The catalog's pages as people use them: a steward drafts and edits an entry through the form and
submits it, the big-data bureau returns it with a reason and then publishes it; search, XLSX import and
export through the pages; who may open what."""

import io

import pytest
from openpyxl import load_workbook

from tests.conftest import bearer, page_login, unique

HTML = {"accept": "text/html"}


def _entry_form(csrf: str, name: str, **fields: str) -> dict[str, str]:
    """The edit form as a browser posts it: two filled item rows, an empty one, and the rest unsent."""
    return {
        "csrf_token": csrf,
        "name": name,
        "category": "部门信息资源",
        "subject": "生态环境/大气",
        "format": "接口",
        "sharing_type": "有条件共享",
        "sharing_condition": "仅用于环境执法",
        "sharing_method": "接口",
        "open_type": "不予开放",
        "update_cycle": "每日",
        "data_grade": "2",
        "related_codes": "",
        "tags": "空气，监测",  # a Chinese comma separates tags too
        "licence": "",
        "summary": "页面编制的测试资源，记录各监测站点的细颗粒物浓度。",
        "item-0-name": "site",
        "item-0-label": "站点",
        "item-0-data_type": "string",
        "item-0-length": "20",
        "item-0-required": "on",
        "item-0-validator": "none",
        "item-0-validator_arg": "",
        "item-0-sensitivity": "1",
        "item-0-masking": "none",
        "item-0-is_key": "on",
        "item-1-name": "pm25",
        "item-1-label": "",
        "item-1-data_type": "number",
        "item-1-length": "",
        "item-1-validator": "range",
        "item-1-validator_arg": "0,1000",
        "item-1-sensitivity": "1",
        "item-1-masking": "none",
        "item-2-name": "",  # a row left empty is not saved
        "item-2-label": "",
        **fields,
    }


def _code_from(response) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.endswith("?notice=saved"), location
    return location.removeprefix("/catalog/").removesuffix("?notice=saved")


def test_a_steward_drafts_and_edits_through_the_form_and_the_bureau_returns_then_publishes(client, anon):
    steward_csrf = page_login(client, "hbj_steward")
    name = f"页面编制资源{unique()}"
    code = _code_from(client.post("/catalog/new", data=_entry_form(steward_csrf, name), follow_redirects=False))
    assert code.startswith("HBJ-")

    saved = client.get(f"/api/catalog/entries/{code}", headers=bearer(client, "hbj_steward")).json()
    assert saved["status"] == "draft" and saved["name"] == name and saved["tags"] == ["空气", "监测"]
    assert [(i["name"], i["label"]) for i in saved["items"]] == [("site", "站点"), ("pm25", "pm25")]
    site, pm25 = saved["items"]
    assert site["length"] == 20 and site["required"] and site["is_key"]
    assert pm25["data_type"] == "number" and pm25["validator"] == "range" and pm25["validator_arg"] == "0,1000"
    assert not pm25["required"] and not pm25["is_key"]

    page = client.get(f"/catalog/{code}", headers=HTML)
    assert page.status_code == 200
    assert name in page.text and "草稿" in page.text and "空气、监测" in page.text
    assert f'action="/catalog/{code}/submit"' in page.text and f'href="/catalog/{code}/edit"' in page.text

    edit = client.get(f"/catalog/{code}/edit", headers=HTML)
    assert edit.status_code == 200 and f'value="{name}"' in edit.text and 'value="pm25"' in edit.text
    changed = _entry_form(steward_csrf, name, summary="修改后的摘要：增加了站点编号。", note="补充摘要")
    assert _code_from(client.post(f"/catalog/{code}/edit", data=changed, follow_redirects=False)) == code
    assert client.get(f"/api/catalog/entries/{code}", headers=bearer(client, "hbj_steward")).json()["summary"] == (
        "修改后的摘要：增加了站点编号。"
    )

    submitted = client.post(f"/catalog/{code}/submit", data={"csrf_token": steward_csrf}, follow_redirects=False)
    assert _code_from(submitted) == code

    bureau_csrf = page_login(anon, "dsj_steward")
    queue = anon.get("/catalog/review", headers=HTML)
    assert queue.status_code == 200 and code in queue.text and "只有大数据局可以审核发布" not in queue.text
    pending = anon.get(f"/catalog/{code}", headers=HTML)
    assert "待审核" in pending.text and f'action="/catalog/{code}/review"' in pending.text

    no_reason = anon.post(
        f"/catalog/{code}/review", data={"csrf_token": bureau_csrf, "approve": "0", "note": ""}, headers=HTML
    )
    assert no_reason.status_code == 422, "a return needs a reason"
    unstorable = anon.post(
        f"/catalog/{code}/review",
        data={"csrf_token": bureau_csrf, "approve": "0", "note": "摘要\x00过短"},
        headers=HTML,
    )
    assert unstorable.status_code == 422, "a NUL character cannot be stored"
    assert "待审核" in anon.get(f"/catalog/{code}", headers=HTML).text, "a refused decision changes nothing"
    returned = anon.post(
        f"/catalog/{code}/review",
        data={"csrf_token": bureau_csrf, "approve": "0", "note": "摘要过短"},
        follow_redirects=False,
    )
    assert _code_from(returned) == code
    back = client.get(f"/catalog/{code}", headers=HTML)
    assert "审核意见：摘要过短" in back.text and "草稿" in back.text

    client.post(f"/catalog/{code}/submit", data={"csrf_token": steward_csrf}, follow_redirects=False)
    approved = anon.post(
        f"/catalog/{code}/review",
        data={"csrf_token": bureau_csrf, "approve": "1", "note": "同意"},
        follow_redirects=False,
    )
    assert _code_from(approved) == code
    published = client.get(f"/catalog/{code}", headers=HTML)
    assert "已发布" in published.text and "（第 1 版）" in published.text
    assert f'href="/exchange/apply/{code}"' in published.text
    assert client.get(f"/catalog/{code}/edit", headers=HTML).status_code == 200, "a published entry can be revised"


def test_a_form_the_schema_refuses_is_answered_422_and_saves_nothing(client):
    csrf = page_login(client, "hbj_steward")
    name = f"无效资源{unique()}"
    refused = client.post("/catalog/new", data=_entry_form(csrf, name, **{"item-1-data_type": "blob"}), headers=HTML)
    assert refused.status_code == 422
    assert f'value="{name}"' in refused.text and 'value="pm25"' in refused.text, "what was typed is kept"
    restricted = _entry_form(csrf, name, data_grade="核心", open_type="无条件开放")
    assert client.post("/catalog/new", data=restricted, headers=HTML).status_code == 422
    found = client.get("/api/catalog/entries", params={"q": name, "status": "draft"}, headers=bearer(client, "admin"))
    assert found.json()["total"] == 0


def test_the_search_page_filters_and_shows_drafts_only_to_their_department(client, anon):
    csrf = page_login(client, "hbj_steward")
    name = f"检索草稿{unique()}"
    code = _code_from(client.post("/catalog/new", data=_entry_form(csrf, name), follow_redirects=False))
    listed = f'href="/catalog/{code}"'

    assert listed in client.get("/catalog", params={"q": name, "status": "draft"}, headers=HTML).text
    other_department = client.get("/catalog", params={"q": name, "status": "draft", "department": "CGJ"}, headers=HTML)
    assert other_department.status_code == 200 and listed not in other_department.text
    published_only = client.get("/catalog", params={"q": name}, headers=HTML)
    assert listed not in published_only.text, "the search shows published entries unless asked otherwise"

    page_login(anon, "cgj_handler")
    assert listed not in anon.get("/catalog", params={"q": name, "status": "draft"}, headers=HTML).text

    for params in ({"page": "0"}, {"page": "999"}, {"status": "nonsense"}, {"q": "空" * 300}):
        assert anon.get("/catalog", params=params, headers=HTML).status_code == 200, params
    category = client.get("/api/catalog/entries/HBJ-00001", headers=bearer(client, "hbj_steward")).json()["category"]
    other = next(c for c in ("基础信息资源", "主题信息资源", "部门信息资源") if c != category)
    for wanted, shown in ((category, True), (other, False)):
        air = anon.get("/catalog", params={"q": "空气", "category": wanted}, headers=HTML)
        assert ('href="/catalog/HBJ-00001"' in air.text) is shown, wanted


def test_import_and_export_through_the_pages(client):
    csrf = page_login(client, "hbj_steward")
    form = client.get("/catalog/import", headers=HTML)
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text

    missing = client.post("/catalog/import", data={"csrf_token": csrf}, headers=HTML)
    assert missing.status_code == 422 and 'enctype="multipart/form-data"' in missing.text
    assert "导入完成" not in missing.text
    junk = client.post(
        "/catalog/import",
        data={"csrf_token": csrf},
        files={"file": ("c.xlsx", b"\x00\x01not a workbook")},
        headers=HTML,
    )
    assert junk.status_code == 422 and "XLSX" in junk.text

    exported = client.get("/catalog/export.xlsx")
    assert exported.status_code == 200 and exported.headers["content-disposition"].endswith('filename="catalog.xlsx"')
    workbook = load_workbook(io.BytesIO(exported.content))
    entries, items = workbook["目录"], workbook["信息项"]
    header = [cell.value for cell in entries[1]]
    codes = [row[header.index("信息资源代码")] for row in entries.iter_rows(min_row=2, values_only=True)]
    assert "HBJ-00001" in codes

    # Keep only the header rows and add one new entry (code left empty: assigned on import).
    entries.delete_rows(2, entries.max_row)
    items.delete_rows(2, items.max_row)
    name = f"页面导入{unique()}"
    values = dict.fromkeys(header) | {
        "信息资源名称": name,
        "提供方代码": "HBJ",
        "信息资源分类": "部门信息资源",
        "共享类型": "有条件共享",
        "开放属性": "不予开放",
        "更新周期": "每月",
        "数据分级": "2",
    }
    entries.append([values[h] for h in header])
    bad_row = entries.max_row
    entries.cell(row=bad_row, column=header.index("共享类型") + 1).value = "随便共享"
    buffer = io.BytesIO()
    workbook.save(buffer)
    refused = client.post(
        "/catalog/import", data={"csrf_token": csrf}, files={"file": ("c.xlsx", buffer.getvalue())}, headers=HTML
    )
    assert refused.status_code == 422 and "<td>目录</td>" in refused.text, "each refused row is listed"

    entries.cell(row=bad_row, column=header.index("共享类型") + 1).value = "有条件共享"
    buffer = io.BytesIO()
    workbook.save(buffer)
    imported = client.post(
        "/catalog/import", data={"csrf_token": csrf}, files={"file": ("c.xlsx", buffer.getvalue())}, headers=HTML
    )
    assert imported.status_code == 200 and "导入完成：新建 1 条" in imported.text
    found = client.get(
        "/api/catalog/entries", params={"q": name, "status": "draft"}, headers=bearer(client, "hbj_steward")
    )
    assert found.json()["total"] == 1


@pytest.mark.parametrize("path", ["/catalog/new", "/catalog/import", "/catalog/HBJ-00001/edit", "/catalog/review"])
def test_a_reader_without_the_write_or_review_permission_is_refused(anon, path):
    page_login(anon, "cgj_handler")
    assert anon.get(path, headers=HTML).status_code == 403


def test_a_reader_sees_a_published_entry_without_edit_or_review_controls(anon):
    page_login(anon, "cgj_handler")
    page = anon.get("/catalog/HBJ-00001", headers=HTML)
    assert page.status_code == 200 and "环境空气质量监测数据" in page.text
    assert "/catalog/HBJ-00001/edit" not in page.text and "/catalog/HBJ-00001/review" not in page.text


def test_pages_send_people_who_are_not_signed_in_to_the_login(anon):
    response = anon.get("/catalog/new", headers=HTML, follow_redirects=False)
    assert response.status_code in (302, 303) and response.headers["location"].startswith("/login")
