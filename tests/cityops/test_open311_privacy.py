"""Open311 public reads show a citizen's report only as far as the JSON API shows it: others get the
service, status, department and dates, never the reporter's description, address, coordinates or photo."""

import httpx
from georeport import GeoReport

from tests.conftest import bearer

DESCRIPTION = "我家楼下小区 3 栋 502 室门口的井盖坏了，晚上很危险"
ADDRESS = "虞山街道书院街 88 号 3 栋 502 室"
PRIVATE = ("description", "address", "lat", "long", "media_url")


def _report_as_zhangsan(client) -> str:
    response = client.post(
        "/api/cityops/events",
        json={
            "description": DESCRIPTION,
            "category_code": "CG01",
            "lat": 31.6543,
            "lon": 120.7521,
            "address": ADDRESS,
            "photos": ["/uploads/private-photo.jpg"],
        },
        headers=bearer(client, "zhangsan"),
    )
    assert response.status_code == 201, response.text
    return response.json()["number"]


def _api_key(client, username: str) -> str:
    response = client.post("/api/auth/api-keys", headers=bearer(client, username))
    assert response.status_code == 201, response.text
    return response.json()["api_key"]


def _assert_public_only(row: dict) -> None:
    assert row["service_code"] == "CG01" and row["status"] == "open"
    assert row["requested_datetime"] and row["agency_responsible"]
    assert all(not row.get(field) for field in PRIVATE), row
    assert DESCRIPTION not in str(row) and ADDRESS not in str(row) and "31.6543" not in str(row)


def test_anyone_reads_only_the_public_fields_of_someone_elses_report(client, live_url):
    number = _report_as_zhangsan(client)
    # The JSON API hides the report from another citizen; Open311 must not show it either.
    other = bearer(client, "yushan_tech")
    assert client.get(f"/api/cityops/events/{number}", headers=other).status_code == 403

    base = f"{live_url}/open311/v2"
    _assert_public_only(GeoReport(base).get_service_request(number))
    listed = GeoReport(base).get_service_requests(service_request_id=number)
    assert len(listed) == 1
    _assert_public_only(listed[0])
    recent = {r["service_request_id"]: r for r in GeoReport(base).get_service_requests(service_code="CG01")}
    _assert_public_only(recent[number])
    xml = httpx.get(f"{base}/requests/{number}.xml")
    assert xml.status_code == 200 and DESCRIPTION.encode() not in xml.content and ADDRESS.encode() not in xml.content

    other_key = _api_key(client, "yushan_tech")
    as_other = httpx.get(f"{base}/requests/{number}.json", params={"api_key": other_key}).json()[0]
    _assert_public_only(as_other)
    wrong_key = httpx.get(f"{base}/requests/{number}.json", params={"api_key": "not-a-key"}).json()[0]
    _assert_public_only(wrong_key)


def test_the_reporter_and_staff_who_may_see_it_read_everything(client, live_url):
    number = _report_as_zhangsan(client)
    base = f"{live_url}/open311/v2"
    own_key = _api_key(client, "zhangsan")
    mine = httpx.get(f"{base}/requests/{number}.json", params={"api_key": own_key}).json()[0]
    assert mine["description"] == DESCRIPTION and mine["address"] == ADDRESS
    assert mine["lat"] == 31.6543 and mine["long"] == 120.7521 and mine["media_url"] == "/uploads/private-photo.jpg"

    dispatcher = bearer(client, "ldz_dispatcher")
    assert client.get(f"/api/cityops/events/{number}", headers=dispatcher).status_code == 200
    staff = httpx.get(f"{base}/requests.json", params={"service_request_id": number}, headers=dispatcher).json()
    assert staff[0]["description"] == DESCRIPTION and staff[0]["lat"] == 31.6543
