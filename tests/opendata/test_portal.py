"""The public portal: search with facets, dataset pages with de-identified previews and charts,
downloads, conditional opening, the keyed open API and its per-key rate limit."""

import io
import json

from openpyxl import load_workbook

from tests.catalog.helpers import VALID_ID, publish_entry
from tests.conftest import bearer, page_login, unique
from tests.opendata.conftest import open_dataset


def test_the_portal_searches_with_facets_for_anyone(anon):
    page = anon.get("/opendata", params={"q": "空气"}, headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "环境空气质量监测数据" in page.text and "数据鲜活度" in page.text and "开放部门覆盖率" in page.text
    filtered = anon.get("/opendata", params={"department": "HBJ"}, headers={"accept": "text/html"})
    assert "环境空气质量监测数据" in filtered.text and "市场主体登记信息" not in filtered.text


def test_a_dataset_page_shows_metadata_a_masked_preview_a_chart_and_an_api_example(client, anon):
    code = open_dataset(client)
    page = anon.get(f"/opendata/datasets/{code}", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "110105********002X" not in page.text  # id_number is level 4 with masking: suppressed in open views
    assert VALID_ID not in page.text and "13812345678" not in page.text and "138****5678" in page.text
    assert "张**" in page.text and "/api/opendata/datasets/" in page.text and "质量分" in page.text
    assert 'id="chart"' in page.text and "/static/opendata/chart.js" in page.text
    chart = anon.get(f"/opendata/datasets/{code}/chart.json")
    assert chart.status_code == 200 and chart.json()["series"][0]["type"] in ("line", "bar")
    assert anon.get("/static/opendata/chart.js").status_code == 200


def test_downloads_in_csv_json_and_xlsx_are_de_identified(client, anon):
    code = open_dataset(client)
    csv_file = anon.get(f"/opendata/datasets/{code}/download.csv")
    assert csv_file.status_code == 200 and csv_file.content.startswith(b"\xef\xbb\xbf")
    text = csv_file.content.decode("utf-8-sig")
    assert "id_number" not in text.splitlines()[0] and VALID_ID not in text and "138****5678" in text
    rows = json.loads(anon.get(f"/opendata/datasets/{code}/download.json").content)
    assert len(rows) == 20 and rows[0]["name"] == "张**" and rows[0]["birth_date"] == "2024"
    book = load_workbook(io.BytesIO(anon.get(f"/opendata/datasets/{code}/download.xlsx").content))
    assert book.active.max_row == 21
    assert anon.get(f"/opendata/datasets/{code}/download.exe").status_code == 404
    dataset = client.get(f"/api/opendata/datasets/{code}", headers=bearer(client, "zhangsan")).json()
    assert dataset["downloads"] == 3 and dataset["fresh"] and dataset["quality_score"] == 100


def test_restricted_entries_cannot_be_opened(client):
    entry = publish_entry(client, open_type="不予开放")
    response = client.post(f"/api/opendata/datasets/{entry['code']}/publish", headers=bearer(client, "hbj_steward"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "not_openable"


def test_conditional_datasets_need_an_approved_application(client, anon):
    code = open_dataset(client, open_type="有条件开放")
    assert anon.get(f"/opendata/datasets/{code}/download.csv", headers={"accept": "text/html"}).status_code == 403
    citizen = bearer(client, "lisi")
    assert client.get(f"/api/opendata/datasets/{code}/rows", headers=citizen).status_code == 403
    application = client.post(
        f"/api/opendata/datasets/{code}/applications", json={"purpose": "研究居民服务需求"}, headers=citizen
    )
    assert application.status_code == 201 and application.json()["status"] == "pending"
    admin = bearer(client, "admin")
    decided = client.post(
        f"/api/opendata/applications/{application.json()['id']}/decision", json={"approve": True}, headers=admin
    )
    assert decided.json()["status"] == "approved"
    rows = client.get(f"/api/opendata/datasets/{code}/rows", params={"limit": 5}, headers=citizen)
    assert rows.status_code == 200 and len(rows.json()["rows"]) == 5 and rows.json()["total"] == 20
    assert "id_number" not in rows.json()["rows"][0]


def test_the_open_api_is_limited_per_key_with_retry_after(client):
    key = client.post("/api/auth/api-keys", params={"label": "open"}, headers=bearer(client, "yushan_tech")).json()[
        "api_key"
    ]
    headers = {"X-API-Key": key}
    quota = client.get("/api/opendata/quota", headers=headers).json()
    assert quota["key"].startswith("credential:") and quota["per_minute"] == 60
    admin = bearer(client, "admin")
    assert client.put(f"/api/opendata/limits/{quota['key']}", json={"per_minute": 2}, headers=admin).status_code == 204
    assert client.get("/api/opendata/datasets", params={"q": "空气"}, headers=headers).status_code == 200
    assert client.get("/api/opendata/datasets/HBJ-00001", headers=headers).status_code == 200
    limited = client.get("/api/opendata/datasets", headers=headers)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "too_many_requests"
    assert int(limited.headers["retry-after"]) >= 1
    # Another key of the same account has its own bucket.
    other = client.post("/api/auth/api-keys", headers=bearer(client, "yushan_tech")).json()["api_key"]
    assert client.get("/api/opendata/datasets", headers={"X-API-Key": other}).status_code == 200
    assert client.get("/api/opendata/datasets").status_code == 401


def test_freshness_and_coverage_figures(client, runtime):
    from yiwang.opendata import service

    with runtime.db.unit_of_work() as db:
        figures = service.portal_figures(db)
        datasets = {d["code"]: d for d in service.dataset_freshness(db)}
    assert 0 < figures.fresh_ratio <= 1 and 0 < figures.department_coverage <= 1
    assert figures.departments_open == sum(1 for d in figures.by_department.values() if d.open)
    assert not datasets["HBJ-00002"]["fresh"]  # water: daily, last updated five days ago in the demo
    assert datasets["HBJ-00001"]["fresh"]  # air: real time, updated when the demo loaded
    assert not service.is_fresh("每日", None)


def test_manage_page_for_stewards(client):
    page_login(client, "hbj_steward")
    page = client.get("/opendata/manage", headers={"accept": "text/html"})
    assert page.status_code == 200 and "可开放但尚未开放的资源" in page.text
    assert unique("x") not in page.text
